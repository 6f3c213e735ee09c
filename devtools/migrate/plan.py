"""The pure step: the original's rows in, what will be stored and every change out.

No I/O here: ``plan(source, migrated_at)`` decides, for each row, what is
stored and records a ``Change`` for anything stored differently or not at
all. The rules (docs/MIGRATION.md explains each one) in short:

* users keep their ids and password hashes. A username our rules refuse
  is made valid (accents dropped, other characters become ``_``); names
  that collide ignoring case go to the oldest account, later ones get
  ``-<id>`` appended. An e-mail that collides ignoring case goes to the
  user who needs it most (one whose username changed), else the oldest;
  the others get a ``user-<id>@migrated.invalid`` placeholder and log in
  with their username. So everyone keeps a way in that they know.
* movies are all kept; one whose owner is NULL or unknown has none
  (``user_id`` 0, which no account has, so nobody can edit it).
* ratings: one per user per movie, the latest row (highest id) of those
  in 1..10; others are dropped, as are ratings of no movie or no user.
* comments: see ``devtools.migrate.threads``.
* timestamps become UTC; a missing one is the row's other one, or the
  migration's start; ``updated_at`` is never before ``created_at``.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from chalicelib.storage.imports import (
    ImportedComment,
    ImportedMovie,
    ImportedRating,
    ImportedUser,
)
from devtools.migrate.report import Change
from devtools.migrate.source import MovieRow, RatingRow, SourceData, UserRow
from devtools.migrate.threads import plan_comments
from devtools.migrate.times import Clock

NO_OWNER = 0
USERNAME = re.compile(r"[A-Za-z0-9_.\-]{3,50}")
NOT_USERNAME = re.compile(r"[^A-Za-z0-9_.\-]+")
PHONE = re.compile(r"\+?[1-9][0-9]{9,14}")
BCRYPT = re.compile(r"\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}")
ARGON2 = re.compile(r"\$argon2(id|i|d)\$.+")
MAX_USERNAME = 50
MAX_DESCRIPTION = 5000
PLACEHOLDER_DOMAIN = "migrated.invalid"  # .invalid never resolves (RFC 2606)


@dataclass
class Plan:
    users: list[ImportedUser] = field(default_factory=list)
    movies: list[ImportedMovie] = field(default_factory=list)
    ratings: list[ImportedRating] = field(default_factory=list)
    comments: list[ImportedComment] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    def ratings_of(self) -> dict[int, list[ImportedRating]]:
        """Every kept rating, by movie (every movie, rated or not): what its counters count."""
        kept: dict[int, list[ImportedRating]] = {movie.id: [] for movie in self.movies}
        for rating in self.ratings:
            kept[rating.movie_id].append(rating)
        return kept


def plan(source: SourceData, *, migrated_at: dt.datetime) -> Plan:
    result = Plan()
    clock = Clock(migrated_at, result.changes)
    result.users = plan_users(source.users, clock, result.changes)
    user_ids = {user.id for user in result.users}
    result.movies = [_movie(row, user_ids, clock, result.changes) for row in source.movies]
    movie_ids = {movie.id for movie in result.movies}
    result.ratings = plan_ratings(source.ratings, user_ids, movie_ids, clock, result.changes)
    result.comments = plan_comments(source.comments, user_ids, movie_ids, clock, result.changes)
    return result


# ---------------------------------------------------------------- users


def plan_users(rows: list[UserRow], clock: Clock, changes: list[Change]) -> list[ImportedUser]:
    usernames = _usernames(rows, changes)
    emails = _emails(rows, usernames, changes)
    users = []
    for row in rows:
        created, updated = clock.times("users", row.id, row.created_at, row.updated_at)
        first, last = (_person_name(row, name, changes) for name in ("first_name", "last_name"))
        if not (BCRYPT.fullmatch(row.hashed_password) or ARGON2.fullmatch(row.hashed_password)):
            changes.append(
                Change(
                    "password_hash_unrecognised",
                    "users",
                    row.id,
                    "kept; no password logs this user in until an operator resets it",
                    {"username": row.username, "email": row.email},
                )
            )
        users.append(
            ImportedUser(
                id=row.id,
                username=usernames[row.id],
                email=emails[row.id],
                first_name=first,
                last_name=last,
                phone_number=_phone(row, changes),
                password_hash=row.hashed_password,
                created_at=created,
                updated_at=updated,
            )
        )
    return users


def _usernames(rows: list[UserRow], changes: list[Change]) -> dict[int, str]:
    """Valid, unique ignoring case: valid names first (oldest wins), then the rest."""
    taken: dict[str, int] = {}
    chosen: dict[int, str] = {}
    for row in rows:
        if USERNAME.fullmatch(row.username) and row.username.lower() not in taken:
            taken[row.username.lower()] = row.id
            chosen[row.id] = row.username
    for row in rows:
        if row.id in chosen:
            continue
        valid = bool(USERNAME.fullmatch(row.username))
        base = row.username if valid else valid_username(row.username, row.id)
        name = _first_free(base, row.id, taken)
        taken[name.lower()] = row.id
        chosen[row.id] = name
        holder = taken.get(row.username.lower()) if valid else None
        reason = f"taken ignoring case by user {holder}" if valid else "refused by our rules"
        changes.append(
            Change(
                "username_renamed",
                "users",
                row.id,
                f"renamed: the user logs in as {name!r} or with their e-mail",
                {"old": row.username, "new": name, "reason": reason, "email": row.email},
            )
        )
    return chosen


def valid_username(name: str, user_id: int) -> str:
    """``name`` within our rules: accents dropped, other characters ``_``, 3 to 50 long."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = NOT_USERNAME.sub("_", ascii_name).strip("_")[:MAX_USERNAME]
    if len(cleaned) < 3:
        cleaned = f"{cleaned or 'user'}_{user_id}"
    return cleaned


