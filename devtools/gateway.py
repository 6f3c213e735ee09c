"""API Gateway's gateway responses, emulated for ``chalice local`` and the test client.

Chalice's ``LocalGateway`` answers requests that never reach the app by raising
``LocalGatewayException`` subclasses with API Gateway's default bodies. The
deployed API replaces those with the responses defined in
``chalicelib.gateway``; ``ContractGateway`` does the same locally, so the dev
server and the tests see what clients of the deployed API see.
"""

from __future__ import annotations

import os
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    LocalChalice,
    LocalGateway,
    LocalGatewayException,
    RouteMatcher,
)
from chalice.test import Client, TestHTTPClient

from chalicelib import gateway
from chalicelib.http.middleware import preflight_headers

PROJECT_DIR = Path(__file__).resolve().parent.parent


def gateway_response_for(error: LocalGatewayException) -> gateway.GatewayResponse:
    """The contract's response for what Chalice's local gateway raised."""
    error_type = error.headers.get("x-amzn-ErrorType")
    if error.CODE == 401:
        return gateway.UNAUTHORIZED
    if error.CODE == 403 and error_type == "UnauthorizedException":
        return gateway.MISSING_AUTHENTICATION_TOKEN
    if error.CODE == 403 and error_type == "AccessDeniedException":
        return gateway.ACCESS_DENIED
    return gateway.DEFAULT_5XX


def render(
    response: gateway.GatewayResponse, request_id: str | None = None, status_code: int = 500
) -> dict[str, Any]:
    """A Lambda-proxy-shaped response dict for a gateway response."""
    headers = {
        **response.headers,
        "Content-Type": "application/json",
        "X-Request-Id": request_id or str(uuid.uuid4()),
    }
    origin = os.environ.get("CORS_ALLOW_ORIGIN")
    if origin:
        headers["Access-Control-Allow-Origin"] = origin
    return {
        "statusCode": response.status_code or status_code,
        "headers": headers,
        "multiValueHeaders": {},
        "body": response.body().decode(),
    }


class ContractGateway(LocalGateway):
    """``LocalGateway`` that answers with the contract's gateway responses."""

    def __init__(self, app_object: Chalice, config: Config) -> None:
        super().__init__(app_object, config)
        self._routes = RouteMatcher(list(app_object.routes))

    def handle_request(
        self, method: str, path: str, headers: dict[str, Any], body: bytes | None
    ) -> dict[str, Any]:
        if method == "OPTIONS":
            preflight = self._preflight(path)
            if preflight is not None:
                return preflight
        try:
            return super().handle_request(method, path, headers, body)
        except LocalGatewayException as error:
            return render(
                gateway_response_for(error), error.headers.get("x-amzn-RequestId"), error.CODE
            )

    def _preflight(self, path: str) -> dict[str, Any] | None:
        """``preflight_headers`` for a path the app serves; ``None`` for others.

        Chalice's own answer (routes without ``cors=``) allows only OPTIONS
        and carries no origin, and crashes the test client (``body: None``).
        """
        try:
            route = self._routes.match_route(path.split("?")[0]).route
        except ValueError:
            return None
        methods = self._app_object.routes[route]
        if "OPTIONS" in methods:
            return None
        headers = {**preflight_headers(methods), "X-Request-Id": str(uuid.uuid4())}
        return {"statusCode": 204, "headers": headers, "multiValueHeaders": {}, "body": ""}


class ContractRequestHandler(ChaliceRequestHandler):
    """``chalice local``'s request handler, routed through ``ContractGateway``."""

    def __init__(
        self,
        request: Any,
        client_address: tuple[str, int],
        server: HTTPServer,
        app_object: Chalice,
        config: Config,
    ) -> None:
        # ChaliceRequestHandler.__init__ would build a plain LocalGateway and then
        # serve the request at once, so set ours first and skip its __init__.
        self.local_gateway = ContractGateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def __getattr__(self, name: str) -> Any:
        """Every HTTP method goes to the gateway, not only the ones chalice local lists.

        http.server answers a method without a ``do_<METHOD>`` (TRACE, QUERY,
        ...) with an HTML 501; the app answers the contract's 405 (404 off
        its routes), as clients of the deployed API get a JSON error.
        """
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)


def thread_local_requests(app: Chalice) -> Chalice:
    """Give ``app`` one ``current_request`` per thread, as ``chalice local`` does.

    Chalice keeps the current request on the app object. Lambda runs one
    request at a time per process, but the threaded local server (and a
    test that sends requests from several threads) does not, so without
    this two requests can read each other's body or token. ``chalice local``
    gives the app ``LocalChalice``'s thread-local ``current_request`` by
    changing its class; so does this, with a class of its own rather than
    by rewriting Chalice's (``tests/test_library_contracts.py`` pins that
    ``LocalChalice`` keeps the request per thread).
    """
    if not isinstance(app, LocalChalice):
        base = type(app)
        app.__class__ = type(f"ThreadLocal{base.__name__}", (LocalChalice, base), {})
    return app


class ContractHTTPClient(TestHTTPClient):
    """Chalice's test HTTP client, routed through ``ContractGateway``.

    ``TestHTTPClient`` sends every request to its ``_local_gateway``; that
    attribute is Chalice's, not public, so this is the one place that sets
    it, and ``tests/test_library_contracts.py`` fails if Chalice stops
    routing through it.
    """

    def __init__(self, app: Chalice, config: Config) -> None:
        super().__init__(app, config)
        self.gateway = ContractGateway(app, config)
        self._local_gateway = self.gateway


class ContractClient(Client):
    """``chalice.test.Client`` whose ``.http`` behaves like the deployed API Gateway.

    Unlike Chalice's client it defaults to the ``local`` stage (Chalice's
    default, ``dev``, would make the app fetch its key from SSM) and to this
    project's directory, wherever pytest runs from.
    """

    def __init__(
        self, app: Chalice, stage_name: str = "local", project_dir: str = str(PROJECT_DIR)
    ) -> None:
        super().__init__(thread_local_requests(app), stage_name=stage_name, project_dir=project_dir)

    def __enter__(self) -> ContractClient:
        super().__enter__()
        return self

    @property
    def http(self) -> ContractHTTPClient:
        # Chalice's own property, with the contract's client (its attributes, as it names them).
        if not isinstance(self._http_client, ContractHTTPClient):
            self._http_client = ContractHTTPClient(self._app, self._chalice_config)
        return self._http_client
