"""Who may do what to whose data, for every route of the app (OWASP API1, API3, API5).

Every route is in exactly one class below, so a new route fails
``test_every_route_is_in_the_matrix`` until someone says who may use it on
whose data. Mallory, a user with data of her own, then goes after Alice's:

* owner-only routes answer her 403 (404 where the contract says the target
  is "yours": deleting *her* rating of Alice's movie), whatever ids she
  smuggles into the body, the query or the headers, and the table does not
  change at all (a whole-table snapshot before and after);
* routes about the caller ("me") act on Mallory alone, whatever she claims;
* routes that create something under someone else's movie or comment (a
  rating, a comment, a reply) create it as Mallory's and change nothing of
  Alice's but the counters they exist to change;
* public routes never show anything private of Alice's;
* every protected route refuses a missing, forged or expired token with 401
  and changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest

from app import app
from chalicelib import security
from chalicelib.http.operations import operation_of
from chalicelib.settings import get_settings
from tests.helpers.api import PASSWORD, Api, User, body, user_payload
from tests.helpers.snapshots import Key, Snapshot, changed_keys, table_items
from tests.helpers.worlds import built_once_for, created, movie_with_a_thread

MALLORY_SAYS_SHE_IS = "alice"


@dataclass(frozen=True)
class World:
    """Alice's movie with her rating, her comment with her reply, and Mallory's own movie."""

    api: Api
    alice: User
    mallory: User
    movie: int
    comment: int
    reply: int
    mallorys_movie: int

    def path(self, template: str) -> str:
        return template.format(**vars(self), alices_session=self.alices_session)

    @property
    def alices_session(self) -> int:
        return int(jwt.decode(self.alice.token, options={"verify_signature": False})["sid"])

    def alices_secrets(self) -> list[str]:
        """What only Alice (and the table) may know about her."""
        profile = self.alice.profile
        return [
            profile["email"],
            profile["phone_number"],
            profile["first_name"],
            profile["last_name"],
            self.alice.token,
            *password_hashes(self.alice.id),
        ]


def password_hashes(user_id: int) -> list[str]:
    """The user's hash, as stored on the user and copied onto their name claims."""
    hashes = []
    for item in table_items().values():
        owner = item.get("user_id", item.get("id", {})).get("N")
        if "password_hash" in item and owner == str(user_id):
            hashes.append(item["password_hash"]["S"])
    return hashes


@pytest.fixture
def world(api: Api, make_user: Callable[[str], User]) -> World:
    def build() -> World:
        alice = make_user_with(
            api,
            "alice",
            first_name="Alicia",
            last_name="Victimsdottir",
            phone_number="+15550100001",
            email="alice.private@example.com",
        )
        mallory = make_user("mallory")
        text = "Alice's comment"
        movie, comment, reply = movie_with_a_thread(
            api,
            alice,
            {"title": "Alice's movie", "description": "Hers"},
            rater=alice,
            rating=8,
            text=text,
            replier=alice,
        )
        mallorys = created(api, mallory, "/movies", {"title": "Mallory's movie"})
        created(api, alice, f"/movies/{mallorys}/comments", {"comment_text": text})
        return World(api, alice, mallory, movie, comment, reply, mallorys)

    return built_once_for(api, "authorization", build)


def make_user_with(api: Api, name: str, **fields: str) -> User:
    created = api.post("/signup", user_payload(name, **fields))
    assert created.status_code == 200, created.body
    login = api.post("/login", {"username": name, "password": PASSWORD})
    return User(body(created)["id"], name, body(login)["access_token"], body(created))


# ---------------------------------------------------------------- the matrix


@dataclass(frozen=True)
class Attack:
    """Mallory's request for the route, against Alice's data."""

    path: str
    payload: Any = None
    status: int = 403
    detail: str = ""


