"""A database shaped like the original deployment's, awkward cases included.

Rows go in as the original app wrote them: users with the server's
``now()`` (local time, here New York), movies and comments with naive UTC,
bcrypt hashes from passlib's settings (``$2b$12$`` for a few users; cost 4
for the rest, to keep the tests quick). Every case that the original's
data may hold (devtools/migrate/original_schema.sql) has a row here; the
hand edits (NULL or dangling references, a loop of replies) are made with
foreign keys switched off, as a hand edit would.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import bcrypt
import psycopg

REAL_COST = 12
QUICK_COST = 4
DEEP_THREAD = 40


def bcrypt_hash(password: str, cost: int = QUICK_COST) -> str:
    """What the original's passlib stored: bcrypt of the first 72 bytes."""
    return bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(cost, prefix=b"2b")).decode()


@dataclass
class OriginalUser:
    id: int
    username: str
    email: str
    password: str | None  # None: a hash no password matches


@dataclass
class World:
    """What was inserted, by role, for the tests to check against."""

    users: dict[str, OriginalUser] = field(default_factory=dict)
    movies: dict[str, int] = field(default_factory=dict)
    comments: dict[str, int] = field(default_factory=dict)
    deep_chain: list[int] = field(default_factory=list)


class OriginalDatabase:
    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)

    def close(self) -> None:
        self.conn.close()

    def one(self, sql: str, *params: Any) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        assert row is not None
        return row[0]

    def user(self, username: str, email: str, password: str, **extra: Any) -> int:
        columns = {
            "first_name": "Test",
            "last_name": "User",
            "phone_number": "+12345678901",
            "email": email,
            "username": username,
            "hashed_password": extra.pop("hashed_password", None)
            or bcrypt_hash(password, extra.pop("cost", QUICK_COST)),
            **extra,
        }
        names = ", ".join(columns)
        marks = ", ".join(["%s"] * len(columns))
        return int(
            self.one(
                f"INSERT INTO users ({names}) VALUES ({marks}) RETURNING id", *columns.values()
            )
        )

    def movie(self, title: str, user_id: int | None, **extra: Any) -> int:
        now = dt.datetime(2024, 5, 1, 12, 0, 0)
        columns = {
            "title": title,
            "description": "A movie.",
            "release_date": dt.date(1999, 3, 31),
            "user_id": user_id,
            "created_at": now,
            "updated_at": now,
            **extra,
        }
        names = ", ".join(columns)
        marks = ", ".join(["%s"] * len(columns))
        return int(
            self.one(
                f"INSERT INTO movies ({names}) VALUES ({marks}) RETURNING id", *columns.values()
            )
        )

    def rating(self, movie_id: int | None, user_id: int | None, value: int) -> int:
        return int(
            self.one(
                "INSERT INTO ratings (rating, movie_id, user_id) VALUES (%s, %s, %s) RETURNING id",
                value,
                movie_id,
                user_id,
            )
        )

    def comment(
        self, movie_id: int | None, user_id: int | None, text: str, parent: int | None = None
    ) -> int:
        at = dt.datetime(2024, 6, 1, 8, 0, 0)
        return int(
            self.one(
                "INSERT INTO comments (comment_text, created_at, updated_at, movie_id, user_id,"
                " parent_comment_id) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                text,
                at,
                at,
                movie_id,
                user_id,
                parent,
            )
        )

    def hand_edit(self, sql: str, *params: Any) -> None:
        """As someone with psql would: foreign keys not checked."""
        with self.conn.transaction():
            self.conn.execute("SET LOCAL session_replication_role = replica")
            self.conn.execute(sql, params)


def build_world(db: OriginalDatabase) -> World:
    world = World()
    _users(db, world)
    _movies_and_ratings(db, world)
    _comments(db, world)
    return world


def _add(
    world: World,
    role: str,
    db: OriginalDatabase,
    username: str,
    email: str,
    password: str | None,
    **extra: Any,
) -> None:
    if password is None:
        extra["hashed_password"] = "not-a-hash"
    user_id = db.user(username, email, password or "", **extra)
    world.users[role] = OriginalUser(user_id, username, email, password)


