"""Every endpoint of the app, how to exercise it, and the DynamoDB calls it makes.

This catalogue is the one place the per-request call budgets are written.
``tests/test_budget.py`` sends each scenario once and holds it to exactly
the calls listed here (each operation and how many of it) and to its round
trips; ``python -m bench`` sends each many times and measures it; the
README's budget table is generated from it (``make budgets``, and a test
fails when the README differs). A route of the app without a scenario here
fails the test, so a new endpoint cannot arrive without a budget.

A scenario *prepares* what its request needs (a fresh movie to delete, a
comment to reply to) through the API itself, untimed and uncounted, and
returns the one request that is measured. Round trips count calls sent at
once as one: the movie detail's two Queries wait for each other, not in turn.

The route calls count the API function's calls. The JWT authorizer is a
function of its own: its one GetItem per checked token (``CHECK_TOKEN``:
is the session still live?) is held by the same test and is a row of the
README's table.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalice.app import Chalice
from chalice.test import Client

PASSWORD = "correct horse battery"
Calls = Mapping[str, int]
"""DynamoDB operations a request makes, and how many of each: ``{"GetItem": 1}``."""

NO_CALLS: Calls = {}
GET: Calls = {"GetItem": 1}
BATCH_GET: Calls = {"BatchGetItem": 1}
QUERY: Calls = {"Query": 1}
TWO_QUERIES: Calls = {"Query": 2}
PUT: Calls = {"PutItem": 1}
UPDATE: Calls = {"UpdateItem": 1}
TRANSACT: Calls = {"TransactWriteItems": 1}
GET_THEN_TRANSACT: Calls = {"GetItem": 1, "TransactWriteItems": 1}
GET_THEN_UPDATE: Calls = {"GetItem": 1, "UpdateItem": 1}
QUERY_AND_GET: Calls = {"Query": 1, "GetItem": 1}
TWO_GETS: Calls = {"GetItem": 2}
BATCH_GET_THEN_TRANSACT: Calls = {"BatchGetItem": 1, "TransactWriteItems": 1}
BATCH_GET_THEN_UPDATE: Calls = {"BatchGetItem": 1, "UpdateItem": 1}
CHECK_TOKEN: Calls = GET
"""The authorizer's calls per checked token, whatever the route."""
COMMENT_TEXT = "A quiet, patient film that rewards a second viewing. " * 2
MOVIE: dict[str, Any] = {
    "title": "Metropolis",
    "description": "A futuristic city sharply divided between the working class and the planners.",
    "release_date": "1927-01-10",
    "genres": ["Drama", "Science Fiction"],
}


@dataclass(frozen=True)
class Call:
    """One HTTP request to the app."""

    method: str
    path: str
    body: Any = None
    token: str | None = None

    def send(self, client: Client) -> Any:
        headers = {"Content-Type": "application/json"} if self.body is not None else {}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = b"" if self.body is None else json.dumps(self.body).encode()
        return client.http.request(self.method, self.path, headers=headers, body=payload)


@dataclass
class User:
    id: int
    username: str
    token: str
    password: str = PASSWORD


class SetupFailed(RuntimeError):
    """A request that prepares a scenario did not answer as expected."""


