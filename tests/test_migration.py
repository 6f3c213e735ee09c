"""``make migrate-seed`` end to end: a real PostgreSQL shaped like the original, then HTTP.

The original's database runs in a throwaway cluster (tests/helpers/pgcluster.py)
and holds every awkward case its data may (tests/helpers/original_data.py); the
migration writes into the tests' moto table, and everything is checked
through the API as a client would see it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import security
from chalicelib.storage import changes, engine
from chalicelib.storage.table import COUNTER_SHARDS, CounterShardItem
from devtools.dynamodb import start_moto_server
from devtools.migrate import Options, migrate, source, writer
from devtools.migrate.report import KINDS, Report
from devtools.stream_runner import StreamRunner
from tests.helpers.api import Api, CallCounter, body, user_payload
from tests.helpers.original_data import DEEP_THREAD, OriginalDatabase, World, build_world
from tests.helpers.pgcluster import cluster
from tests.helpers.snapshots import table_items
from tests.helpers.table import create_table, dynamodb_client

START = dt.datetime(2025, 2, 3, 4, 5, 6, 789000, tzinfo=dt.UTC)
SERIAL_MAX = 2**31 - 1


@pytest.fixture(scope="module")
def original() -> Iterator[tuple[str, World]]:
    url = cluster().new_database()
    db = OriginalDatabase(url)
    try:
        yield url, build_world(db)
    finally:
        db.close()


def run(url: str, **options: Any) -> Report:
    return migrate(source.read(url), Options(now=lambda: START, **options))


@pytest.fixture
def migrated(original: tuple[str, World]) -> tuple[World, Report]:
    url, world = original
    return world, run(url)


def login(api: Api, username: str, password: str) -> Any:
    return api.post("/login", {"username": username, "password": password})


def token(api: Api, username: str, password: str) -> str:
    answer = login(api, username, password)
    assert answer.status_code == 200, (username, answer.body)
    return str(body(answer)["access_token"])


# ---------------------------------------------------------------- users


def test_every_user_logs_in_with_their_old_password(
    api: Api, migrated: tuple[World, Report]
) -> None:
    world, report = migrated
    renamed = {c.id: c.details["new"] for c in report.changes if c.kind == "username_renamed"}
    for role, user in world.users.items():
        if user.password is None:
            continue
        name = renamed.get(user.id, user.username)
        me = api.get("/users/me", token=token(api, name, user.password))
        assert me.status_code == 200, role
        assert body(me)["id"] == user.id


def test_renamed_users_log_in_with_their_email_too(
    api: Api, migrated: tuple[World, Report]
) -> None:
    world, report = migrated
    renamed = {c.id: c.details for c in report.changes if c.kind == "username_renamed"}
    assert {details["old"]: details["new"] for details in renamed.values()} == {
        "Ada": "Ada-2",
        "grace hopper": "grace_hopper",
        "Zoë": "Zoe",
        "bo": "bo_6",
        "al@home": "al_home",
    }
    for user in world.users.values():
        if user.id in renamed and user.password is not None:
            assert login(api, user.email, user.password).status_code == 200, user.username
            old_name = login(api, user.username, user.password)
            assert old_name.status_code in (401, 422), user.username


def test_an_email_taken_ignoring_case_goes_to_the_renamed_user(
    api: Api, migrated: tuple[World, Report]
) -> None:
    world, report = migrated
    hopper, grace = world.users["grace hopper"], world.users["grace"]
    [replaced] = [c for c in report.changes if c.kind == "email_replaced"]
    assert (replaced.id, replaced.details["kept_by_user"]) == (grace.id, hopper.id)
    assert login(api, "GRACE@example.com", "cobol cobol").status_code == 200
    me = api.get("/users/me", token=token(api, "grace", "another grace"))
    assert body(me)["email"] == f"user-{grace.id}@migrated.invalid"
    wrong = login(api, "grace@example.com", "another grace")
    assert (wrong.status_code, body(wrong)) == (401, {"detail": "Incorrect username or password"})


def test_a_password_longer_than_72_bytes_still_works(
    api: Api, migrated: tuple[World, Report]
) -> None:
    zoe = migrated[0].users["zoë"]
    assert zoe.password is not None and len(zoe.password.encode()) > 72
    assert login(api, "Zoe", zoe.password).status_code == 200
    assert login(api, "Zoe", zoe.password).status_code == 200  # after the rehash too


def test_a_hash_that_is_not_bcrypt_lets_nobody_in_and_is_reported(
    api: Api, migrated: tuple[World, Report]
) -> None:
    world, report = migrated
    broken = world.users["no hash"]
    assert any(c.kind == "password_hash_unrecognised" and c.id == broken.id for c in report.changes)
    answer = login(api, "broken", "not-a-hash")
    assert (answer.status_code, body(answer)) == (401, {"detail": "Incorrect username or password"})


def test_profiles_are_cleaned_as_the_api_would_store_them(
    api: Api, migrated: tuple[World, Report]
) -> None:
    linus = body(api.get("/users/me", token=token(api, "linus", "penguins!")))
    assert (linus["first_name"], linus["phone_number"]) == ("Linus", "+12345678901")
    margaret = body(api.get("/users/me", token=token(api, "margaret", "apollo11")))
    assert margaret["phone_number"] == "7544"


def test_users_local_timestamps_become_utc(api: Api, migrated: tuple[World, Report]) -> None:
    winter = body(api.get("/users/me", token=token(api, "winter", "snow snow")))
    assert winter["created_at"].startswith("2024-01-15T14:00:00")  # 09:00 EST
    assert winter["updated_at"].startswith("2024-07-01T13:00:00")  # 09:00 EDT
    ada = body(api.get("/users/me", token=token(api, "linus", "penguins!")))
    created = dt.datetime.fromisoformat(ada["created_at"].replace("Z", "+00:00"))
    assert abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(minutes=10)


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


# ---------------------------------------------------------------- ids


def test_new_ids_never_collide_with_migrated_ones(api: Api, migrated: tuple[World, Report]) -> None:
    assert engine.new_id() > SERIAL_MAX
    epoch_plus_2_19_ms = engine.ID_EPOCH_MS + 2**19  # 2024-01-01T00:08:44.288Z
    assert (2**19) << engine.ID_RANDOM_BITS == 2**31 and epoch_plus_2_19_ms < 1_704_067_800_000
    created = api.post("/signup", user_payload("newcomer"))
    assert body(created)["id"] > SERIAL_MAX
    ada = token(api, "ada", "ada's old password")
    movie = api.post("/movies", {"title": "New"}, token=ada)
    assert body(movie)["id"] > SERIAL_MAX


# ---------------------------------------------------------------- report, reruns


def test_the_report_lists_every_change(migrated: tuple[World, Report], tmp_path: Path) -> None:
    world, report = migrated
    assert report.outcome == "complete"
    assert report.counts["users"] == {"read": len(world.users), "stored": len(world.users)}
    assert report.counts["comments"]["read"] - report.counts["comments"]["stored"] == 2
    expected = set(KINDS) - {"email_invalid", "timestamp_order", "name_blank"}
    assert expected <= set(report.by_kind())
    path = tmp_path / "report.json"
    report.write(path)
    assert path.stat().st_mode & 0o777 == 0o600
    saved = json.loads(path.read_text())
    assert len(saved["changes"]) == len(report.changes)
    assert "every change, row by row" in report.summary(path)


def test_a_dry_run_writes_nothing(original: tuple[str, World]) -> None:
    url, _ = original
    report = run(url, dry_run=True)
    assert report.outcome == "dry run" and report.changes
    assert table_items() == {}


def test_running_twice_changes_nothing_the_second_time(original: tuple[str, World]) -> None:
    url, _ = original
    run(url)
    first = table_items()
    second = run(url)
    assert second.outcome.startswith("already complete")
    assert table_items() == first


def test_a_run_that_stops_half_way_resumes_to_the_clean_result(
    original: tuple[str, World],
) -> None:
    url, _ = original
    run(url, workers=2)
    clean = table_items()
    _fresh_table()
    calls = {"n": 0}

    def crash_after_some_batches(**_: Any) -> None:
        calls["n"] += 1
        if calls["n"] > 3:
            raise ConnectionAbortedError("the migration's machine went away")

    events = engine.connection().client.meta.events
    events.register("before-call.dynamodb.BatchWriteItem", crash_after_some_batches)
    with pytest.raises(ConnectionAbortedError):
        run(url, workers=2)
    events.unregister("before-call.dynamodb.BatchWriteItem", crash_after_some_batches)
    half = table_items()
    assert 0 < len(half) < len(clean)
    assert run(url, workers=2).outcome == "complete"
    assert table_items() == clean


def test_a_table_with_other_data_is_refused(api: Api, original: tuple[str, World]) -> None:
    url, _ = original
    assert api.post("/signup", user_payload("ada")).status_code == 200
    before = table_items()
    with pytest.raises(writer.MigrationRefused, match="did not write"):
        run(url)
    assert table_items() == before


def _fresh_table() -> None:
    dynamodb_client().delete_table(TableName=os.environ["TABLE_NAME"])
    create_table()


def test_make_migrate_seed_dry_run_prints_the_summary(
    original: tuple[str, World], tmp_path: Path
) -> None:
    url, _ = original
    report = tmp_path / "report.json"
    server, endpoint = start_moto_server()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DRY_RUN": "1",
        "REPORT": str(report),
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "TABLE_NAME": "not-created-by-a-dry-run",
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "devtools.migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        tables = dynamodb_client().list_tables()["TableNames"]
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert "dry run: nothing written" in done.stdout
    assert "username_renamed" in done.stdout
    assert json.loads(report.read_text())["dry_run"] is True
    assert "not-created-by-a-dry-run" not in tables


def test_make_migrate_seed_without_a_database_says_so() -> None:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "devtools.migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "DATABASE_URL is required" in done.stderr


# ---------------------------------------------------------------- passwords


def _hashes(user_id: int, username: str, email: str) -> list[str]:
    items = table_items()
    keys = [(f"USER#{user_id}", "PROFILE"), (f"USERNAME#{username}", "USERNAME")]
    keys.append((f"EMAIL#{email.lower()}", "EMAIL"))
    return [items[key]["password_hash"]["S"] for key in keys]


def test_the_first_login_replaces_bcrypt_with_argon2id_in_two_calls(
    api: Api, migrated: tuple[World, Report], dynamodb_calls: CallCounter
) -> None:
    ada = migrated[0].users["ada"]
    assert all(h.startswith("$2b$12$") for h in _hashes(ada.id, "ada", ada.email))
    dynamodb_calls.reset()
    assert login(api, "ada", "ada's old password").status_code == 200
    assert dynamodb_calls.calls == {"BatchGetItem": 1, "TransactWriteItems": 1}
    assert all(h.startswith("$argon2id$") for h in _hashes(ada.id, "ada", ada.email))
    claims = [table_items()[key] for key in _claim_keys("ada", ada.email)]
    assert [("username" in claim, "email" in claim) for claim in claims] == [(False, False)] * 2
    dynamodb_calls.reset()
    assert login(api, "ada@example.com", "ada's old password").status_code == 200
    assert dynamodb_calls.calls == {"BatchGetItem": 1, "TransactWriteItems": 1}
    assert all(h.startswith("$argon2id$") for h in _hashes(ada.id, "ada", ada.email))


def _claim_keys(username: str, email: str) -> list[tuple[str, str]]:
    return [(f"USERNAME#{username}", "USERNAME"), (f"EMAIL#{email.lower()}", "EMAIL")]


def _replace_hash_before_the_login_writes(
    user_id: int, username: str, email: str, password: str
) -> Any:
    """A hook: the first time login sends its transaction, another request replaces the hash."""
    done: list[bool] = []
    new_hash = security.hash_password(password)

    def replace(**_: Any) -> None:
        if done:
            return
        done.append(True)
        profile = ((f"USER#{user_id}", "PROFILE"), "SET password_hash = :h")
        claims = [
            (key, "SET password_hash = :h REMOVE username, email")
            for key in _claim_keys(username, email)
        ]
        for (pk, sk), expression in [profile, *claims]:
            dynamodb_client().update_item(
                TableName=os.environ["TABLE_NAME"],
                Key={"pk": {"S": pk}, "sk": {"S": sk}},
                UpdateExpression=expression,
                ExpressionAttributeValues={":h": {"S": new_hash}},
            )

    return replace


def test_two_first_logins_at_once_both_get_in(
    api: Api, migrated: tuple[World, Report], dynamodb_calls: CallCounter
) -> None:
    """The login whose upgrade lost checks the password against the winner's hash."""
    ada = migrated[0].users["ada"]
    events = engine.connection().client.meta.events
    hook = _replace_hash_before_the_login_writes(ada.id, "ada", ada.email, "ada's old password")
    events.register("before-call.dynamodb.TransactWriteItems", hook)
    dynamodb_calls.reset()
    try:
        answer = login(api, "ada", "ada's old password")
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", hook)
    assert answer.status_code == 200, answer.body
    assert dynamodb_calls.calls == {"BatchGetItem": 2, "TransactWriteItems": 2}
    me = api.get("/users/me", token=body(answer)["access_token"])
    assert body(me)["id"] == ada.id


