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
    from chalicelib.storage import changes

    logs.configure()  # this function's Lambda imports this module, not app.py
    decoded = (
        changes.decode(record.event_name, record.keys or {}, record.sequence_number)
        for record in event
    )
    failed = _clean_up_sessions(event)
    for movie_id, group in changes.by_movie(c for c in decoded if c is not None).items():
        try:
            done = changes.apply(movie_id, group)
        except Exception:  # reported to Lambda, which retries from the first failed record
            log.exception("stream change failed", extra={"fields": {"movie_id": movie_id}})
            failed += [change.sequence_number for change in group]
        else:
            log.info(
                "stream change applied", extra={"fields": {"movie_id": movie_id, "done": done}}
            )
    return {"batchItemFailures": [{"itemIdentifier": number} for number in failed]}


def _clean_up_sessions(event: DynamoDBEvent) -> list[str]:
    """Delete the session items that ending sessions together left; the records that failed."""
    from chalicelib.storage import session_cleanup

    decoded = (
        session_cleanup.decode(record.event_name, record.keys or {}, record.sequence_number)
        for record in event
    )
    failed: list[str] = []
    for user_id, numbers in session_cleanup.by_user(decoded).items():
        try:
            deleted = session_cleanup.clean(user_id)
        except Exception:  # reported to Lambda, which retries from the first failed record
            log.exception("session cleanup failed", extra={"fields": {"user_id": user_id}})
            failed += numbers
        else:
            fields = {"user_id": user_id, "deleted": deleted}
            log.info("sessions cleaned up", extra={"fields": fields})
    return failed