@dataclass
class World:
    """The data the scenarios work on, made through the API on first use.

    ``reading_movie`` is what the read scenarios read (by default a movie
    with three comment threads, a reply and three ratings); ``writing_movie``
    is where the write scenarios write, so timing the writes does not change
    what the reads find. The scaling runs point both at one movie.
    """

    client: Client
    _serial: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _users: dict[str, User] = field(default_factory=dict)
    _movies: dict[str, int] = field(default_factory=dict)
    _comments: dict[str, int] = field(default_factory=dict)
    _rated: set[tuple[int, int]] = field(default_factory=set)
    _reading_movie: int | None = None
    _writing_movie: int | None = None

    # -------------------------------------------------------- requests

    def request(self, call: Call, status: int = 200) -> Any:
        """Send a setup request; its JSON body, or ``SetupFailed``."""
        response = call.send(self.client)
        if response.status_code != status:
            raise SetupFailed(
                f"{call.method} {call.path}: {response.status_code} {response.body!r}"
            )
        return json.loads(response.body) if response.body else None

    def number(self) -> int:
        return next(self._serial)

    def unique(self, prefix: str) -> str:
        return f"{prefix}{self.number()}"

    # -------------------------------------------------------- users

    def user(self, role: str) -> User:
        """The user playing ``role``, signed up and logged in on first use."""
        if role not in self._users:
            self._users[role] = self.new_user(role)
        return self._users[role]

    def new_user(self, prefix: str = "user") -> User:
        name = self.unique(prefix)
        created = self.request(Call("POST", "/signup", user_payload(name)))
        return User(created["id"], name, self.login(name, PASSWORD))

    def login(self, username: str, password: str) -> str:
        login = {"username": username, "password": password}
        return str(self.request(Call("POST", "/login", login))["access_token"])

    # -------------------------------------------------------- movies and comments

    def new_movie(self, owner: User | None = None) -> int:
        owner = owner or self.user("owner")
        return int(self.request(Call("POST", "/movies", MOVIE, owner.token), 201)["id"])

    def movie(self, name: str) -> int:
        """A named movie of the owner's, made on first use."""
        if name not in self._movies:
            self._movies[name] = self.new_movie()
        return self._movies[name]

    def comment(self, movie_id: int, author: User, reply_to: int | None = None) -> int:
        if reply_to is None:
            call = Call("POST", f"/movies/{movie_id}/comments", comment(), author.token)
        else:
            call = Call("POST", f"/comments/{reply_to}/replies", comment(), author.token)
        return int(self.request(call)["id"])

    def named_comment(self, name: str, movie_id: int, author: User) -> int:
        if name not in self._comments:
            self._comments[name] = self.comment(movie_id, author)
        return self._comments[name]

    def rate(self, movie_id: int, user: User, value: int) -> None:
        self.request(Call("POST", f"/movies/{movie_id}/ratings", {"rating": value}, user.token))
        self._rated.add((movie_id, user.id))

    def has_rated(self, movie_id: int, user: User) -> bool:
        return (movie_id, user.id) in self._rated

    @property
    def reading_movie(self) -> int:
        if self._reading_movie is None:
            self._reading_movie = self._small_movie()
        return self._reading_movie

    @reading_movie.setter
    def reading_movie(self, movie_id: int) -> None:
        self._reading_movie = movie_id

    @property
    def writing_movie(self) -> int:
        if self._writing_movie is None:
            self._writing_movie = self.movie("writing")
        return self._writing_movie

    @writing_movie.setter
    def writing_movie(self, movie_id: int) -> None:
        self._writing_movie = movie_id

    def _small_movie(self) -> int:
        """A movie with three threads (one with a reply) and three ratings."""
        movie_id = self.movie("reading")
        critic, owner, reader = self.user("critic"), self.user("owner"), self.user("reader")
        first = self.comment(movie_id, critic)
        self.comment(movie_id, owner, reply_to=first)
        self.comment(movie_id, reader)
        self.comment(movie_id, critic)
        for value, user in enumerate((critic, owner, reader), start=7):
            self.rate(movie_id, user, value)
        return movie_id


def user_payload(name: str) -> dict[str, str]:
    return {
        "username": name,
        "first_name": "Bench",
        "last_name": "Mark",
        "phone_number": "+12345678901",
        "email": f"{name}@example.com",
        "password": PASSWORD,
    }


def comment() -> dict[str, str]:
    return {"comment_text": COMMENT_TEXT.strip()}


# ---------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Scenario:
    """How to send one request to ``method`` ``route``, and the DynamoDB calls it makes.

    ``calls`` is exact: each operation and how many of it. ``sent_at_once``
    says the calls go out together (one round trip); otherwise each call is
    a round trip of its own.
    """

    method: str
    route: str
    calls: Calls
    prepare: Callable[[World], Call]
    status: int = 200
    variant: str = ""
    writes: bool = False
    sent_at_once: bool = False

    @property
    def name(self) -> str:
        label = f"{self.method} {self.route}"
        return f"{label} ({self.variant})" if self.variant else label

    @property
    def call_count(self) -> int:
        return sum(self.calls.values())

    @property
    def round_trips(self) -> int:
        return min(self.call_count, 1) if self.sent_at_once else self.call_count

    @property
    def budget(self) -> int:
        """The round trips the request may wait for (the bench's "budget" column)."""
        return self.round_trips


