"""The app's HTTP client with JSON helpers, users made through the endpoints, a call counter."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chalice.test import Client

PASSWORD = "correct horse battery"
UNAVAILABLE = {"detail": "Service temporarily unavailable; try again shortly"}


@dataclass
class Api:
    """The app's HTTP client with JSON helpers."""

    client: Client

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Any:
        all_headers = {"Content-Type": "application/json"} if body is not None else {}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        return self.client.http.request(method, path, headers=all_headers, body=payload)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


def user_payload(name: str, **overrides: Any) -> dict[str, Any]:
    payload = {
        "username": name,
        "first_name": "Test",
        "last_name": "User",
        "phone_number": "+12345678901",
        "email": f"{name}@example.com",
        "password": PASSWORD,
    }
    payload.update(overrides)
    return payload


@dataclass
class User:
    id: int
    username: str
    token: str
    profile: dict[str, Any] = field(default_factory=dict)


class CallCounter:
    """Counts DynamoDB API calls by operation, and the items Queries read, from botocore hooks."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.items_read = 0

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def answered(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.name == "Query":
            self.items_read += int(parsed.get("ScannedCount", 0))

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        self.calls.clear()
        self.items_read = 0
