"""The capacity model's arithmetic: key shapes, spreading, ceilings, the mapping, the baseline."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from bench.capacity import INDEX_KEY, ITEM, Charge
from bench.model import (
    MOVIE_KEY,
    SHARED_KEY,
    USER_KEY,
    Part,
    Sample,
    ceiling,
    identity,
    key_loads,
    shape,
    shared_keys,
    whose,
    zipf_shares,
)
from bench.scale import Workload, over_budget, ratio, read_parts
from bench.streams import StreamMapping, matches
from chalicelib import gateway

MOVIE_ID, USER_ID = 123456789012345, 100000000000007


def test_the_request_s_own_ids_become_placeholders_padded_or_not() -> None:
    key = f"MOVIE#{MOVIE_ID} / RATING#0{USER_ID}"
    assert identity(key, {"movie": MOVIE_ID, "user": USER_ID}) == "MOVIE#<movie> / RATING#<user>"


def test_other_digits_stay_in_the_key_and_become_n_in_its_shape() -> None:
    found = identity(f"MOVIE#{MOVIE_ID} / COUNT#07", {"movie": MOVIE_ID})
    assert (found, shape(found)) == ("MOVIE#<movie> / COUNT#07", "MOVIE#<movie> / COUNT#<n>")


@pytest.mark.parametrize(
    ("key_shape", "owner"),
    [
        ("MOVIE#<movie> / RATING#<user>", USER_KEY),
        ("MOVIE#<movie> / MOVIE", MOVIE_KEY),
        ("OWNER#<owner>", MOVIE_KEY),
        ("MOVIES#<n>", SHARED_KEY),
    ],
)
def test_a_shape_says_whose_load_a_key_carries(key_shape: str, owner: str) -> None:
    assert whose(key_shape) == owner


def rating(user: int, shard: int, movie: int = MOVIE_ID) -> Sample:
    return Sample(
        "first",
        {"movie": movie, "user": user},
        (
            Charge(ITEM, f"MOVIE#{movie} / RATING#{user}", 2),
            Charge(ITEM, f"MOVIE#{movie} / COUNT#{shard:02d}", 2),
            Charge(INDEX_KEY, "MOVIES", 1, index="gsi1"),
            Charge(INDEX_KEY, f"RATER#{user}", 1, index="gsi2"),
        ),
    )


def test_a_shape_s_load_is_spread_over_the_keys_seen_and_users_keys_go_at_their_own_rate() -> None:
    samples = [rating(10**14 + n, n % 4) for n in range(8)]

    loads = {load.shape: load for load in key_loads([Part(samples, 1_000)])}

    assert loads["MOVIE#<movie> / COUNT#<n>"].spread == 4
    assert loads["MOVIE#<movie> / COUNT#<n>"].wcu(1) == 1_000 * 2 / 4
    assert loads["gsi1 MOVIES"].wcu(1) == 1_000
    assert loads["MOVIE#<movie> / RATING#<user>"].wcu(user_rate=1) == 2
    assert loads["gsi2 RATER#<user>"].whose == USER_KEY
    assert loads["gsi2 RATER#<user>"].wcu(user_rate=3) == 3  # one entry a change, at her rate


def test_the_ceiling_is_where_the_busiest_key_reaches_its_limit_on_top_of_background() -> None:
    per_change = key_loads([Part([rating(10**14 + n, n % 4) for n in range(8)], 1)])
    background = key_loads([Part([rating(10**14, 0)], 200)])

    found = ceiling(per_change, background)

    assert found.key is not None and found.key.shape == "gsi1 MOVIES"
    assert found.rate == pytest.approx((1_000 - 200) / 1)
    assert ceiling([]).rate == math.inf


def test_a_key_written_for_two_movies_is_shared() -> None:
    samples = [rating(10**14 + 1, 0, movie=MOVIE_ID), rating(10**14 + 2, 1, movie=MOVIE_ID + 1)]
    assert sorted(shared_keys(samples)) == ["index key: gsi1 MOVIES"]


def test_a_key_one_user_writes_for_many_movies_is_hers_and_two_users_make_it_shared() -> None:
    her, his = 10**14 + 1, 10**14 + 2
    samples = [rating(her, 0, movie=MOVIE_ID + n) for n in range(3)]
    # Her changes alone cannot tell a shared key from hers: a recording needs other users too.
    assert shared_keys(samples) == {}
    theirs = [*samples, rating(his, 1, movie=MOVIE_ID + 5)]
    assert sorted(shared_keys(theirs)) == ["index key: gsi1 MOVIES"]  # not her RATER# key

    # Her key written by his change of another movie, or by the consumer: shared.
    his_writing_hers = replace(samples[0], ids={"movie": MOVIE_ID + 5, "user": his})
    consumer = Sample("stream consumer", {"movie": MOVIE_ID + 6}, samples[0].charges[-1:])
    for other in (his_writing_hers, consumer):
        assert f"index key: gsi2 RATER#{her}" in shared_keys([*samples, other])


def test_zipf_shares_add_up_and_fall_with_rank() -> None:
    shares = zipf_shares(10_000, 1.0)
    assert sum(shares) == pytest.approx(1)
    assert shares[0] == pytest.approx(1 / sum(1 / rank for rank in range(1, 10_001)))
    assert shares[0] > shares[1] > shares[-1]


# ---------------------------------------------------------------- the stream mapping


REMOVED_MOVIE = {"eventName": ["REMOVE"], "dynamodb": {"OldImage": {"kind": {"S": ["movie"]}}}}


def record(event: str, kind: str) -> dict[str, object]:
    return {"eventName": event, "dynamodb": {"OldImage": {"kind": {"S": kind}}}}


def test_a_filter_pattern_matches_nested_fields_by_value_prefix_and_existence() -> None:
    assert matches(REMOVED_MOVIE, record("REMOVE", "movie"))
    assert not matches(REMOVED_MOVIE, record("MODIFY", "movie"))
    assert not matches(REMOVED_MOVIE, record("REMOVE", "rating"))
    assert matches({"eventName": [{"prefix": "MOD"}]}, record("MODIFY", "x"))
    assert matches({"dynamodb": {"NewImage": [{"exists": False}]}}, record("REMOVE", "x"))
    assert not matches({"eventName": [{"anything-but": ["REMOVE"]}]}, record("REMOVE", "x"))
    with pytest.raises(ValueError, match="not modelled"):
        matches({"eventName": [{"numeric": [">", 0]}]}, record("REMOVE", "x"))


def test_a_movie_s_records_reach_the_consumer_once_per_window_at_most() -> None:
    windowed = StreamMapping("f", batch_size=1_000, window_seconds=20, filters=())
    unwindowed = StreamMapping("f", batch_size=100, window_seconds=0, filters=())

    assert windowed.batches_per_second(10_000) == 10  # the batch fills first
    assert windowed.batches_per_second(10) == 1 / 20
    assert windowed.batches_per_second(0.01) == 0.01
    assert unwindowed.batches_per_second(2) == 2
    assert unwindowed.batches_per_second(10_000) == 100


# ---------------------------------------------------------------- the baseline


def test_a_request_over_1_5x_its_baseline_is_flagged_unless_its_reason_is_documented() -> None:
    baseline = {"a": (1.0, 4), "b": (1.0, 4), "c": (0.0, 0), "d": (2.0, 2)}
    now = {"a": (1.0, 7), "b": (1.0, 6), "c": (0.5, 0), "d": (1.0, 2)}

    assert ratio(baseline["a"], now["a"]) == 1.75
    assert ratio(baseline["c"], now["c"]) == math.inf
    assert over_budget(now, baseline, {}) == ["a", "c"]
    assert over_budget(now, baseline, {"a": "the counter shards are written too"}) == ["c"]


def test_the_model_caches_the_reads_the_deploy_template_caches_with_its_ttl() -> None:
    workload = Workload()
    assert set(workload.cached_reads.values()) == {p for p, _ in gateway.CACHED_ROUTES}
    assert workload.cache_ttl_seconds == gateway.CACHE_TTL_SECONDS
    assert not {"detail", "average", "my movies page"} & set(workload.cached_reads)


def test_behind_the_cache_a_list_reaches_dynamodb_once_per_ttl_per_cached_answer() -> None:
    workload = Workload(cache_ttl_seconds=10, cache_keys_per_list=100)
    assert workload.cache_misses("movies page", 45_000) == 10
    assert workload.cache_misses("movies page", 3) == 3  # fewer readers than answers
    assert workload.cache_misses("detail", 6_000) == 6_000  # not cached: every read


def test_the_shared_list_s_reads_are_scaled_by_its_cache_misses() -> None:
    sample = Sample("movies page", {"movie": MOVIE_ID}, (Charge(INDEX_KEY, "MOVIES#0", 0, 1),))
    parts = read_parts([sample], Workload(), app_wide=True)
    [part] = [part for part in parts if part.samples]
    assert part.rate == Workload().cache_keys_per_list / Workload().cache_ttl_seconds
