"""API Gateway's own responses, shaped like the contract.

Some requests never reach the app: no ``Authorization`` header on a protected
route, or a path no route matches. API Gateway answers those itself, with a
"gateway response" per error type. This module is the one definition of
those responses: the deploy template turns it into
``AWS::ApiGateway::GatewayResponse`` resources, and the local emulator
(``devtools/``: the dev server and the tests' client) applies the same mapping to
what ``chalice local``'s gateway would otherwise answer. No Chalice code
runs for these responses, so this module imports nothing from Chalice.
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
DEFAULT_4XX = GatewayResponse("DEFAULT_4XX", None, "Bad Request")
DEFAULT_5XX = GatewayResponse("DEFAULT_5XX", None, "Internal Server Error")

ALL = (
    UNAUTHORIZED,
    MISSING_AUTHENTICATION_TOKEN,
    ACCESS_DENIED,
    REQUEST_TOO_LARGE,
    THROTTLED,
    DEFAULT_4XX,
    DEFAULT_5XX,
)
