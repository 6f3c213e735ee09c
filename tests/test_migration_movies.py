"""Migrated movies, ratings and comments: exact ids and counters, threads kept in shape.

The original's database runs in a throwaway cluster (tests/helpers/pgcluster.py)
and holds every awkward case its data may (tests/helpers/original_data.py); the
migration writes into the tests' moto table, and everything is checked
through the API as a client would see it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib.storage import changes
from chalicelib.storage.table import COUNTER_SHARDS, CounterShardItem
from devtools.migrate.report import Report
from devtools.stream_runner import StreamRunner
from tests.helpers.api import Api, body
from tests.helpers.migration import SERIAL_MAX, token
from tests.helpers.original_data import DEEP_THREAD, World
from tests.helpers.snapshots import table_items

# ---------------------------------------------------------------- movies and ratings


def test_ids_counters_and_averages_are_exact(api: Api, migrated: tuple[World, Report]) -> None:
    world, _ = migrated
    rated = world.movies["rated"]
    average = api.get(f"/movies/{rated}/ratings/average")
    assert body(average) == {"average_rating": 8.5, "rating_count": 2}  # 9 (latest) and 8
    detail = body(api.get(f"/movies/{rated}"))
    assert (detail["id"], detail["user_id"], detail["rating_count"]) == (
        rated,
        world.users["ada"].id,
        2,
    )
    ratings = body(api.get(f"/movies/{rated}/ratings"))
    assert sorted((r["user_id"], r["rating"]) for r in ratings) == sorted(
        [(world.users["ada"].id, 9), (world.users["grace hopper"].id, 8)]
    )
    assert all(r["created_at"].startswith("2025-02-03T04:05:06.789") for r in ratings)


def _shards(movie_id: int) -> dict[str, tuple[int, ...]]:
    """The movie's counter shards by number: (rating_count, rating_sum, changes)."""
    items = table_items()
    prefix = CounterShardItem.PREFIX
    return {
        sk.removeprefix(prefix): tuple(int(item[name]["N"]) for name in COUNTED)
        for (pk, sk), item in items.items()
        if pk == f"MOVIE#{movie_id}" and sk.startswith(prefix)
    }


COUNTED = ("rating_count", "rating_sum", "changes")


def test_counter_shards_hold_the_ratings_as_if_each_user_had_rated_through_the_api(
    api: Api, migrated: tuple[World, Report]
) -> None:
    """The same shards, counts and version as the same users rating a new movie."""
    world, _ = migrated
    rated = world.movies["rated"]
    migrated_shards = _shards(rated)
    assert len(migrated_shards) == COUNTER_SHARDS
    ada = token(api, "ada", "ada's old password")
    hopper = token(api, "grace_hopper", "cobol cobol")
    fresh = body(api.post("/movies", {"title": "Rated again"}, token=ada))["id"]
    for who, value in ((ada, 9), (hopper, 8)):
        assert api.post(f"/movies/{fresh}/ratings", {"rating": value}, token=who).status_code in (
            200,
            201,
        )
    assert migrated_shards == _shards(fresh)
    movie = table_items()[(f"MOVIE#{rated}", "MOVIE")]
    copy = [int(movie[name]["N"]) for name in ("rating_count", "rating_sum", "counted_version")]
    assert copy == [2, 17, 2]


def test_the_lists_copy_is_the_one_the_stream_would_write(
    api: Api, migrated: tuple[World, Report], stream: StreamRunner
) -> None:
    world, _ = migrated
    before = table_items()
    stream.drain()
    assert table_items() == before
    assert not any(changes.recount(movie_id) for movie_id in world.movies.values())
    page = body(api.get("/movies?limit=100"))["data"]
    for movie in page:
        exact = body(api.get(f"/movies/{movie['id']}/ratings/average"))
        assert (movie["rating_count"], movie["average_rating"]) == (
            exact["rating_count"],
            exact["average_rating"],
        )


def test_migrated_ratings_change_and_go_and_the_lists_follow_after_the_stream(
    api: Api, migrated: tuple[World, Report], stream: StreamRunner
) -> None:
    world, _ = migrated
    rated = world.movies["rated"]
    ada = token(api, "ada", "ada's old password")
    hopper = token(api, "grace_hopper", "cobol cobol")
    assert api.post(f"/movies/{rated}/ratings", {"rating": 3}, token=ada).status_code in (200, 201)
    assert api.delete(f"/movies/{rated}/ratings", token=hopper).status_code in (200, 204)
    average = body(api.get(f"/movies/{rated}/ratings/average"))
    assert average == {"average_rating": 3.0, "rating_count": 1}
    assert all(min(shard) >= 0 for shard in _shards(rated).values())
    stream.drain()
    [listed] = [m for m in body(api.get("/movies?limit=100"))["data"] if m["id"] == rated]
    assert (listed["rating_count"], listed["average_rating"]) == (1, 3.0)
    deleted_again = api.delete(f"/movies/{rated}/ratings", token=hopper)
    assert (deleted_again.status_code, body(deleted_again)) == (
        404,
        {"detail": "Rating not found"},
    )