def _users(db: OriginalDatabase, world: World) -> None:
    _add(world, "ada", db, "ada", "ada@example.com", "ada's old password", cost=REAL_COST)
    _add(world, "Ada", db, "Ada", "ada2@example.com", "Ada's password!", cost=REAL_COST)
    _add(world, "grace hopper", db, "grace hopper", "Grace@Example.com", "cobol cobol")
    _add(world, "grace", db, "grace", "grace@example.com", "another grace")
    _add(world, "zoë", db, "Zoë", "zoe@example.com", "é" * 50 + "tail")  # 104 bytes
    _add(world, "bo", db, "bo", "bo@example.com", "")
    _add(world, "at", db, "al@home", "al@example.com", "at home pass")
    _add(
        world,
        "spaces",
        db,
        "linus",
        "linus@example.com",
        "penguins!",
        first_name="  Linus ",
        last_name="Torvalds",
        phone_number="+1 234 567 8901",
    )
    _add(
        world, "bad phone", db, "margaret", "margaret@example.com", "apollo11", phone_number="7544"
    )
    _add(world, "no hash", db, "broken", "broken@example.com", None)
    # Server local time (New York): winter is UTC-5, summer UTC-4.
    _add(
        world,
        "winter",
        db,
        "winter",
        "winter@example.com",
        "snow snow",
        created_at=dt.datetime(2024, 1, 15, 9, 0),
        updated_at=dt.datetime(2024, 7, 1, 9, 0),
    )


def _movies_and_ratings(db: OriginalDatabase, world: World) -> None:
    users = {role: user.id for role, user in world.users.items()}
    rated = db.movie("Rated Many Times", users["ada"])
    world.movies["rated"] = rated
    for value in (5, 7, 9):
        db.rating(rated, users["ada"], value)  # the latest (9) counts
    db.rating(rated, users["Ada"], 11)  # out of range
    db.rating(rated, users["grace hopper"], 8)
    db.rating(rated, users["grace"], 0)  # out of range
    db.rating(rated, None, 6)  # no user
    world.movies["no owner"] = db.movie("Nobody's Movie", None)
    db.rating(world.movies["no owner"], users["zoë"], 10)
    db.rating(world.movies["no owner"], users["ada"], 6)  # ada's newest
    world.movies["gone owner"] = db.movie("Owner Deleted By Hand", users["bo"])
    db.hand_edit("UPDATE movies SET user_id = 999 WHERE id = %s", world.movies["gone owner"])
    db.hand_edit("INSERT INTO ratings (rating, movie_id, user_id) VALUES (7, 999, %s)", users["bo"])
    world.movies["blank"] = db.movie("   ", users["grace"], description="x" * 6000)
    world.movies["no times"] = db.movie(
        "  No Timestamps ", users["at"], created_at=None, updated_at=None
    )


def _comments(db: OriginalDatabase, world: World) -> None:
    users = {role: user.id for role, user in world.users.items()}
    rated, other = world.movies["rated"], world.movies["no owner"]
    first = db.comment(rated, users["ada"], "First!")
    reply = db.comment(rated, users["grace hopper"], "A reply", first)
    world.comments.update(first=first, reply=reply)
    world.comments["reply to reply"] = db.comment(rated, users["grace"], "Deeper", reply)
    world.comments["other movie"] = db.comment(other, users["ada"], "Wrong movie", first)
    parent = None
    for depth in range(DEEP_THREAD):
        parent = db.comment(rated, users["zoë"], f"depth {depth}", parent)
        world.deep_chain.append(parent)
    loop_a = db.comment(rated, users["bo"], "loop a")
    loop_b = db.comment(rated, users["bo"], "loop b", loop_a)
    db.hand_edit("UPDATE comments SET parent_comment_id = %s WHERE id = %s", loop_b, loop_a)
    world.comments.update(loop_a=loop_a, loop_b=loop_b)
    dangling = db.comment(rated, users["ada"], "Parent deleted by hand")
    db.hand_edit("UPDATE comments SET parent_comment_id = 99999 WHERE id = %s", dangling)
    world.comments["dangling"] = dangling
    lost = db.comment(None, users["ada"], "On no movie")
    world.comments["lost"] = lost
    world.comments["lost reply"] = db.comment(None, users["ada"], "Also on no movie", lost)
    world.comments["anonymous"] = db.comment(rated, None, "Nobody wrote this")
    world.comments["long"] = db.comment(rated, users["ada"], "y" * 2500)
    world.comments["short"] = db.comment(rated, users["ada"], " k ")
