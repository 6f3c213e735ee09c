"""Service endpoints: health."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.http import endpoint, json_response
from chalicelib.schemas import HealthStatus

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/health",
    methods=["GET"],
    responses={200: HealthStatus},
    uses_table=False,
    summary="Health",
    tags=["Service"],
)
def health() -> Response:
    return json_response(HealthStatus())
