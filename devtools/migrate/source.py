"""Reading the original deployment's four tables with psycopg 3, as one snapshot.

All four tables are read in one ``REPEATABLE READ READ ONLY`` transaction,
so rows written while it runs (writes should be frozen, but) can never give
a rating whose movie was read before it existed. Timestamps come out as
aware UTC datetimes: the original wrote ``movies`` and ``comments`` times
with ``datetime.utcnow()`` (naive UTC), and ``users`` times with the
database's ``now()`` into a column without a zone, i.e. in the server's
``TimeZone`` setting. PostgreSQL itself converts those (``AT TIME ZONE``),
so any zone spelling it accepts and its own daylight-saving rules apply.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import astuple, dataclass, field
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    first_name: str
    last_name: str
    phone_number: str
    email: str
    username: str
    hashed_password: str
    created_at: dt.datetime | None
    updated_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class MovieRow:
    id: int
    title: str
    description: str
    release_date: dt.date
    user_id: int | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class CommentRow:
    id: int
    comment_text: str
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    movie_id: int | None
    user_id: int | None
    parent_comment_id: int | None


@dataclass(frozen=True, slots=True)
class RatingRow:
    id: int
    rating: int
    movie_id: int | None
    user_id: int | None


@dataclass(frozen=True)
class SourceData:
    """Every row of the four tables, ordered by id, and where they came from."""

    users: list[UserRow] = field(default_factory=list)
    movies: list[MovieRow] = field(default_factory=list)
    comments: list[CommentRow] = field(default_factory=list)
    ratings: list[RatingRow] = field(default_factory=list)
    users_timezone: str = "UTC"
    database: str = ""

    @property
    def row_count(self) -> int:
        return len(self.users) + len(self.movies) + len(self.comments) + len(self.ratings)

    def fingerprint(self) -> str:
        """A digest of every row: a rerun can tell whether the source changed since."""
        digest = hashlib.sha256()
        for rows in (self.users, self.movies, self.comments, self.ratings):
            digest.update(b"\x1e")
            for row in rows:
                digest.update(repr(astuple(row)).encode())
        return digest.hexdigest()


_UTC = "'UTC'"
_USERS = """
    SELECT id, first_name, last_name, phone_number, email, username, hashed_password,
           created_at AT TIME ZONE %(zone)s, updated_at AT TIME ZONE %(zone)s
    FROM users ORDER BY id"""
_MOVIES = f"""
    SELECT id, title, description, release_date, user_id,
           created_at AT TIME ZONE {_UTC}, updated_at AT TIME ZONE {_UTC}
    FROM movies ORDER BY id"""
_COMMENTS = f"""
    SELECT id, comment_text, created_at AT TIME ZONE {_UTC}, updated_at AT TIME ZONE {_UTC},
           movie_id, user_id, parent_comment_id
    FROM comments ORDER BY id"""
_RATINGS = "SELECT id, rating, movie_id, user_id FROM ratings ORDER BY id"


def read(database_url: str, *, users_timezone: str | None = None) -> SourceData:
    """Every row of the original tables, in one consistent snapshot.

    ``users_timezone`` overrides the zone the users' naive timestamps are
    read in (default: the server's ``TimeZone``, which is what its
    ``now()`` wrote them in).
    """
    with psycopg.connect(database_url, autocommit=False) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        zone = users_timezone or _server_timezone(conn)
        conn.execute("SET LOCAL TimeZone = 'UTC'")
        users = [UserRow(*row) for row in _rows(conn, _USERS, {"zone": zone})]
        movies = [MovieRow(*row) for row in _rows(conn, _MOVIES)]
        comments = [CommentRow(*row) for row in _rows(conn, _COMMENTS)]
        ratings = [RatingRow(*row) for row in _rows(conn, _RATINGS)]
    return SourceData(
        users=users,
        movies=movies,
        comments=comments,
        ratings=ratings,
        users_timezone=zone,
        database=describe(database_url),
    )


def _server_timezone(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT current_setting('TimeZone')").fetchone()
    return str(row[0]) if row else "UTC"


def _rows(conn: psycopg.Connection[Any], query: str, params: Any = None) -> Iterable[Any]:
    with conn.cursor() as cursor:
        cursor.execute(query, params)
        yield from cursor


def describe(database_url: str) -> str:
    """``user@host:port/dbname`` for the report: never the password."""
    info = conninfo_to_dict(database_url)
    user = f"{info['user']}@" if info.get("user") else ""
    host = info.get("host") or "localhost"
    port = f":{info['port']}" if info.get("port") else ""
    return f"{user}{host}{port}/{info.get('dbname') or ''}"
