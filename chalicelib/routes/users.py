"""Signup, login and the caller's own profile."""

from __future__ import annotations

from chalice.app import Blueprint, Request, Response

from chalicelib import accounts, auth, errors, failures, security
from chalicelib.http import endpoint, json_response
from chalicelib.presenters import public_tokens, public_user
from chalicelib.schemas import Message
from chalicelib.schemas.users import (
    LoginRequest,
    PasswordChange,
    Token,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from chalicelib.storage import users
from chalicelib.storage.table import UserItem

bp = Blueprint(__name__)

FORM_OR_JSON = ["application/x-www-form-urlencoded", "application/json"]
TAGS = ["Users"]


@endpoint(
    bp,
    "/signup",
    methods=["POST"],
    body=UserCreate,
    responses={200: UserPublic},
    errors=[failures.NameTaken("username"), failures.NameTaken("email")],
    summary="Signup",
    tags=TAGS,
)
def signup(body: UserCreate) -> Response:
    """Create an account; usernames and e-mails are unique, ignoring case."""
    fields = body.model_dump(exclude={"password"})
    user = users.create_user(fields, security.hash_password(body.password))
    return json_response(public_user(user))


@endpoint(
    bp,
    "/login",
    methods=["POST"],
    content_types=FORM_OR_JSON,
    body=LoginRequest,
    responses={200: Token},
    errors=[errors.InvalidCredentials, errors.TooManyRequests],
    summary="Login",
    tags=TAGS,
)
def login(body: LoginRequest) -> Response:
    """Check the password and start a session; repeated failures are refused for a while.

    OAuth2's password form (what Swagger UI's "Authorize" sends) or the same
    fields as JSON; ``username`` may also be the e-mail. The answer carries a
    15-minute access token and a single-use refresh token (``POST /token/refresh``).
    """
    request = bp.current_request
    tokens = accounts.login(
        body.username,
        body.password,
        client=_client_address(request),
        user_agent=request.headers.get("user-agent"),
    )
    return json_response(public_tokens(tokens))


def _client_address(request: Request) -> str:
    return str((request.context.get("identity") or {}).get("sourceIp") or "unknown")


@endpoint(
    bp,
    "/users/me",
    methods=["GET"],
    authenticated=True,
    responses={200: UserPublic},
    summary="Read my profile",
    tags=TAGS,
)
def read_me(user_id: int) -> Response:
    return json_response(public_user(_existing(user_id)))


@endpoint(
    bp,
    "/users/me",
    methods=["PUT"],
    authenticated=True,
    body=UserUpdate,
    responses={200: UserPublic},
    errors=[failures.UserNotFound(), failures.NameTaken("username"), failures.NameTaken("email")],
    summary="Update profile",
    tags=TAGS,
)
def update_me(user_id: int, body: UserUpdate) -> Response:
    """Any subset of the profile; only the fields sent change."""
    return json_response(public_user(users.update_profile(user_id, body.changes())))


@endpoint(
    bp,
    "/users/me/password",
    methods=["PUT"],
    authenticated=True,
    body=PasswordChange,
    responses={200: Message},
    errors=[
        errors.BadRequest("Current password is incorrect"),
        errors.Conflict("The password was changed by another request; try again"),
    ],
    summary="Change password",
    tags=TAGS,
)
def change_password(user_id: int, body: PasswordChange) -> Response:
    """Replace the password; every other session of the user ends, the caller's stays."""
    session_id = auth.session_id_from_context(bp.current_request.context)
    accounts.change_password(user_id, session_id, body.current_password, body.new_password)
    return json_response(Message())


def _existing(user_id: int) -> UserItem:
    """The caller's user item; a valid token for a user that is gone is a 401."""
    user = users.get_user(user_id)
    if user is None:
        raise errors.NotAuthenticated("Could not validate credentials")
    return user