def test_a_password_changed_during_the_first_login_starts_no_session(
    api: Api, migrated: tuple[World, Report]
) -> None:
    ada = migrated[0].users["ada"]
    events = engine.connection().client.meta.events
    hook = _replace_hash_before_the_login_writes(ada.id, "ada", ada.email, "a brand new password")
    events.register("before-call.dynamodb.TransactWriteItems", hook)
    try:
        answer = login(api, "ada", "ada's old password")
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", hook)
    assert (answer.status_code, body(answer)) == (401, {"detail": "Incorrect username or password"})
    assert not [key for key in table_items() if key[1].startswith("SESSION#")]
    assert login(api, "ada", "a brand new password").status_code == 200


def test_after_failed_logins_the_upgrade_also_forgets_them_in_the_same_write(
    api: Api, migrated: tuple[World, Report], dynamodb_calls: CallCounter
) -> None:
    assert login(api, "linus", "wrong password").status_code == 401
    dynamodb_calls.reset()
    assert login(api, "linus", "penguins!").status_code == 200
    assert dynamodb_calls.calls == {"BatchGetItem": 1, "TransactWriteItems": 1}
    assert not [key for key in table_items() if key[0].startswith("LOGIN#")]


def test_wrong_or_odd_passwords_against_bcrypt_are_401(
    api: Api, migrated: tuple[World, Report]
) -> None:
    for password in ("ada's old passworD", "ada\x00", "", "é" * 100):
        answer = login(api, "ada", password)
        assert (answer.status_code, body(answer)) == (
            401,
            {"detail": "Incorrect username or password"},
        ), password
