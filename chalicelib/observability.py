"""Error reporting to Sentry, only where a DSN is configured.

With ``SENTRY_DSN`` unset (the default, and always in tests) nothing
happens: ``sentry_sdk`` is not even imported, so it costs no cold-start time
and sends nothing. With it set (a deployed stage's environment, never the
code), errors are reported without personal data: ``send_default_pii`` is
off, local variables are not attached, and ``scrub_event`` drops request
bodies, cookies and ``Authorization`` headers from whatever an integration
collected. Unexpected exceptions reach Sentry through its logging
integration (``chalicelib.http`` logs them with their trace) and through its
Lambda integration, which also flushes events before Lambda freezes the
process. X-Ray tracing is separate: the ``xray`` key of the Chalice stage.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

DSN_VARIABLE = "SENTRY_DSN"
DROPPED_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-api-key"})


def init_error_reporting(env: Mapping[str, str] | None = None) -> bool:
    """Start Sentry if the environment names a DSN; say whether it did."""
    env = os.environ if env is None else env
    dsn = env.get(DSN_VARIABLE)
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.aws_lambda import AwsLambdaIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=env.get("STAGE", "local"),
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        auto_enabling_integrations=False,
        integrations=[AwsLambdaIntegration()],
    )
    return True


def scrub_event(event: Event, hint: Hint) -> Event:
    """Drop the request body, cookies and credentials headers from an event."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                name: value
                for name, value in headers.items()
                if str(name).lower() not in DROPPED_HEADERS
            }
    return event
