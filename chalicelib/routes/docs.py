"""The API's own docs: the OpenAPI document, Swagger UI and ReDoc, served offline.

The pages load their JavaScript and CSS from this API, never from a CDN: the
files are the self-contained bundles of the npm packages ``swagger-ui-dist``
(Swagger UI 5, which renders OpenAPI 3.1) and ``redoc`` (ReDoc 2), pinned by
version and integrity in ``devtools/docs_assets.py``, which copies them and
their licence texts into ``chalicelib/docs_assets/`` at install time; the
Lambda package carries that directory and nothing else of theirs. Each
asset URL carries a hash of its content, so browsers may cache it for a
year.

Behind API Gateway the API lives under a stage path (``/api``); the pages
and the document name their URLs with that prefix, taken from the request.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from chalice.app import Blueprint, Request, Response

from chalicelib import openapi
from chalicelib.http import ResponseSpec, endpoint

bp = Blueprint(__name__)

ASSET_DIRECTORY = Path(__file__).resolve().parent.parent / "docs_assets"
TAGS = ["Service"]
HTML = "text/html; charset=utf-8"
ASSET_CACHE = "public, max-age=31536000, immutable"
# The pages may load and call this API only. Among other things this keeps
# ReDoc from fetching its attribution logo from Redocly's CDN.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' {script}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


@dataclass(frozen=True)
class Asset:
    file: str
    media_type: str
    origin: str

    @property
    def path(self) -> str:
        return f"/docs/assets/{self.file}"


_SWAGGER = "Swagger UI's, from the npm package `swagger-ui-dist`"
_REDOC = "ReDoc's, from the npm package `redoc`"
SWAGGER_JS = Asset("swagger-ui-bundle.js", "text/javascript; charset=utf-8", _SWAGGER)
SWAGGER_CSS = Asset("swagger-ui.css", "text/css; charset=utf-8", _SWAGGER)
REDOC_JS = Asset("redoc.standalone.js", "text/javascript; charset=utf-8", _REDOC)
ASSETS = (SWAGGER_JS, SWAGGER_CSS, REDOC_JS)

SWAGGER_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - Swagger UI</title>
<link rel="stylesheet" href="{css}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{js}"></script>
<script>{script}</script>
</body>
</html>
"""
SWAGGER_SCRIPT = """
window.ui = SwaggerUIBundle({{
  url: "{spec}",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]
}});
"""

REDOC_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - ReDoc</title>
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
<noscript>ReDoc needs JavaScript to show the documentation.</noscript>
<redoc spec-url="{spec}"></redoc>
<script src="{js}"></script>
</body>
</html>
"""

PAGE = ResponseSpec(schema={"type": "string"}, media_type="text/html", description="The page")


@endpoint(
    bp,
    "/openapi.json",
    methods=["GET"],
    responses={200: ResponseSpec(schema={"type": "object"}, description="This document")},
    uses_table=False,
    summary="OpenAPI document",
    tags=TAGS,
)
def openapi_document() -> Response:
    """OpenAPI 3.1, generated from the routes and the models they use."""
    body = openapi.document_json(bp.current_app, stage_prefix(bp.current_request))
    return Response(body=body, status_code=200, headers={"Content-Type": "application/json"})


@endpoint(
    bp,
    "/docs",
    methods=["GET"],
    responses={200: PAGE},
    uses_table=False,
    summary="Swagger UI",
    tags=TAGS,
)
def swagger_ui() -> Response:
    """Try the API in the browser; "Authorize" logs in with the password form."""
    prefix = stage_prefix(bp.current_request)
    script = SWAGGER_SCRIPT.format(spec=json.dumps(f"{prefix}/openapi.json")[1:-1])
    page = SWAGGER_PAGE.format(
        title=html.escape(openapi.TITLE),
        css=html.escape(asset_url(prefix, SWAGGER_CSS)),
        js=html.escape(asset_url(prefix, SWAGGER_JS)),
        script=script,
    )
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return _page(page, script_source=f"'sha256-{digest}'")


@endpoint(
    bp,
    "/redoc",
    methods=["GET"],
    responses={200: PAGE},
    uses_table=False,
    summary="ReDoc",
    tags=TAGS,
)
def redoc() -> Response:
    """The same document, as a three-panel reference."""
    prefix = stage_prefix(bp.current_request)
    page = REDOC_PAGE.format(
        title=html.escape(openapi.TITLE),
        js=html.escape(asset_url(prefix, REDOC_JS)),
        spec=html.escape(f"{prefix}/openapi.json"),
    )
    return _page(page, script_source="")


def _page(page: str, *, script_source: str) -> Response:
    headers: dict[str, str | list[str]] = {
        "Content-Type": HTML,
        "Content-Security-Policy": PAGE_POLICY.format(script=script_source).replace("  ", " "),
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body=page, status_code=200, headers=headers)


def _asset_route(asset: Asset) -> None:
    def serve() -> Response:
        return Response(
            body=asset_text(asset.file),
            status_code=200,
            headers={"Content-Type": asset.media_type, "Cache-Control": ASSET_CACHE},
        )

    serve.__name__ = "asset_" + asset.file.replace("-", "_").replace(".", "_")
    endpoint(
        bp,
        asset.path,
        methods=["GET"],
        responses={
            200: ResponseSpec(
                schema={"type": "string"},
                media_type=asset.media_type.split(";")[0],
                headers=("Cache-Control",),
                description=f"`{asset.file}`, {asset.origin}",
            )
        },
        uses_table=False,
        summary=asset.file,
        tags=TAGS,
    )(serve)


for _asset in ASSETS:
    _asset_route(_asset)


def stage_prefix(request: Request) -> str:
    """The path the API is served under: ``/api`` behind API Gateway, ``""`` locally.

    API Gateway's ``path`` is the request path with the stage (or a custom
    domain's base path) in front of the route's ``resourcePath``.
    """
    path = str(request.context.get("path") or "").rstrip("/")
    resource = str(request.context.get("resourcePath") or "")
    if resource and path.endswith(resource):
        return path[: -len(resource)]
    return ""


def asset_url(prefix: str, asset: Asset) -> str:
    return f"{prefix}{asset.path}?v={asset_version(asset.file)}"


@lru_cache(maxsize=len(ASSETS))
def asset_text(file: str) -> str:
    path = ASSET_DIRECTORY / file
    if not path.exists():
        raise RuntimeError(f"{path} is missing: `make install` fetches the docs' assets")
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=len(ASSETS))
def asset_version(file: str) -> str:
    return hashlib.sha256(asset_text(file).encode()).hexdigest()[:16]