def _get(path: str) -> Callable[[World], Call]:
    """A GET of a fixed path, needing nothing prepared."""

    def prepare(world: World) -> Call:
        return Call("GET", path)

    return prepare


def _signup(world: World) -> Call:
    return Call("POST", "/signup", user_payload(world.unique("signup")))


def _login(world: World) -> Call:
    reader = world.user("reader")
    return Call("POST", "/login", {"username": reader.username, "password": reader.password})


def _read_me(world: World) -> Call:
    return Call("GET", "/users/me", token=world.user("reader").token)


def _update_me(world: World) -> Call:
    profile = {"first_name": world.unique("Ada"), "phone_number": "+12345678902"}
    return Call("PUT", "/users/me", profile, world.user("profile").token)


def _rename_me(world: World) -> Call:
    renamed = {"username": world.unique("renamed")}
    return Call("PUT", "/users/me", renamed, world.user("renamer").token)


def _change_password(world: World) -> Call:
    user = world.user("password")
    world.login(user.username, user.password)  # another session, which the change ends
    new_password = world.unique("new password ")
    change = {"current_password": user.password, "new_password": new_password}
    user.password = new_password
    return Call("PUT", "/users/me/password", change, user.token)


def _list_movies(world: World) -> Call:
    return Call("GET", "/movies?limit=10")


def _list_my_movies(world: World) -> Call:
    return Call("GET", "/movies/user?limit=10", token=world.user("owner").token)


def _create_movie(path: str) -> Callable[[World], Call]:
    def prepare(world: World) -> Call:
        return Call("POST", path, MOVIE, world.user("owner").token)

    return prepare


def _read_movie(prefix: str) -> Callable[[World], Call]:
    def prepare(world: World) -> Call:
        return Call("GET", f"{prefix}/{world.reading_movie}")

    return prepare


def _update_movie(method: str, prefix: str) -> Callable[[World], Call]:
    def prepare(world: World) -> Call:
        change = {"description": world.unique("Restored print, take ")}
        return Call(method, f"{prefix}/{world.writing_movie}", change, world.user("owner").token)

    return prepare


def _delete_movie(prefix: str) -> Callable[[World], Call]:
    def prepare(world: World) -> Call:
        owner = world.user("owner")
        return Call("DELETE", f"{prefix}/{world.new_movie(owner)}", token=owner.token)

    return prepare


def _first_rating(world: World) -> Call:
    movie_id = world.new_movie()
    return Call("POST", f"/movies/{movie_id}/ratings", {"rating": 8}, world.user("critic").token)


def _re_rate(world: World) -> Call:
    critic, movie_id = world.user("critic"), world.writing_movie
    if not world.has_rated(movie_id, critic):
        world.rate(movie_id, critic, 5)
    value = 1 + world.number() % 10
    return Call("POST", f"/movies/{movie_id}/ratings", {"rating": value}, critic.token)


def _list_ratings(world: World) -> Call:
    return Call("GET", f"/movies/{world.reading_movie}/ratings?limit=10")


def _unrate(world: World) -> Call:
    user, movie_id = world.user("unrater"), world.writing_movie
    world.rate(movie_id, user, 6)
    return Call("DELETE", f"/movies/{movie_id}/ratings", token=user.token)


def _average(world: World) -> Call:
    return Call("GET", f"/movies/{world.reading_movie}/ratings/average")


def _add_comment(world: World) -> Call:
    movie_id = world.writing_movie
    return Call("POST", f"/movies/{movie_id}/comments", comment(), world.user("critic").token)


def _list_threads(world: World) -> Call:
    return Call("GET", f"/movies/{world.reading_movie}/comments?limit=10")


def _reply(world: World) -> Call:
    parent = world.named_comment("parent", world.writing_movie, world.user("critic"))
    return Call("POST", f"/comments/{parent}/replies", comment(), world.user("owner").token)


def _edit_comment(world: World) -> Call:
    critic = world.user("critic")
    comment_id = world.named_comment("edited", world.writing_movie, critic)
    edit = {"comment_text": world.unique("On reflection, ")}
    return Call("PUT", f"/comments/{comment_id}", edit, critic.token)


