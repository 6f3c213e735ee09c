"""What Schemathesis (``make fuzz``) and writing the API docs found, kept fixed."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.fuzz import dev_server, free_port
from tests.helpers.api import Api, User, body, user_payload

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.mark.parametrize("release_date", [0, 86400, "0", "86400", "2024-01-02T00:00:00", 1.5])
def test_a_release_date_is_only_an_iso_date_never_a_timestamp(
    api: Api, alice: User, release_date: Any
) -> None:
    """pydantic alone read ``0`` as 1970-01-01 and ``"86400"`` as 1970-01-02."""
    for method, path in (("POST", "/movies"), ("POST", "/new_movies")):
        response = api.request(
            method, path, {"title": "Metropolis", "release_date": release_date}, token=alice.token
        )
        assert response.status_code == 422, (path, response.body)
        [error] = body(response)["detail"]
        assert error["loc"] == ["body", "release_date"]
        assert error["msg"] == "Input should be a valid date in the format YYYY-MM-DD"


def test_an_update_refuses_a_timestamp_release_date_too(api: Api, alice: User) -> None:
    movie = body(api.post("/movies", {"title": "Metropolis"}, token=alice.token))
    response = api.patch(f"/movies/{movie['id']}", {"release_date": 0}, token=alice.token)
    assert response.status_code == 422
    assert body(response)["detail"][0]["type"] == "date_type"


@pytest.mark.parametrize(
    "phone_number",
    ["+12345678901\n", "+١٢٣٤٥٦٧٨٩٠١", "+1234567890\uff11"],
)
def test_a_phone_number_is_ascii_digits_with_nothing_after(api: Api, phone_number: str) -> None:
    """``\\d`` took any Unicode digit, and ``$`` let a trailing newline through to storage."""
    response = api.post("/signup", user_payload("phoney", phone_number=phone_number))
    assert response.status_code == 422
    assert body(response)["detail"][0]["loc"] == ["body", "phone_number"]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with dev_server(free_port(), ARTIFACTS / "findings-devserver.log") as url:
        yield url


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PROPFIND"])
def test_the_dev_server_answers_any_method_in_the_contract_shape(server: str, method: str) -> None:
    """http.server answered methods chalice local does not list with an HTML 501."""
    request = urllib.request.Request(f"{server}/health", method=method)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 405
    assert caught.value.headers["Content-Type"] == "application/json"
    assert json.loads(caught.value.read()) == {"detail": f"Unsupported method: {method}"}
