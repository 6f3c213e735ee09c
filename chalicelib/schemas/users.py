"""Users: signup, login, profile and password models."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, EmailStr, Field, StringConstraints

from chalicelib.schemas import (
    NOT_BLANK,
    NOT_NULL,
    RequestModel,
    ResponseModel,
    Timestamp,
    sent_fields,
)

PASSWORD_MIN_BYTES = 8
PASSWORD_MAX_BYTES = 72  # bcrypt's limit, kept so a hash can move between schemes
_PHONE = re.compile(r"\+?[1-9][0-9]{9,14}")
# The same rule for the API docs, on the value as sent (spaces are removed before the check).
_PHONE_AS_SENT = r"^ *\+? *[1-9]( *[0-9]){9,14} *$"


def _password_bytes(value: str) -> str:
    size = len(value.encode("utf-8"))
    if size < PASSWORD_MIN_BYTES:
        raise ValueError(f"Password must be at least {PASSWORD_MIN_BYTES} bytes of UTF-8")
    if size > PASSWORD_MAX_BYTES:
        raise ValueError(f"Password must be at most {PASSWORD_MAX_BYTES} bytes of UTF-8")
    return value


def _phone(value: str) -> str:
    compact = value.replace(" ", "")
    if not _PHONE.fullmatch(compact):
        raise ValueError("Phone number must be 10 to 15 digits, optionally starting with +")
    return compact


Username = Annotated[
    str,
    StringConstraints(min_length=3, max_length=50, pattern=r"^[A-Za-z0-9_.\-]+$"),
]
PersonName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
    Field(json_schema_extra={"pattern": NOT_BLANK}),
]
PhoneNumber = Annotated[
    str,
    StringConstraints(max_length=40),
    AfterValidator(_phone),
    Field(json_schema_extra={"pattern": _PHONE_AS_SENT}),
]
Email = Annotated[EmailStr, Field(max_length=254)]
Password = Annotated[
    str,
    Field(
        max_length=200,
        description="8 to 72 bytes of UTF-8",
        json_schema_extra={"minLength": PASSWORD_MIN_BYTES, "maxLength": PASSWORD_MAX_BYTES},
    ),
    AfterValidator(_password_bytes),
]


class UserCreate(RequestModel):
    username: Username
    first_name: PersonName
    last_name: PersonName
    phone_number: PhoneNumber
    email: Email
    password: Password


class UserUpdate(RequestModel):
    """Any subset of the profile; a field sent as ``null`` is refused."""

    username: Annotated[Username | None, NOT_NULL] = None
    first_name: Annotated[PersonName | None, NOT_NULL] = None
    last_name: Annotated[PersonName | None, NOT_NULL] = None
    phone_number: Annotated[PhoneNumber | None, NOT_NULL] = None
    email: Annotated[Email | None, NOT_NULL] = None

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
    """What login and refresh answer: OAuth2's token response, with the refresh token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: Annotated[int, Field(description="seconds the access token is valid")]
    refresh_token: Annotated[
        str, Field(description="single-use: exchange it at POST /token/refresh")
    ]
    refresh_expires_in: Annotated[int, Field(description="seconds the refresh token is valid")]