MOVIE_FORBIDDEN = "Not authorized to modify this movie"
OWNER_ONLY: dict[tuple[str, str], list[Attack]] = {
    ("PUT", "/movie_update/{movie_id}"): [
        Attack("/movie_update/{movie}", {"title": "Pwned"}, detail=MOVIE_FORBIDDEN)
    ],
    ("PUT", "/movies/{movie_id}"): [
        Attack("/movies/{movie}", {"title": "Pwned", "description": None}, detail=MOVIE_FORBIDDEN)
    ],
    ("PATCH", "/movies/{movie_id}"): [
        Attack("/movies/{movie}", {"description": "Pwned"}, detail=MOVIE_FORBIDDEN)
    ],
    ("DELETE", "/movie_delete/{movie_id}"): [
        Attack("/movie_delete/{movie}", detail=MOVIE_FORBIDDEN)
    ],
    ("DELETE", "/movies/{movie_id}"): [Attack("/movies/{movie}", detail=MOVIE_FORBIDDEN)],
    ("PUT", "/comments/{comment_id}"): [
        Attack(path, {"comment_text": "Pwned"}, detail="Not authorized to edit this comment")
        for path in ("/comments/{comment}", "/comments/{reply}")
    ],
    ("DELETE", "/comments/{comment_id}"): [
        Attack(path, detail="Not authorized to delete this comment")
        for path in ("/comments/{comment}", "/comments/{reply}")
    ],
    # "Your rating": Mallory has none on Alice's movie, and Alice's is not hers to delete.
    ("DELETE", "/movies/{movie_id}/ratings"): [
        Attack("/movies/{movie}/ratings", status=404, detail="Rating not found")
    ],
    # Sessions are looked up in the caller's own partition: Alice's is not found.
    ("DELETE", "/users/me/sessions/{session_id}"): [
        Attack("/users/me/sessions/{alices_session}", status=404, detail="Session not found")
    ],
}
ABOUT_THE_CALLER = {
    ("GET", "/users/me"),
    ("PUT", "/users/me"),
    ("PUT", "/users/me/password"),
    ("GET", "/movies/user"),
    ("GET", "/users/me/ratings"),
    ("GET", "/users/me/sessions"),
    ("DELETE", "/users/me/sessions"),
    ("POST", "/logout"),
}
CREATES_FOR_THE_CALLER = {
    ("POST", "/movies"),
    ("POST", "/new_movies"),
    ("POST", "/movies/{movie_id}/ratings"),
    ("POST", "/movies/{movie_id}/comments"),
    ("POST", "/comments/{parent_id}/replies"),
}


def app_routes() -> dict[tuple[str, str], bool]:
    """Every ``(method, route)`` of the app, and whether it needs a token."""
    routes = {}
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            operation = operation_of(entry.view_function)
            assert operation is not None, (method, path)
            routes[(method, path)] = operation.authenticated
    return routes


def test_every_route_is_in_the_matrix() -> None:
    protected = {route for route, authenticated in app_routes().items() if authenticated}
    classes = [set(OWNER_ONLY), ABOUT_THE_CALLER, CREATES_FOR_THE_CALLER]
    assert sum(len(routes) for routes in classes) == len(set().union(*classes))
    assert set().union(*classes) == protected, "classify the new route in this file"


# ---------------------------------------------------------------- smuggled identities


def smuggled(world: World, attack: Attack) -> Iterator[tuple[str, Any, dict[str, str]]]:
    """Mallory's request, and variants claiming to be Alice's or the owner's."""
    alice = world.alice
    path = world.path(attack.path)
    claims = {"user_id": alice.id, "owner_id": alice.id, "id": world.movie, "username": "alice"}
    yield path, attack.payload, {}
    if isinstance(attack.payload, dict):
        yield path, {**attack.payload, **claims}, {}
    query = f"user_id={alice.id}&owner={alice.id}&as=alice"
    yield f"{path}?{query}", attack.payload, {"X-User-Id": str(alice.id), "X-Owner": "alice"}
    yield f"{path}/", attack.payload, {}


