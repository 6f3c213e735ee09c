"""Signup, login and the caller's own profile."""

from __future__ import annotations

import time

from chalice.app import Blueprint, Response

from chalicelib import errors, security
from chalicelib.http import endpoint, json_response
from chalicelib.presenters import public_user
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
    errors=[errors.UsernameTaken, errors.EmailTaken],
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
    """Check the password; repeated failures from one client are refused for a while.

    OAuth2's password form (what Swagger UI's "Authorize" sends) or the same
    fields as JSON; ``username`` may also be the e-mail.
    """
    request = bp.current_request
    client = str((request.context.get("identity") or {}).get("sourceIp") or "unknown")
    state = users.login_state(body.username, client)
    now = int(time.time())
    if state.locked_until and state.locked_until > now:
        raise errors.TooManyRequests(state.locked_until - now)
    password_hash = state.credentials.password_hash if state.credentials else None
    matches, new_hash = security.check_password(body.password, password_hash)
    if not matches or state.credentials is None:
        lock_seconds = users.record_failed_login(body.username, client)
        if lock_seconds:
            raise errors.TooManyRequests(lock_seconds)
        raise errors.InvalidCredentials()
    failures = (body.username, client) if state.failures else None
    if new_hash is not None:  # a migrated user's first login: argon2id from now on
        users.upgrade_password_hash(state.credentials, new_hash, forget_failures=failures)
    elif failures:
        users.clear_failed_logins(*failures)
    token, expires_in = security.issue_access_token(state.credentials.user_id)
    return json_response(Token(access_token=token, expires_in=expires_in))


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
    errors=[errors.UserNotFound, errors.UsernameTaken, errors.EmailTaken],
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
    user = _existing(user_id)
    if not security.verify_password(body.current_password, user.password_hash):
        raise errors.BadRequest("Current password is incorrect")
    users.change_password(user, security.hash_password(body.new_password))
    return json_response(Message())


def _existing(user_id: int) -> UserItem:
    """The caller's user item; a valid token for a user that is gone is a 401."""
    user = users.get_user(user_id)
    if user is None:
        raise errors.NotAuthenticated("Could not validate credentials")
    return user
