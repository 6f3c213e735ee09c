"""``python -m devtools.backfill`` (``make backfill``): bring existing items up to this version.

Run once after deploying a version whose items carry something older ones
lack (the README's upgrade notes say which). Each thing is a ``Step`` in
``STEPS``, run in order, each printing how many items it changed:

* profiles: a user profile written before sessions were listed on it has
  no ``sessions`` map, which its user's first login would otherwise make,
  at two more calls (``storage.sessions.start_listing``);
* ratings: a rating written before users' lists of ratings existed has no
  GSI2 keys (``RATER#<user>``), so it is missing from its rater's
  ``GET /users/me/ratings`` until it gets them
  (``storage.ratings.list_under_rater``);
* movies: a movie written before the ranked lists and search existed has no
  list entries, so it is in none of them until the stream next syncs it;
  this syncs every movie (``storage.listings.sync``): a movie whose entries
  are already in step costs its two reads and writes nothing.

A step is a parallel Scan of the items that lack the thing (movies: of
every movie), reading only what the fix needs, and a fix per item that a
rerun, or a race with the API or the stream, cannot make wrong: a
conditional UpdateItem whose condition is that the item exists and still
lacks it, or (movies) a sync, which makes the entries what the movie item
says at that moment and checks it did not change meanwhile. The Scan is
this operator's tool's: no deployed function is allowed one. A new step
is one more entry in ``STEPS``.

The target is the one ``make run`` uses: ``AWS_ENDPOINT_URL_DYNAMODB``
(unset: AWS itself), ``TABLE_NAME``, ``AWS_REGION``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from chalicelib.storage import listings, ratings, sessions
from chalicelib.storage.table import MovieItem, RatingItem, UserItem

SEGMENTS = 4
KEYS = ["pk", "sk", "kind"]


@dataclass(frozen=True)
class Step:
    """One thing to bring up to date: what it reports, and how it does one Scan segment.

    ``segment(segment, segments)`` fixes the items of that Scan segment
    that need it and returns how many it changed.
    """

    name: str
    segment: Callable[[int, int], int]


def profiles_without_sessions(segment: int, segments: int) -> Iterator[int]:
    """The ids of the profiles in one Scan segment that have no ``sessions`` map."""
    for profile in UserItem.scan(
        UserItem.sessions.does_not_exist(),
        segment=segment,
        total_segments=segments,
        attributes_to_get=[*KEYS, "id"],
    ):
        yield profile.id


def list_sessions(segment: int, segments: int) -> int:
    return sum(
        sessions.start_listing(user_id) for user_id in profiles_without_sessions(segment, segments)
    )


def ratings_without_rater_keys(segment: int, segments: int) -> Iterator[RatingItem]:
    """The ratings in one Scan segment that are in no rater's list (no ``gsi2pk``)."""
    yield from RatingItem.scan(
        RatingItem.gsi2pk.does_not_exist(),
        segment=segment,
        total_segments=segments,
        attributes_to_get=[*KEYS, "id", "user_id"],
    )


def list_ratings_under_raters(segment: int, segments: int) -> int:
    return sum(
        ratings.list_under_rater(rating) for rating in ratings_without_rater_keys(segment, segments)
    )


def movie_ids(segment: int, segments: int) -> Iterator[int]:
    """The ids of every movie in one Scan segment."""
    for movie in MovieItem.scan(
        segment=segment, total_segments=segments, attributes_to_get=[*KEYS, "id"]
    ):
        yield movie.id


def sync_movies(segment: int, segments: int) -> int:
    return sum(listings.sync(movie_id) > 0 for movie_id in movie_ids(segment, segments))


PROFILES = Step("profiles given a sessions map", list_sessions)
RATINGS = Step("ratings added to their rater's list", list_ratings_under_raters)
MOVIES = Step("movies whose list entries were brought in step", sync_movies)
STEPS: tuple[Step, ...] = (PROFILES, RATINGS, MOVIES)


def run_step(step: Step, segments: int = SEGMENTS) -> int:
    """One step over the whole table, its Scan segments in parallel; how many items it changed."""
    with ThreadPoolExecutor(max_workers=segments) as pool:
        return sum(pool.map(step.segment, range(segments), [segments] * segments))


def backfill(segments: int = SEGMENTS, steps: Sequence[Step] = STEPS) -> dict[str, int]:
    """Every step, in order: how many items each changed, by the step's name."""
    return {step.name: run_step(step, segments) for step in steps}


def main() -> int:
    for step in STEPS:
        sys.stdout.write(f"{step.name}: {run_step(step)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