def test_a_migrated_users_ratings_list_newest_first_as_the_original_numbered_them(
    api: Api, migrated: tuple[World, Report]
) -> None:
    """The original stored no rating times: its ids, handed out in order, are the order."""
    world, _ = migrated
    ada = token(api, "ada", "ada's old password")
    response = api.get("/users/me/ratings?limit=1", token=ada)
    assert response.status_code == 200
    rest = api.get(
        f"/users/me/ratings?limit=1&cursor={response.headers['X-Next-Cursor']}", token=ada
    )
    listed = body(response) + body(rest)
    assert [(r["movie_id"], r["rating"]) for r in listed] == [
        (world.movies["no owner"], 6),
        (world.movies["rated"], 9),  # her latest of three
    ]
    assert listed[0]["id"] > listed[1]["id"]
    assert "X-Next-Cursor" not in rest.headers
    fresh = body(
        api.post(f"/movies/{world.movies['gone owner']}/ratings", {"rating": 7}, token=ada)
    )
    assert [r["id"] for r in body(api.get("/users/me/ratings", token=ada))] == [
        fresh["id"],
        *(r["id"] for r in listed),
    ]


def test_ratings_the_api_would_refuse_are_dropped_and_reported(
    migrated: tuple[World, Report],
) -> None:
    _, report = migrated
    kinds = [c.kind for c in report.changes if c.table == "ratings"]
    assert sorted(kinds) == sorted(
        ["rating_superseded"] * 2 + ["rating_out_of_range"] * 2 + ["rating_orphaned"] * 2
    )


def test_movies_without_an_owner_are_kept_and_nobody_can_edit_them(
    api: Api, migrated: tuple[World, Report]
) -> None:
    world, _ = migrated
    for role in ("no owner", "gone owner"):
        movie = body(api.get(f"/movies/{world.movies[role]}"))
        assert movie["user_id"] == 0
    ada = token(api, "ada", "ada's old password")
    answer = api.put(f"/movies/{world.movies['no owner']}", {"title": "Mine now"}, token=ada)
    assert (answer.status_code, body(answer)) == (
        403,
        {"detail": "Not authorized to modify this movie"},
    )


def test_lists_answer_newest_first_with_every_movie(
    api: Api, migrated: tuple[World, Report]
) -> None:
    world, _ = migrated
    page = body(api.get("/movies?limit=100"))
    assert [m["id"] for m in page["data"]] == sorted(world.movies.values(), reverse=True)
    titles = {m["id"]: m["title"] for m in page["data"]}
    assert titles[world.movies["blank"]] == "Untitled"
    assert titles[world.movies["no times"]] == "No Timestamps"
    mine = body(api.get("/movies/user", token=token(api, "ada", "ada's old password")))
    assert [m["id"] for m in mine["data"]] == [world.movies["rated"]]


# ---------------------------------------------------------------- comments


def _walk(threads: list[dict[str, Any]], depth: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    for comment in threads:
        yield depth, comment
        yield from _walk(comment["replies"], depth + 1)


def test_threads_keep_their_shape_within_the_depth_cap(
    api: Api, migrated: tuple[World, Report]
) -> None:
    world, _ = migrated
    threads = body(api.get(f"/movies/{world.movies['rated']}/comments?limit=100"))
    found = {comment["id"]: (depth, comment) for depth, comment in _walk(threads)}
    first = found[world.comments["first"]][1]
    assert [r["id"] for r in first["replies"]] == [world.comments["reply"]]
    assert found[world.comments["reply to reply"]][0] == 2
    chain = world.deep_chain
    assert [found[cid][0] for cid in chain] == [min(d, 32) for d in range(DEEP_THREAD)]
    assert found[chain[-1]][1]["parent_comment_id"] == chain[31]
    assert found[world.comments["dangling"]][0] == 0
    assert found[world.comments["anonymous"]][1]["user_id"] is None
    assert len(found[world.comments["long"]][1]["comment_text"]) == 2000
    assert found[world.comments["short"]][1]["comment_text"] == "k"
    loops = [found[world.comments[name]] for name in ("loop_a", "loop_b")]
    assert [depth for depth, _ in loops] == [0, 1]
    assert world.comments["lost"] not in found and world.comments["other movie"] not in found
    elsewhere = body(api.get(f"/movies/{world.movies['no owner']}/comments"))
    assert [c["id"] for c in elsewhere] == [world.comments["other movie"]]


def test_replies_to_migrated_comments_work(api: Api, migrated: tuple[World, Report]) -> None:
    world, _ = migrated
    ada = token(api, "ada", "ada's old password")
    reply = api.post(
        f"/comments/{world.comments['reply to reply']}/replies", {"comment_text": "hi"}, token=ada
    )
    assert reply.status_code == 200, reply.body
    assert body(reply)["id"] > SERIAL_MAX
    # Ada owns the movie, so she may delete another's comment; it has replies: a tombstone.
    deleted = api.delete(f"/comments/{world.comments['reply']}", token=ada)
    assert (deleted.status_code, body(deleted)) == (200, {"message": "success"})
    threads = body(api.get(f"/movies/{world.movies['rated']}/comments?limit=100"))
    [tombstone] = next(c for c in threads if c["id"] == world.comments["first"])["replies"]
    assert (tombstone["deleted"], len(tombstone["replies"])) == (True, 1)
    stranger = token(api, "linus", "penguins!")
    refused = api.delete(f"/comments/{world.comments['first']}", token=stranger)
    assert (refused.status_code, body(refused)) == (
        403,
        {"detail": "Not authorized to delete this comment"},
    )
