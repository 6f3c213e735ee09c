"""The HTTP layer: between Chalice's requests and the services, in both directions.

* ``operations``: ``endpoint``, the one decorator every route is declared
  with (authentication, path ids, parsing, error mapping, and the
  ``Operation`` that the OpenAPI document is built from);
* ``parsing``: bodies, query strings and path ids into models, or 422s in
  FastAPI's shape;
* ``responses``: JSON and empty responses, errors as ``{"detail"}``, the
  paging headers;
* ``middleware``: what every response gets (request id, CORS, the contract's
  error shape for Chalice's own errors, the access log), and CORS preflights.

Routes import what they declare themselves with from here.
"""

from chalicelib.http.operations import ResponseSpec, endpoint
from chalicelib.http.responses import empty_response, json_response, next_page_headers

__all__ = ["ResponseSpec", "empty_response", "endpoint", "json_response", "next_page_headers"]
