"""API Gateway's own responses, shaped like the contract.

Some requests never reach the app: no ``Authorization`` header on a protected
route, or a path no route matches. API Gateway answers those itself, with a
"gateway response" per error type. This module is the one definition of
those responses: the deploy template turns it into
``AWS::ApiGateway::GatewayResponse`` resources, and the local emulator
(``devtools/``: the dev server and the tests' client) applies the same mapping to
what ``chalice local``'s gateway would otherwise answer. No Chalice code
runs for these responses, so this module imports nothing from Chalice.

It also says which answers API Gateway's stage cache keeps, and for how
long (``CACHED_ROUTES``, ``CACHE_TTL_SECONDS``): the deploy template
configures the cache from them, and the app reads them to make the 503 it
gives on a cached route harmless to cache (``retry_after_seconds``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class GatewayResponse:
    """One gateway response; ``status_code=None`` keeps API Gateway's own status.

    The two catch-alls must not set one: API Gateway applies ``DEFAULT_4XX``
    and ``DEFAULT_5XX`` to every type not listed, so a fixed status would
    turn an integration timeout's 504 (or a quota's 429) into 500 or 400.
    """

    response_type: str
    status_code: int | None
    detail: str
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> bytes:
        return json.dumps({"detail": self.detail}).encode()


UNAUTHORIZED = GatewayResponse(
    "UNAUTHORIZED", 401, "Not authenticated", {"WWW-Authenticate": "Bearer"}
)
MISSING_AUTHENTICATION_TOKEN = GatewayResponse("MISSING_AUTHENTICATION_TOKEN", 404, "Not Found")
ACCESS_DENIED = GatewayResponse(
    "ACCESS_DENIED", 401, "Could not validate credentials", {"WWW-Authenticate": "Bearer"}
)
REQUEST_TOO_LARGE = GatewayResponse("REQUEST_TOO_LARGE", 413, "Request body too large")
THROTTLED = GatewayResponse("THROTTLED", 429, "Too many requests", {"Retry-After": "1"})
# A request a rule of the web ACL in front of the stage blocked (AWS WAF's own 403).
WAF_FILTERED = GatewayResponse("WAF_FILTERED", 403, "Forbidden")
DEFAULT_4XX = GatewayResponse("DEFAULT_4XX", None, "Bad Request")
DEFAULT_5XX = GatewayResponse("DEFAULT_5XX", None, "Internal Server Error")

ALL = (
    UNAUTHORIZED,
    MISSING_AUTHENTICATION_TOKEN,
    ACCESS_DENIED,
    REQUEST_TOO_LARGE,
    THROTTLED,
    WAF_FILTERED,
    DEFAULT_4XX,
    DEFAULT_5XX,
)


# ---------------------------------------------------------------- the stage cache

# The public list pages, whose answers depend on the path and the query string only
# (no token, no caller), served from API Gateway's stage cache for a short while: every
# reader of a popular page (the first page of GET /movies or of a ranked list, a popular
# search, a hot movie's comments and ratings) is then one read of DynamoDB per TTL, not
# one per request. Not cached: the movie detail and the average (exact at once),
# GET /movies/user and everything else that names the caller, and every write.
CACHED_ROUTES: tuple[tuple[str, str], ...] = (
    ("/movies", "GET"),
    ("/movies/search", "GET"),
    ("/movies/{movie_id}/comments", "GET"),
    ("/movies/{movie_id}/ratings", "GET"),
)
# How long a cached page is served. A list item's counters already trail by up to the
# stream's batching window plus the handler's run; the cache adds this, so they trail by
# at most 20 + 10 s plus the handler's run, inside the minute the contract allows; a
# new comment or rating reaches its list within 10 s.
CACHE_TTL_SECONDS = 10
# What a 503 asks a client to wait, in seconds: long enough for DynamoDB's own
# backoff to have passed.
RETRY_AFTER_SECONDS = 1


def retry_after_seconds(path: str, method: str) -> int:
    """How long a 503 of ``method path`` asks the client to wait.

    The stage cache keeps whatever the Lambda proxy integration answered,
    a 503 included, for the TTL (API Gateway caches by key, not by status):
    a throttled read of a cached page is what every reader of that page
    gets until the entry expires. So a cached route's 503 asks for the
    whole TTL: a client that waits as told asks again once the entry is
    gone, instead of being told "1 s" and meeting the same cached 503 ten
    times. Elsewhere 1 s.
    """
    return CACHE_TTL_SECONDS if (path, method) in CACHED_ROUTES else RETRY_AFTER_SECONDS