def _delete_comment(world: World) -> Call:
    critic = world.user("critic")
    comment_id = world.comment(world.writing_movie, critic)
    return Call("DELETE", f"/comments/{comment_id}", token=critic.token)


def _delete_comment_with_replies(world: World) -> Call:
    critic = world.user("critic")
    comment_id = world.comment(world.writing_movie, critic)
    world.comment(world.writing_movie, world.user("owner"), reply_to=comment_id)
    return Call("DELETE", f"/comments/{comment_id}", token=critic.token)


def _rate_unknown_movie(world: World) -> Call:
    return Call("POST", "/movies/9999/ratings", {"rating": 7}, world.user("critic").token)


def _list_one_rating(world: World) -> Call:
    return Call("GET", f"/movies/{world.reading_movie}/ratings?limit=1")


def _next_page(world: World, path: str) -> Call:
    """The page after the first of ``path`` (one item a page), by its cursor."""
    first = world.client.http.request("GET", f"{path}?limit=1")
    cursor = first.headers.get("X-Next-Cursor")
    if first.status_code != 200 or not cursor:
        raise SetupFailed(f"GET {path}?limit=1: {first.status_code}, no next page")
    return Call("GET", f"{path}?limit=1&cursor={cursor}")


def _list_ratings_next_page(world: World) -> Call:
    return _next_page(world, f"/movies/{world.reading_movie}/ratings")


def _list_threads_next_page(world: World) -> Call:
    return _next_page(world, f"/movies/{world.reading_movie}/comments")


def _fan(world: World) -> User:
    """A user who has rated two movies (not the reading movie, whose ratings stay three)."""
    fan = world.user("fan")
    for movie_id in (world.writing_movie, world.movie("the fan's")):
        if not world.has_rated(movie_id, fan):
            world.rate(movie_id, fan, 9)
    return fan


def _list_my_ratings(world: World) -> Call:
    return Call("GET", "/users/me/ratings?limit=10", token=_fan(world).token)


def _list_my_ratings_next_page(world: World) -> Call:
    fan = _fan(world)
    first = Call("GET", "/users/me/ratings?limit=1", token=fan.token).send(world.client)
    cursor = first.headers.get("X-Next-Cursor")
    if first.status_code != 200 or not cursor:
        raise SetupFailed(f"GET /users/me/ratings?limit=1: {first.status_code}, no next page")
    return Call("GET", f"/users/me/ratings?limit=1&cursor={cursor}", token=fan.token)


def _unrate_unrated(world: World) -> Call:
    user = world.new_user("never-rated")
    return Call("DELETE", f"/movies/{world.writing_movie}/ratings", token=user.token)


def _reply_to_a_reply(world: World) -> Call:
    parent = world.named_comment("nested parent", world.writing_movie, world.user("critic"))
    reply = world.comment(world.writing_movie, world.user("owner"), reply_to=parent)
    return Call("POST", f"/comments/{reply}/replies", comment(), world.user("critic").token)


def _delete_reply(world: World) -> Call:
    parent = world.comment(world.writing_movie, world.user("critic"))
    owner = world.user("owner")
    reply = world.comment(world.writing_movie, owner, reply_to=parent)
    return Call("DELETE", f"/comments/{reply}", token=owner.token)


def _tokens(world: World, role: str) -> dict[str, Any]:
    """A new login (a new session) of the user playing ``role``: the whole token answer."""
    user = world.user(role)
    login = {"username": user.username, "password": user.password}
    tokens: dict[str, Any] = world.request(Call("POST", "/login", login))
    return tokens


def _refresh(world: World) -> Call:
    refresh_token = _tokens(world, "refresher")["refresh_token"]
    return Call("POST", "/token/refresh", {"refresh_token": refresh_token})


def _logout(world: World) -> Call:
    return Call("POST", "/logout", token=_tokens(world, "sessions")["access_token"])


def _list_sessions(world: World) -> Call:
    return Call("GET", "/users/me/sessions", token=world.user("sessions").token)


def _end_session(world: World) -> Call:
    access_token = _tokens(world, "sessions")["access_token"]
    newest = world.request(Call("GET", "/users/me/sessions", token=access_token))[0]
    return Call("DELETE", f"/users/me/sessions/{newest['id']}", token=world.user("sessions").token)