def _first_free(base: str, user_id: int, taken: dict[str, int]) -> str:
    """``base``, else ``base-<id>``, else ``base-<id>-2``, ... within 50 characters."""
    if base.lower() not in taken:
        return base
    for attempt in range(1, len(taken) + 2):
        suffix = f"-{user_id}" if attempt == 1 else f"-{user_id}-{attempt}"
        name = base[: MAX_USERNAME - len(suffix)] + suffix
        if name.lower() not in taken:
            return name
    raise AssertionError("unreachable: fewer names are taken than tried")


def _emails(
    rows: list[UserRow], usernames: dict[int, str], changes: list[Change]
) -> dict[int, str]:
    """Unique ignoring case; a user whose username changed gets first pick."""
    by_address: dict[str, list[UserRow]] = defaultdict(list)
    for row in rows:
        by_address[row.email.strip().lower()].append(row)
    chosen: dict[int, str] = {}
    taken = set(by_address)
    for holders in by_address.values():
        holders.sort(key=lambda row: (usernames[row.id] == row.username, row.id))
        keeper, *others = holders
        chosen[keeper.id] = keeper.email.strip()
        _check_email(keeper, changes)
        for row in others:
            chosen[row.id] = _placeholder_email(row.id, taken)
            changes.append(
                Change(
                    "email_replaced",
                    "users",
                    row.id,
                    f"e-mail replaced: the user logs in as {usernames[row.id]!r}"
                    " and can set a new e-mail",
                    {
                        "old": row.email,
                        "new": chosen[row.id],
                        "kept_by_user": keeper.id,
                        "username": usernames[row.id],
                    },
                )
            )
    return chosen


def _placeholder_email(user_id: int, taken: set[str]) -> str:
    address = f"user-{user_id}@{PLACEHOLDER_DOMAIN}"
    attempt = 1
    while address in taken:
        attempt += 1
        address = f"user-{user_id}-{attempt}@{PLACEHOLDER_DOMAIN}"
    taken.add(address)
    return address


