"""The table's stream handler: recounting list counters, cleaning up after deleted movies
and after sessions ended together (``storage.session_cleanup``).

The event source mapping (the deploy template's, and ``make run``'s local
runner, ``devtools/stream_runner.py``) delivers batches of the records that
``storage.changes.FILTER_PATTERNS`` selects, gathered over
``BATCHING_WINDOW_SECONDS``. What each record means and what follows from it
is storage's (``chalicelib.storage.changes``); here the batch is grouped by
movie, each movie handled once, and the movies that failed reported back
(``batchItemFailures``), so Lambda retries from the first failed record
rather than the whole batch. Handling is idempotent, as redelivery needs.

Chalice needs the stream's ARN when the module is imported; the deploy
template replaces the placeholder with the table's real ``StreamArn``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chalice.app import Blueprint, DynamoDBEvent

from chalicelib import logs
from chalicelib.settings import refuse_to_start_if_misconfigured

# This function's Lambda imports this module, not app.py: it refuses a bad stage here too.
refuse_to_start_if_misconfigured()

bp = Blueprint(__name__)
log = logging.getLogger("movies.streams")

STREAM_ARN = os.environ.get(
    "TABLE_STREAM_ARN",
    "arn:aws:dynamodb:us-east-1:000000000000:table/movies/stream/set-by-the-deploy-template",
)
# Lambda reads the stream this way on AWS; the local runner does the same, with a shorter
# window. A batch recounts each movie once, so the window bounds how often one movie's
# list copy (and the all-movies index) is written, and how far list items trail: at most
# the window plus the handler's run, well inside a minute. That holds only while a batch
# does not fill before its window ends, so the batch is Lambda's largest for a stream:
# a stream shard follows one table partition, whose 1,000 WCU/s allow at most 250 rating
# changes a second (2 WCU each for the rating and its counter shard), so its filtered
# records (the shards' changes) reach 5,000 in a 20-second window, half a batch, and
# at about 500 bytes each stay far below the 6 MB an invocation may carry.
BATCH_SIZE = 10_000
BATCHING_WINDOW_SECONDS = 20
LOCAL_BATCHING_WINDOW_SECONDS = 1.0


@bp.on_dynamodb_record(
    stream_arn=STREAM_ARN,
    batch_size=BATCH_SIZE,
    starting_position="TRIM_HORIZON",
    maximum_batching_window_in_seconds=BATCHING_WINDOW_SECONDS,
    name="table_stream",
)
def on_table_change(event: DynamoDBEvent) -> dict[str, Any]:
    from chalicelib.storage import changes, session_cleanup

    logs.configure()  # this function's Lambda imports this module, not app.py
    records = [(record.event_name, record.keys or {}, record.sequence_number) for record in event]
    ended = session_cleanup.by_user(session_cleanup.decode(*record) for record in records)
    movies = changes.by_movie(
        change for change in (changes.decode(*record) for record in records) if change
    )
    failed = _each_once(ended, session_cleanup.clean, what="session cleanup", key="user_id")
    failed += _each_once(
        {
            movie_id: [change.sequence_number for change in group]
            for movie_id, group in movies.items()
        },
        lambda movie_id: changes.apply(movie_id, movies[movie_id]),
        what="stream change",
        key="movie_id",
    )
    return {"batchItemFailures": [{"itemIdentifier": number} for number in failed]}


def _each_once(
    groups: Mapping[int, Sequence[str]], handle: Callable[[int], object], *, what: str, key: str
) -> list[str]:
    """Run ``handle`` once per user or movie in ``groups``; the records of those that failed.

    A failure is logged with its trace and reported to Lambda, which retries
    from the first failed record; the others are done.
    """
    failed: list[str] = []
    for ident, numbers in groups.items():
        try:
            done = handle(ident)
        except Exception:  # reported back, not raised: the batch's other work stands
            log.exception(f"{what} failed", extra={"fields": {key: ident}})
            failed += numbers
        else:
            log.info(f"{what} done", extra={"fields": {key: ident, "done": done}})
    return failed
