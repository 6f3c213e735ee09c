"""Deleting a movie removes its comments and ratings, via the table's stream."""

from __future__ import annotations

from typing import Any

import boto3

from chalicelib.settings import get_settings
from chalicelib.storage.table import (
    CommentItem,
    CommentRefItem,
    MovieItem,
    RatingItem,
    TableItem,
    utcnow,
)
from tests.conftest import Api, CallCounter, User, body


def add_children(movie_id: int, ids: range) -> None:
    """Ratings and comments (with refs) written straight into the table."""
    now = utcnow()
    with TableItem.batch_write() as batch:
        for n in ids:
            batch.save(
                RatingItem(
                    *RatingItem.key(movie_id, n),
                    id=n,
                    movie_id=movie_id,
                    user_id=n,
                    rating=5,
                    created_at=now,
                    updated_at=now,
                    lsi1sk=RatingItem.order_key(n, now),
                )
            )
            _, sk = CommentItem.path_key(movie_id, [], n)
            batch.save(
                CommentItem(
                    *CommentItem.path_key(movie_id, [], n),
                    id=n,
                    movie_id=movie_id,
                    user_id=n,
                    comment_text="hello",
                    created_at=now,
                    updated_at=now,
                )
            )
            batch.save(
                CommentRefItem(*CommentRefItem.key(n), movie_id=movie_id, comment_sk=sk, user_id=n)
            )


def stream_records() -> list[dict[str, Any]]:
    """Every record moto's stream holds for the table, shaped as Lambda gets them."""
    table = boto3.client("dynamodb").describe_table(TableName=get_settings().table_name)
    stream_arn = table["Table"]["LatestStreamArn"]
    # botocore now defaults to account-based stream endpoints, which moto does not route.
    streams = boto3.client(
        "dynamodbstreams", endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com"
    )
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for record in streams.get_records(ShardIterator=iterator)["Records"]:
            created = record["dynamodb"].get("ApproximateCreationDateTime")
            record["dynamodb"]["ApproximateCreationDateTime"] = (
                created.timestamp() if created else 0
            )
            record.setdefault("eventSourceARN", stream_arn)
            records.append(record)
    return records


def remaining(movie_id: int) -> list[TableItem]:
    partition = MovieItem.key(movie_id)[0]
    return list(TableItem.query(partition, consistent_read=True))


def test_deleting_a_movie_leaves_no_orphans_once_the_stream_runs(
    api: Api, alice: User, dynamodb_calls: CallCounter
) -> None:
    movie = body(api.post("/movies", {"title": "Doomed"}, token=alice.token))
    keeper = body(api.post("/movies", {"title": "Keeper"}, token=alice.token))
    add_children(movie["id"], range(1, 31))
    add_children(keeper["id"], range(100, 102))

    dynamodb_calls.reset()
    assert api.delete(f"/movies/{movie['id']}", token=alice.token).status_code == 204
    assert dynamodb_calls.total == 1  # one DeleteItem, whatever the movie had

    assert api.get(f"/movies/{movie['id']}").status_code == 404
    result = api.client.lambda_.invoke("table_stream", {"Records": stream_records()})
    assert result.payload is None

    assert remaining(movie["id"]) == []
    refs = [CommentRefItem.key(n) for n in [*range(1, 31), 100, 101]]
    assert [ref for ref in refs if TableItem.count(ref[0])] == refs[-2:]  # the keeper's
    assert len(remaining(keeper["id"])) == 1 + 2 + 2  # the other movie is untouched


def test_the_stream_handler_ignores_everything_but_removed_movies(api: Api, alice: User) -> None:
    movie = body(api.post("/movies", {"title": "Stays"}, token=alice.token))
    add_children(movie["id"], range(1, 4))
    api.patch(f"/movies/{movie['id']}", {"title": "Still here"}, token=alice.token)
    api.client.lambda_.invoke("table_stream", {"Records": stream_records()})
    assert len(remaining(movie["id"])) == 1 + 3 + 3
