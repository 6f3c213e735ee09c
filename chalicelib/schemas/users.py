"""Users: signup, login, profile and password models."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, EmailStr, Field, StringConstraints

from chalicelib.schemas import RequestModel, ResponseModel, Timestamp, sent_fields

PASSWORD_MIN_BYTES = 8
PASSWORD_MAX_BYTES = 72  # bcrypt's limit, kept so a hash can move between schemes
_PHONE = re.compile(r"^\+?[1-9]\d{9,14}$")


def _password_bytes(value: str) -> str:
    size = len(value.encode("utf-8"))
    if size < PASSWORD_MIN_BYTES:
        raise ValueError(f"Password must be at least {PASSWORD_MIN_BYTES} bytes of UTF-8")
    if size > PASSWORD_MAX_BYTES:
        raise ValueError(f"Password must be at most {PASSWORD_MAX_BYTES} bytes of UTF-8")
    return value


def _phone(value: str) -> str:
    compact = value.replace(" ", "")
    if not _PHONE.match(compact):
        raise ValueError("Phone number must be 10 to 15 digits, optionally starting with +")
    return compact


Username = Annotated[
    str,
    StringConstraints(min_length=3, max_length=50, pattern=r"^[A-Za-z0-9_.\-]+$"),
]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
PhoneNumber = Annotated[str, StringConstraints(max_length=40), AfterValidator(_phone)]
Email = Annotated[EmailStr, Field(max_length=254)]
Password = Annotated[str, Field(max_length=200), AfterValidator(_password_bytes)]


class UserCreate(RequestModel):
    username: Username
    first_name: PersonName
    last_name: PersonName
    phone_number: PhoneNumber
    email: Email
    password: Password


class UserUpdate(RequestModel):
    """Any subset of the profile; a field sent as ``null`` is refused."""

    username: Username | None = None
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    phone_number: PhoneNumber | None = None
    email: Email | None = None

    def changes(self) -> dict[str, Any]:
        return sent_fields(self, not_null=type(self).model_fields)


class PasswordChange(RequestModel):
    current_password: Annotated[str, Field(min_length=1, max_length=200)]
    new_password: Password


class LoginRequest(RequestModel):
    """OAuth2's password form (or the same fields as JSON); ``username`` may be the e-mail."""

    username: Annotated[str, Field(min_length=1, max_length=254)]
    password: Annotated[str, Field(min_length=1, max_length=200)]


class UserPublic(ResponseModel):
    id: int
    username: str
    first_name: str
    last_name: str
    phone_number: str
    email: str
    created_at: Timestamp
    updated_at: Timestamp


class Token(ResponseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
