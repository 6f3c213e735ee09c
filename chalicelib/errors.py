"""Domain errors, and the one place they become HTTP status codes.

Storage and services raise these; ``chalicelib.http`` turns any of them into
a ``{"detail": ...}`` response. Nothing else in the code picks status codes
for failures.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the client caused or must be told about."""

    status_code = 400
    default_detail = "Bad Request"

    def __init__(self, detail: Any = None, *, headers: dict[str, str] | None = None) -> None:
        self.detail = self.default_detail if detail is None else detail
        self.headers = dict(headers or {})
        super().__init__(str(self.detail))


class BadRequest(ApiError):
    status_code = 400


class NotAuthenticated(ApiError):
    status_code = 401
    default_detail = "Not authenticated"

    def __init__(self, detail: Any = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class InvalidCredentials(NotAuthenticated):
    default_detail = "Incorrect username or password"


class InvalidRefreshToken(NotAuthenticated):
    default_detail = "Invalid refresh token"


class Forbidden(ApiError):
    status_code = 403
    default_detail = "Forbidden"


class NotFound(ApiError):
    status_code = 404
    default_detail = "Not Found"


class MovieNotFound(NotFound):
    default_detail = "Movie not found"


class CommentNotFound(NotFound):
    default_detail = "Comment not found"


class RatingNotFound(NotFound):
    default_detail = "Rating not found"


class UserNotFound(NotFound):
    default_detail = "User not found"


class SessionNotFound(NotFound):
    default_detail = "Session not found"


class Conflict(ApiError):
    status_code = 409
    default_detail = "Conflict"


class UsernameTaken(Conflict):
    default_detail = "Username already registered"


class EmailTaken(Conflict):
    default_detail = "Email already registered"


class PayloadTooLarge(ApiError):
    status_code = 413
    default_detail = "Request body too large"


class UnsupportedMediaType(ApiError):
    status_code = 415
    default_detail = "Unsupported Media Type"


class ValidationFailed(ApiError):
    """422 with FastAPI's list of ``{type, loc, msg, input}`` errors."""

    status_code = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)


class TooManyRequests(ApiError):
    status_code = 429
    default_detail = "Too many failed login attempts; try again later"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(headers={"Retry-After": str(retry_after_seconds)})


class InternalServerError(ApiError):
    """A bug. The body never says more than this; the trace is in the log."""

    status_code = 500
    default_detail = "Internal Server Error"


class ServiceUnavailable(ApiError):
    status_code = 503
    default_detail = "Service temporarily unavailable; try again shortly"

    def __init__(self, retry_after_seconds: int = 1) -> None:
        super().__init__(headers={"Retry-After": str(retry_after_seconds)})
