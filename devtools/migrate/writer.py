"""Writing a plan into the table: batched, a few batches at a time, resumable.

Phases run in order (users, movies, ratings, comments); each writes its
entities in the plan's order (by id), ``WINDOW_BATCHES`` batches at a time
on ``workers`` threads, and after each window records in the import's state
how many are written. A run that stops (killed, DynamoDB gone) leaves that
count behind; the next run starts there, and writes again what the
interrupted window may have written already. Every write is a put of the
whole item, so writing it again changes nothing: a resumed run ends where
a clean one does.

Throttling: botocore retries a throttled call (standard mode, with
backoff), ``store.put_items`` resends unprocessed items with backoff, and
``Transaction.commit`` retries cancelled transactions; what still fails
stops the run, to be resumed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from chalicelib.storage import imports
from chalicelib.storage.imports import ImportStateItem
from devtools.migrate import store
from devtools.migrate.plan import Plan

IMPORT_NAME = "seed"
WINDOW_BATCHES = 4  # per worker, between two progress records


class MigrationRefused(Exception):
    """The target is not one this migration may write into; nothing was written."""


@dataclass(frozen=True)
class Phase:
    name: str
    entities: Sequence[Any]
    per_call: int
    write: Callable[[Sequence[Any]], None]


def phases(plan: Plan) -> list[Phase]:
    ratings = plan.ratings_of()  # read only from here on, by the workers

    def movies(batch: Sequence[imports.ImportedMovie]) -> None:  # 33 items a movie, and its lists
        store.put_items([item for m in batch for item in imports.movie_items(m, ratings[m.id])])

    def ratings_batch(batch: Sequence[imports.ImportedRating]) -> None:
        store.put_items([imports.rating_item(r) for r in batch])

    def comments(batch: Sequence[imports.ImportedComment]) -> None:
        store.put_items([item for c in batch for item in imports.comment_items(c)])

    limit = store.BATCH_WRITE_LIMIT
    return [
        Phase("users", plan.users, store.BATCH_WRITE_LIMIT, store.put_users),
        Phase("movies", plan.movies, limit, movies),  # 25 movies: 33 full batches
        Phase("ratings", plan.ratings, limit, ratings_batch),
        Phase("comments", plan.comments, limit // 2, comments),  # a comment and its ref
    ]


def prepare(fingerprint: str, rows: int, now: dt.datetime, *, dry_run: bool) -> Any:
    """The import's state: found (a rerun), or begun now on an empty table.

    Refuses a table that holds anything this import did not write, and a
    rerun whose source is not the one the first run read (writes to the
    original were not frozen). A dry run begins nothing.
    """
    if dry_run and not store.table_exists():
        return None
    state = store.import_state(IMPORT_NAME)
    if state is None:
        if store.holds_other_items(IMPORT_NAME):
            raise MigrationRefused(
                "the table already holds items this migration did not write; "
                "migrate into a new table (TABLE_NAME)"
            )
        if dry_run:
            return None
        if not store.begin_import(IMPORT_NAME, fingerprint, rows, now):
            raise MigrationRefused("another migration into this table has just begun")
        state = store.import_state(IMPORT_NAME)
    elif state.fingerprint != fingerprint:
        raise MigrationRefused(
            f"the source has changed since the migration that began {state.started_at:%c}"
            " (were writes to the original frozen?); migrate into a new table"
        )
    return state


def write(
    plan: Plan,
    state: ImportStateItem,
    *,
    workers: int,
    progress: bool,
    now: Callable[[], dt.datetime],
) -> None:
    """Every phase from where the state says it got to; then mark the import complete."""
    steps = phases(plan)
    total = sum(len(step.entities) for step in steps)
    with (
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="migrate") as pool,
        tqdm(total=total, unit=" rows", disable=not progress, dynamic_ncols=True) as bar,
    ):
        for step in steps:
            bar.set_description(step.name)
            _write_phase(step, state, pool, workers, bar)
    store.complete_import(state, now())


def _write_phase(
    step: Phase, state: ImportStateItem, pool: ThreadPoolExecutor, workers: int, bar: Any
) -> None:
    done = state.done_in(step.name)
    bar.update(done)
    window = step.per_call * workers * WINDOW_BATCHES
    for start in range(done, len(step.entities), window):
        end = min(start + window, len(step.entities))
        batches = [
            step.entities[first : min(first + step.per_call, end)]
            for first in range(start, end, step.per_call)
        ]
        futures = [pool.submit(step.write, batch) for batch in batches]
        wait(futures)
        for future in futures:
            future.result()  # the first failure stops the run, after the window has settled
        bar.update(end - start)
        store.record_progress(state, step.name, end)
