"""The table's stream handler: recounting list counters, cleaning up after deleted movies.

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

bp = Blueprint(__name__)
log = logging.getLogger("movies.streams")

STREAM_ARN = os.environ.get(
    "TABLE_STREAM_ARN",
    "arn:aws:dynamodb:us-east-1:000000000000:table/movies/stream/set-by-the-deploy-template",
)
# Lambda reads the stream this way on AWS; the local runner does the same, with a shorter
# window. A batch recounts each movie once, so the window bounds how often one movie's
# list copy (and the all-movies index) is written, and how far list items trail: at most
# the window plus the handler's run, well inside a minute.
BATCH_SIZE = 1000
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
    failed: list[str] = []
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
