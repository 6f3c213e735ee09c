"""The table's stream: cleaning up after a deleted movie.

Deleting a movie is one conditional DeleteItem, whatever it had: its
comments and ratings are removed here, asynchronously, when the stream
delivers the movie item's ``REMOVE``. Until then they are invisible: every
read of a movie's comments or ratings starts at the movie item and answers
404 without it, and every write to them checks that the movie exists.

Chalice needs the stream's ARN when the module is imported; the deploy
template replaces the placeholder with the table's real ``StreamArn``.
"""

from __future__ import annotations

import logging
import os

from chalice.app import Blueprint, DynamoDBEvent

from chalicelib import logs

bp = Blueprint(__name__)
log = logging.getLogger("movies.streams")

STREAM_ARN = os.environ.get(
    "TABLE_STREAM_ARN",
    "arn:aws:dynamodb:us-east-1:000000000000:table/movies/stream/set-by-the-deploy-template",
)
MOVIE_KIND = "movie"


@bp.on_dynamodb_record(stream_arn=STREAM_ARN, batch_size=25, name="table_stream")
def on_table_change(event: DynamoDBEvent) -> None:
    from chalicelib.storage.movies import delete_movie_children

    logs.configure()  # this function's Lambda imports this module, not app.py
    for record in event:
        old = record.old_image or {}
        if record.event_name != "REMOVE" or old.get("kind", {}).get("S") != MOVIE_KIND:
            continue
        movie_id = int(old["id"]["N"])
        deleted = delete_movie_children(movie_id)
        log.info(
            "movie children deleted", extra={"fields": {"movie_id": movie_id, "items": deleted}}
        )