def _check_email(row: UserRow, changes: list[Change]) -> None:
    try:
        validate_email(row.email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        changes.append(
            Change(
                "email_invalid",
                "users",
                row.id,
                "kept as it was",
                {"email": row.email, "why": str(exc)},
            )
        )


def _person_name(row: UserRow, attribute: str, changes: list[Change]) -> str:
    raw: str = getattr(row, attribute)
    name = raw.strip()
    if not name:
        changes.append(Change("name_blank", "users", row.id, "kept blank", {"field": attribute}))
    elif name != raw:
        changes.append(_trimmed("users", row.id, attribute, raw, name))
    return name


def _phone(row: UserRow, changes: list[Change]) -> str:
    compact = row.phone_number.replace(" ", "")
    if not PHONE.fullmatch(compact):
        details = {"phone_number": row.phone_number}
        changes.append(Change("phone_invalid", "users", row.id, "kept as it was", details))
        return row.phone_number
    if compact != row.phone_number:
        details = {"old": row.phone_number, "new": compact}
        changes.append(Change("phone_normalised", "users", row.id, "spaces removed", details))
    return compact


def _trimmed(table: str, row_id: int, attribute: str, old: str, new: str) -> Change:
    return Change(
        "whitespace_trimmed",
        table,
        row_id,
        "spaces trimmed",
        {"field": attribute, "old": old, "new": new},
    )


# ---------------------------------------------------------------- movies


def _movie(row: MovieRow, user_ids: set[int], clock: Clock, changes: list[Change]) -> ImportedMovie:
    owner = row.user_id if row.user_id in user_ids else NO_OWNER
    if owner == NO_OWNER:
        details = {"user_id": row.user_id, "title": row.title}
        changes.append(
            Change("movie_owner_missing", "movies", row.id, "kept without an owner", details)
        )
    created, updated = clock.times("movies", row.id, row.created_at, row.updated_at)
    return ImportedMovie(
        id=row.id,
        user_id=owner,
        title=_title(row, changes),
        description=_description(row, changes),
        release_date=row.release_date,
        created_at=created,
        updated_at=updated,
    )


def _title(row: MovieRow, changes: list[Change]) -> str:
    title = row.title.strip()
    if not title:
        details = {"old": row.title}
        changes.append(Change("title_blank", "movies", row.id, "stored as 'Untitled'", details))
        return "Untitled"
    if title != row.title:
        changes.append(_trimmed("movies", row.id, "title", row.title, title))
    return title


def _description(row: MovieRow, changes: list[Change]) -> str:
    if len(row.description) <= MAX_DESCRIPTION:
        return row.description
    changes.append(
        Change(
            "description_truncated",
            "movies",
            row.id,
            f"cut to its first {MAX_DESCRIPTION} characters",
            {"length": len(row.description), "original": row.description},
        )
    )
    return row.description[:MAX_DESCRIPTION]


# ---------------------------------------------------------------- ratings


def plan_ratings(
    rows: Iterable[RatingRow],
    user_ids: set[int],
    movie_ids: set[int],
    clock: Clock,
    changes: list[Change],
) -> list[ImportedRating]:
    """One per user and movie: the latest (highest id) of the acceptable rows."""
    latest: dict[tuple[int, int], RatingRow] = {}
    for row in rows:
        if row.movie_id not in movie_ids or row.user_id not in user_ids:
            details = {"movie_id": row.movie_id, "user_id": row.user_id, "rating": row.rating}
            changes.append(Change("rating_orphaned", "ratings", row.id, "dropped", details))
            continue
        assert row.movie_id is not None and row.user_id is not None
        if not 1 <= row.rating <= 10:
            details = {"movie_id": row.movie_id, "user_id": row.user_id, "rating": row.rating}
            changes.append(Change("rating_out_of_range", "ratings", row.id, "dropped", details))
            continue
        key = (row.movie_id, row.user_id)
        previous = latest.get(key)
        if previous is not None:
            older, newer = sorted((previous, row), key=lambda rating: rating.id)
            changes.append(_superseded(older, newer))
            row = newer
        latest[key] = row
    created, updated = clock.times("ratings", 0, None, None, report=False)
    return [
        ImportedRating(row.id, movie_id, user_id, row.rating, created, updated)
        for (movie_id, user_id), row in sorted(latest.items(), key=lambda pair: pair[1].id)
    ]


def _superseded(older: RatingRow, newer: RatingRow) -> Change:
    return Change(
        "rating_superseded",
        "ratings",
        older.id,
        f"dropped: rating {newer.id} of the same movie by the same user is later",
        {
            "movie_id": older.movie_id,
            "user_id": older.user_id,
            "rating": older.rating,
            "kept_id": newer.id,
            "kept_rating": newer.rating,
        },
    )