@pytest.mark.parametrize(
    ("route", "attack"),
    [(route, attack) for route, attacks in OWNER_ONLY.items() for attack in attacks],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else value.path,
)
def test_another_users_data_is_refused_and_nothing_changes(
    world: World, route: tuple[str, str], attack: Attack
) -> None:
    method, _ = route
    before = table_items()
    for path, payload, headers in smuggled(world, attack):
        response = world.api.request(
            method, path, payload, token=world.mallory.token, headers=headers
        )
        assert response.status_code == attack.status, (path, payload, response.body)
        assert body(response) == {"detail": attack.detail}
        assert table_items() == before, (path, payload)
    # And Alice may: the refusal was about Mallory, not a broken route.
    path, token = world.path(attack.path), world.alice.token
    response = world.api.request(method, path, attack.payload, token=token)
    assert response.status_code < 300, response.body


def owned_by(snapshot: Snapshot, user: User) -> set[Key]:
    """The keys of ``user``'s items: profile, name claims, movies, ratings, comments."""
    keys = set()
    for key, item in snapshot.items():
        owner = item.get("user_id", {}).get("N") or (
            item.get("id", {}).get("N") if key[0].startswith("USER#") else None
        )
        if owner == str(user.id):
            keys.add(key)
    return keys


@pytest.mark.parametrize("route", sorted(ABOUT_THE_CALLER), ids=" ".join)
def test_routes_about_the_caller_act_on_the_caller_whatever_she_claims(
    world: World, route: tuple[str, str]
) -> None:
    method, path = route
    alice = world.alice
    payloads = {
        "/users/me": {"first_name": "Mallory", "id": alice.id, "user_id": alice.id},
        "/users/me/password": {
            "current_password": PASSWORD,
            "new_password": "mallory's new secret",
            "user_id": alice.id,
            "username": "alice",
        },
    }
    before = table_items()
    response = world.api.request(
        method,
        f"{path}?user_id={alice.id}&username=alice",
        payloads.get(path) if method == "PUT" else None,
        token=world.mallory.token,
        headers={"X-User-Id": str(alice.id)},
    )
    assert response.status_code in (200, 204), response.body
    text = response.body.decode()
    assert not [secret for secret in world.alices_secrets() if secret in text]
    assert str(world.movie) not in text
    after = table_items()
    assert changed_keys(before, after) <= owned_by({**before, **after}, world.mallory)
    assert {key: after.get(key) for key in owned_by(before, alice)} == {
        key: before[key] for key in owned_by(before, alice)
    }
    login = world.api.post("/login", {"username": "alice", "password": PASSWORD})
    assert login.status_code == 200


HELLO = {"comment_text": "Hello"}
CREATIONS = {
    ("POST", "/movies"): ("/movies", {"title": "Mallory's"}),
    ("POST", "/new_movies"): ("/new_movies", {"title": "Mallory's"}),
    ("POST", "/movies/{movie_id}/ratings"): ("/movies/{movie}/ratings", {"rating": 1}),
    ("POST", "/movies/{movie_id}/comments"): ("/movies/{movie}/comments", HELLO),
    ("POST", "/comments/{parent_id}/replies"): ("/comments/{comment}/replies", HELLO),
}
# What a rating or a reply exists to change on Alice's items (a rating: her movie's counter shard).
COUNTERS = {"rating_count", "rating_sum", "changes", "reply_count", "updated_at"}