def _end_other_sessions(world: World) -> Call:
    _tokens(world, "ender")  # another session, which this ends
    return Call("DELETE", "/users/me/sessions", token=_tokens(world, "ender")["access_token"])


CATALOGUE: tuple[Scenario, ...] = (
    Scenario("GET", "/health", NO_CALLS, _get("/health")),
    Scenario("POST", "/signup", TRANSACT, _signup, writes=True),
    Scenario("POST", "/login", BATCH_GET_THEN_TRANSACT, _login, writes=True),
    Scenario("GET", "/users/me", GET, _read_me),
    Scenario("PUT", "/users/me", GET_THEN_TRANSACT, _update_me, writes=True),
    Scenario("PUT", "/users/me", GET_THEN_TRANSACT, _rename_me, variant="rename", writes=True),
    Scenario("PUT", "/users/me/password", GET_THEN_TRANSACT, _change_password, writes=True),
    Scenario("GET", "/movies", TWO_QUERIES, _list_movies, sent_at_once=True),
    *(
        Scenario("GET", "/movies", TWO_QUERIES, _get(path), variant=variant, sent_at_once=True)
        for variant, path in (
            ("top rated", "/movies?sort=top_rated&limit=10"),
            ("most rated of a genre", "/movies?sort=most_rated&genre=drama&limit=10"),
            ("by release date of a year", "/movies?sort=release_date&year=1927&limit=10"),
            ("newest of a genre", "/movies?genre=Science%20Fiction&limit=10"),
        )
    ),
    Scenario(
        "GET", "/movies/search", TWO_QUERIES, _get("/movies/search?q=metro"), sent_at_once=True
    ),
    Scenario(
        "GET",
        "/movies/search",
        TWO_QUERIES,
        _get("/movies/search?q=metropolis%20city"),
        variant="two words",
        sent_at_once=True,
    ),
    Scenario("GET", "/genres", NO_CALLS, _get("/genres")),
    Scenario("GET", "/movies/user", QUERY, _list_my_movies),
    Scenario("POST", "/movies", TRANSACT, _create_movie("/movies"), status=201, writes=True),
    Scenario("POST", "/new_movies", TRANSACT, _create_movie("/new_movies"), writes=True),
    Scenario("GET", "/movies/{movie_id}", TWO_QUERIES, _read_movie("/movies"), sent_at_once=True),
    Scenario("GET", "/movie/{movie_id}", TWO_QUERIES, _read_movie("/movie"), sent_at_once=True),
    Scenario("PUT", "/movies/{movie_id}", UPDATE, _update_movie("PUT", "/movies"), writes=True),
    Scenario("PATCH", "/movies/{movie_id}", UPDATE, _update_movie("PATCH", "/movies"), writes=True),
    Scenario(
        "PUT",
        "/movie_update/{movie_id}",
        UPDATE,
        _update_movie("PUT", "/movie_update"),
        writes=True,
    ),
    Scenario(
        "DELETE", "/movies/{movie_id}", TRANSACT, _delete_movie("/movies"), status=204, writes=True
    ),
    Scenario(
        "DELETE",
        "/movie_delete/{movie_id}",
        GET_THEN_TRANSACT,
        _delete_movie("/movie_delete"),
        writes=True,
    ),
    Scenario(
        "POST",
        "/movies/{movie_id}/ratings",
        GET_THEN_TRANSACT,
        _first_rating,
        variant="first",
        writes=True,
    ),
    Scenario(
        "POST",
        "/movies/{movie_id}/ratings",
        GET_THEN_TRANSACT,
        _re_rate,
        variant="re-rate",
        writes=True,
    ),
    Scenario(
        "POST",
        "/movies/{movie_id}/ratings",
        GET_THEN_TRANSACT,
        _rate_unknown_movie,
        status=404,
        variant="unknown movie",
    ),
    Scenario("GET", "/movies/{movie_id}/ratings", QUERY, _list_ratings),
    Scenario("GET", "/movies/{movie_id}/ratings", QUERY, _list_one_rating, variant="limit 1"),
    Scenario(
        "GET",
        "/movies/{movie_id}/ratings",
        QUERY_AND_GET,
        _list_ratings_next_page,
        variant="next page",
        sent_at_once=True,
    ),
    Scenario(
        "DELETE", "/movies/{movie_id}/ratings", GET_THEN_TRANSACT, _unrate, status=204, writes=True
    ),
    Scenario(
        "DELETE",
        "/movies/{movie_id}/ratings",
        TWO_GETS,
        _unrate_unrated,
        status=404,
        variant="not rated",
    ),
    Scenario("GET", "/movies/{movie_id}/ratings/average", QUERY, _average),
    Scenario("GET", "/users/me/ratings", QUERY, _list_my_ratings),
    Scenario("GET", "/users/me/ratings", QUERY, _list_my_ratings_next_page, variant="next page"),
    Scenario("POST", "/movies/{movie_id}/comments", TRANSACT, _add_comment, writes=True),
    Scenario("GET", "/movies/{movie_id}/comments", QUERY, _list_threads),
    Scenario(
        "GET",
        "/movies/{movie_id}/comments",
        QUERY_AND_GET,
        _list_threads_next_page,
        variant="next page",
        sent_at_once=True,
    ),
    Scenario("POST", "/comments/{parent_id}/replies", GET_THEN_TRANSACT, _reply, writes=True),
    Scenario(
        "POST",
        "/comments/{parent_id}/replies",
        GET_THEN_TRANSACT,
        _reply_to_a_reply,
        variant="to a reply",
        writes=True,
    ),
    Scenario("PUT", "/comments/{comment_id}", GET_THEN_UPDATE, _edit_comment, writes=True),
    Scenario(
        "DELETE",
        "/comments/{comment_id}",
        GET_THEN_TRANSACT,
        _delete_comment,
        variant="no replies",
        writes=True,
    ),
    Scenario(
        "DELETE",
        "/comments/{comment_id}",
        GET_THEN_TRANSACT,
        _delete_comment_with_replies,
        variant="tombstone",
        writes=True,
    ),
    Scenario(
        "DELETE",
        "/comments/{comment_id}",
        GET_THEN_TRANSACT,
        _delete_reply,
        variant="a reply",
        writes=True,
    ),
    Scenario("POST", "/token/refresh", BATCH_GET_THEN_UPDATE, _refresh, writes=True),
    Scenario("POST", "/logout", TRANSACT, _logout, status=204, writes=True),
    Scenario("GET", "/users/me/sessions", QUERY, _list_sessions),
    Scenario(
        "DELETE", "/users/me/sessions", TRANSACT, _end_other_sessions, status=204, writes=True
    ),
    Scenario(
        "DELETE", "/users/me/sessions/{session_id}", TRANSACT, _end_session, status=204, writes=True
    ),
    Scenario("GET", "/openapi.json", NO_CALLS, _get("/openapi.json")),
    Scenario("GET", "/docs", NO_CALLS, _get("/docs")),
    Scenario("GET", "/redoc", NO_CALLS, _get("/redoc")),
    *(
        Scenario("GET", path, NO_CALLS, _get(path))
        for path in (
            "/docs/assets/swagger-ui-bundle.js",
            "/docs/assets/swagger-ui.css",
            "/docs/assets/redoc.standalone.js",
        )
    ),
)

SCALING: tuple[str, ...] = (
    "GET /movies/{movie_id}",
    "GET /movies",
    "GET /movies/user",
    "GET /movies/{movie_id}/ratings",
    "GET /movies/{movie_id}/ratings/average",
    "GET /movies/{movie_id}/comments",
    "POST /movies/{movie_id}/ratings (re-rate)",
    "POST /movies/{movie_id}/comments",
)
"""The scenarios run against a movie with 0 and with 1,000 comments and ratings."""


def by_name(name: str) -> Scenario:
    return next(scenario for scenario in CATALOGUE if scenario.name == name)


def app_routes(app: Chalice) -> set[tuple[str, str]]:
    """Every (method, path) the app serves."""
    return {(method, path) for path, entries in app.routes.items() for method in entries}


def routes_without_budget(app: Chalice) -> set[tuple[str, str]]:
    return app_routes(app) - {(s.method, s.route) for s in CATALOGUE}


def budgets_without_route(app: Chalice) -> set[tuple[str, str]]:
    return {(s.method, s.route) for s in CATALOGUE} - app_routes(app)