@pytest.mark.parametrize("route", sorted(CREATES_FOR_THE_CALLER), ids=" ".join)
def test_what_the_caller_creates_is_hers_whatever_she_claims(
    world: World, route: tuple[str, str]
) -> None:
    path, payload = CREATIONS[route]
    alice = world.alice
    claims = {"user_id": alice.id, "id": world.movie, "movie_id": world.mallorys_movie}
    before = table_items()
    response = world.api.request(
        route[0], world.path(path), {**payload, **claims}, token=world.mallory.token
    )
    assert response.status_code in (200, 201), response.body
    created = body(response)
    assert created["user_id"] == world.mallory.id
    assert created["id"] not in (world.movie, alice.id)
    assert created.get("movie_id", world.movie) == world.movie
    after = table_items()
    for key in changed_keys(before, after):
        old, new = before.get(key), after[key]
        if old is None and new["kind"]["S"] == "rating_counter":  # a new movie's, ownerless
            assert new["pk"]["S"] == f"MOVIE#{created['id']}", new
        elif old is None:
            assert new.get("user_id", {}).get("N") == str(world.mallory.id), new
        else:
            moved = {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}
            assert moved <= COUNTERS, (key, moved)


REQUIRED_QUERIES = {"/movies/search": "?q=faulty"}  # the world's movie, found


def test_public_routes_show_nothing_private_of_anyone(world: World) -> None:
    api = world.api
    public = [route for route, authenticated in app_routes().items() if not authenticated]
    for route in [route for method, route in public if method == "GET"]:
        path = route.format(movie_id=world.movie) + REQUIRED_QUERIES.get(route, "")
        response = api.get(path)
        assert response.status_code == 200, (path, response.body)
        text = response.body.decode()
        leaked = [secret for secret in world.alices_secrets() if secret in text]
        assert not leaked, (path, leaked)
    writes = {route for route in public if route[0] != "GET"}  # public routes that write
    assert writes == {("POST", "/signup"), ("POST", "/login"), ("POST", "/token/refresh")}


def test_signup_and_login_cannot_take_over_an_account(world: World) -> None:
    api = world.api
    before = table_items()
    taken = api.post("/signup", user_payload("ALICE", email="mallory2@example.com"))
    assert (taken.status_code, body(taken)) == (409, {"detail": "Username already registered"})
    stolen = api.post("/signup", user_payload("mal2", email="Alice.Private@example.com"))
    assert (stolen.status_code, body(stolen)) == (409, {"detail": "Email already registered"})
    wrong = api.post("/login", {"username": "alice", "password": "mallory guesses"})
    assert wrong.status_code == 401
    changed = changed_keys(before, table_items())
    assert changed == {("LOGIN#alice", "CLIENT#127.0.0.1")}  # Mallory's own failure count


# ---------------------------------------------------------------- authentication


def expired(user: User) -> str:
    settings = get_settings()
    now = int(time.time())
    session = jwt.decode(user.token, options={"verify_signature": False})["sid"]
    claims = {"sub": str(user.id), "sid": session, "iat": now - 7200, "exp": now - 3600,
              "iss": settings.jwt_issuer, "aud": settings.jwt_audience}  # fmt: skip
    return jwt.encode(claims, security.signing_key(), algorithm="HS256")


def test_every_protected_route_refuses_a_bad_token_and_changes_nothing(world: World) -> None:
    protected = [route for route, authenticated in app_routes().items() if authenticated]
    payloads = {
        "PUT": {"title": "x", "comment_text": "xx", "first_name": "x"},
        "POST": {"title": "x"},
    }
    header, claims, signature = world.alice.token.split(".")
    tokens = {
        "none": None,
        "forged": f"{header}.{claims}.{signature[::-1]}",
        "expired": expired(world.alice),
    }
    before = table_items()
    for method, route in protected:
        path = route.format(
            movie_id=world.movie,
            comment_id=world.comment,
            parent_id=world.comment,
            session_id=world.alices_session,
        )
        for name, token in tokens.items():
            response = world.api.request(method, path, payloads.get(method), token=token)
            assert response.status_code == 401, (method, path, name, response.body)
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert json.loads(response.body)["detail"] in {
                "Not authenticated",
                "Could not validate credentials",
            }
    assert table_items() == before
