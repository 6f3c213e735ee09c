"""``python -m bench.scale`` (``make bench-scale``): the capacity model, as Markdown.

It runs the real app in-process on moto, records every DynamoDB call the
requests make (``bench.capacity``: units per item, partition and index key
value), and scales them by the workload below (``bench.model`` explains
how keys are scaled by their shape). Recorded, on a fresh table:

* rating changes (first rating, re-rate, delete) by many users on one hot
  movie, and by a few users on each of a dozen other movies (one of them,
  a regular, on every one: her list of ratings is a key one user writes
  for many movies);
* after each movie's changes, the stream consumer invoked with the records
  the deployed event source mapping would deliver (its filter, batch size
  and batching window read from the code), as one batch: what it costs a
  movie per window;
* the reads of the read mix, on a movie with full pages;
* every request of the catalogue once, for its cost in request units,
  compared with ``bench/baseline.json`` (the design before issue 12).

It prints the hottest item, partition and index key under each scenario
with its WCU/s and RCU/s against DynamoDB's limits, the keys only one
user's requests write (at that user's own rate), the rating changes a
second one movie and the app can take, and each request's cost against
the baseline, flagging any over 1.5x without a documented reason.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.capacity import INDEX_KEY, ITEM, Recorder
from bench.environment import go_offline
from bench.model import (
    LEVELS,
    SHARED_KEY,
    USER_KEY,
    Ceiling,
    KeyLoad,
    Part,
    Sample,
    ceiling,
    hottest,
    key_loads,
    over_limits,
    shared_keys,
    zipf_shares,
)
from bench.report import table
from bench.scenarios import CATALOGUE, MOVIE, Call, User, World
from bench.streams import StreamMapping, StreamTap, deliver, stream_mapping
from chalicelib import security
from chalicelib.gateway import CACHE_TTL_SECONDS
from chalicelib.storage import session_check, sessions
from chalicelib.storage.table import SessionItem, UserItem

BASELINE = Path(__file__).resolve().parent / "baseline.json"
RATIO_LIMIT = 1.5
RATING_KINDS = ("first", "re-rate", "delete")
CONSUMER = "stream consumer"
MAX_FOLLOW_UPS = 3  # a batch, the recount's MODIFY it causes, and one to spare
RATER_SESSION = timedelta(hours=2)
RATER_REFRESH_HASH = "0" * 64  # no refresh token: raters never refresh


@dataclass(frozen=True)
class Workload:
    """The stated workload the model charges keys for."""

    movies: int = 1_000_000
    zipf_exponent: float = 1.0
    one_movie_changes: float = 10_000
    app_changes: float = 100_000
    active_movies: int = 10_000
    change_mix: Mapping[str, float] = field(
        default_factory=lambda: {"first": 0.4, "re-rate": 0.4, "delete": 0.2}
    )
    user_changes_per_second: float = 1.0
    reads: float = 300_000
    read_mix: Mapping[str, float] = field(
        default_factory=lambda: {
            "detail": 0.30,
            "movies page": 0.10,
            "top rated page": 0.05,
            "genre page": 0.03,
            "search page": 0.05,
            "my movies page": 0.05,
            "average": 0.15,
            "comments page": 0.12,
            "ratings page": 0.15,
        }
    )
    app_wide_reads: frozenset[str] = frozenset(
        {"movies page", "top rated page", "genre page", "search page"}
    )
    """Reads of lists every movie shares; the others read one movie (Zipf over ``movies``)."""
    cached_reads: Mapping[str, str] = field(
        default_factory=lambda: {
            "movies page": "/movies",
            "top rated page": "/movies",
            "genre page": "/movies",
            "search page": "/movies/search",
            "comments page": "/movies/{movie_id}/comments",
            "ratings page": "/movies/{movie_id}/ratings",
        }
    )
    """Reads served by API Gateway's stage cache (the deploy template's), by route."""
    cache_ttl_seconds: float = CACHE_TTL_SECONDS
    cache_keys_per_list: int = 100
    """Distinct cached answers of one list in use at once (limits, offsets, cursors)."""

    def cache_misses(self, kind: str, rate: float) -> float:
        """Reads a second that reach DynamoDB: behind the cache, one per TTL per cache key."""
        if kind not in self.cached_reads:
            return rate
        return min(rate, self.cache_keys_per_list / self.cache_ttl_seconds)

    @property
    def top_movie_read_share(self) -> float:

        return zipf_shares(self.movies, self.zipf_exponent)[0]

    def active_shares(self) -> tuple[float, ...]:

        return zipf_shares(self.active_movies, self.zipf_exponent)

    def describe(self) -> list[str]:
        mix = ", ".join(f"{share:.0%} {kind}" for kind, share in self.change_mix.items())
        reads = ", ".join(f"{share:.0%} {kind}" for kind, share in self.read_mix.items())
        return [
            f"- One movie: {self.one_movie_changes:,.0f} rating changes/s ({mix}), "
            f"each user at most {self.user_changes_per_second:g}/s.",
            f"- App-wide: {self.app_changes:,.0f} rating changes/s over "
            f"{self.active_movies:,} active movies, Zipf (s = {self.zipf_exponent:g}) "
            f"popularity: the hottest takes {self.active_shares()[0]:.1%}, "
            f"{self.app_changes * self.active_shares()[0]:,.0f}/s.",
            f"- Reads: {self.reads:,.0f}/s ({reads}); `GET /movies` pages (plain, ranked, "
            "of a genre) and search pages are shared by all movies, the rest read one movie, "
            f"Zipf over {self.movies:,} movies: the "
            f"hottest gets {self.top_movie_read_share:.2%} of them.",
            f"- Behind API Gateway's stage cache ({self.cache_ttl_seconds:g} s TTL): "
            + ", ".join(self.cached_reads)
            + f"; each list is taken to have {self.cache_keys_per_list} cached answers in use "
            f"at once, so at most {self.cache_keys_per_list / self.cache_ttl_seconds:g} of "
            "its reads a second reach DynamoDB. Not cached: the detail and the average "
            "(exact at once), and an owner's list (it names the caller).",
        ]


# ---------------------------------------------------------------- recording


@dataclass
class Recording:
    """Everything the model recorded, as samples and per-request costs."""

    hot: list[Sample] = field(default_factory=list)
    many: list[Sample] = field(default_factory=list)
    reads: list[Sample] = field(default_factory=list)
    requests: dict[str, tuple[float, int]] = field(default_factory=dict)
    fanout: dict[str, Sample] = field(default_factory=dict)
    """A movie change's work in the stream consumer (its list entries), by change."""

    def of_kind(self, samples: Iterable[Sample], kind: str) -> list[Sample]:
        return [sample for sample in samples if sample.kind == kind]


class Rig:
    """The app on moto with the recorder, the stream tap and the consumer's mapping."""

    def __init__(
        self,
        world: World,
        recorder: Recorder,
        events: Any,
        tap: StreamTap,
        mapping: StreamMapping | None,
    ) -> None:
        self.world = world
        self.recorder = recorder
        self.events = events
        self.tap = tap
        self.mapping = mapping
        self._raters = 0

    def raters(self, count: int) -> list[User]:
        """``count`` users with a live session each and a profile that is only its map.

        Rating needs a valid token whose session the authorizer finds live,
        nothing else of a user: each rater's session item and the profile's
        map of live sessions are stored directly (no signup, no password
        hashed), and its token issued for it.
        """

        found = []
        for _ in range(count):
            self._raters += 1
            user_id = 10**14 + self._raters
            session_id = sessions.new_session_id()
            SessionItem.new(
                user_id,
                session_id,
                refresh_hash=RATER_REFRESH_HASH,
                user_agent="bench.scale",
                lifetime=RATER_SESSION,
            ).save()
            UserItem(*UserItem.key(user_id)).update([UserItem.keeping_only(session_id)])
            token, _ = security.issue_access_token(user_id, session_id)
            found.append(User(user_id, f"rater{user_id}", token))
        return found

    def record(self, kind: str, call: Call, status: int, ids: Mapping[str, int]) -> Sample:
        """Send ``call``: its sample, with the authorizer's session check charged too."""

        checks = session_check.client().meta.events  # the authorizer's own client
        self.recorder.attach(self.events)
        self.recorder.attach(checks)
        try:
            response = call.send(self.world.client)
        finally:
            self.recorder.detach(checks)
            self.recorder.detach(self.events)
        cost = self.recorder.take()
        if response.status_code != status:
            raise AssertionError(f"{call.method} {call.path}: {response.status_code}")
        return Sample(kind, dict(ids), tuple(cost.charges), dict(cost.operations))

    def settle(self) -> None:
        """Deliver what the stream holds to the consumer, uncharged (the setup of a scenario)."""

        self._drain()

    def consume(self, ids: Mapping[str, int]) -> Sample | None:
        """Deliver what the stream holds to the consumer, until it is quiet; one sample, if any.

        The consumer's own writes come back through the stream: a recount's
        write of the movie item is a ``MODIFY`` whose batch syncs the
        movie's list entries again (and finds them in step). That follow-up
        batch is part of what one batch of changes costs, so it is charged
        to the same sample.
        """

        self.recorder.attach(self.events)
        try:
            delivered = self._drain()
        finally:
            self.recorder.detach(self.events)
        cost = self.recorder.take()
        if not delivered:
            return None
        return Sample(CONSUMER, dict(ids), tuple(cost.charges), dict(cost.operations))

    def _drain(self) -> int:
        """Deliver the stream's records until a delivery passes none (or ``MAX_FOLLOW_UPS``).

        Without a mapping (a layout with no consumer) the records are read
        and dropped. Returns how many records reached the consumer.
        """

        delivered = 0
        for _ in range(MAX_FOLLOW_UPS):
            records = self.tap.records()
            passed = deliver(self.world.client, self.mapping, records) if self.mapping else 0
            if not passed:
                break
            delivered += passed
        return delivered


def rating_changes(rig: Rig, movie_id: int, owner_id: int, raters: Sequence[User]) -> list[Sample]:
    """First rating, re-rate and delete by each rater, then the consumer's batch.

    The movie is settled first (its list entries made, uncharged), so the
    batch's sync moves entries that exist, as it does for a listed movie.
    """

    rig.settle()
    path = f"/movies/{movie_id}/ratings"
    samples = []
    for rater in raters:
        ids = {"movie": movie_id, "owner": owner_id, "user": rater.id}
        samples += [
            rig.record("first", Call("POST", path, {"rating": 8}, rater.token), 200, ids),
            rig.record("re-rate", Call("POST", path, {"rating": 3}, rater.token), 200, ids),
            rig.record("delete", Call("DELETE", path, token=rater.token), 204, ids),
        ]
    # A window's changes rarely cancel out: one more rating (not a sample of its own) leaves
    # the batch a net change, so its recount moves the movie in every list it is in, and
    # the consumer rewrites every list entry: the most a batch can cost.
    rig.world.rate(movie_id, raters[0], 8)
    consumed = rig.consume({"movie": movie_id, "owner": owner_id})
    return samples + ([consumed] if consumed else [])


def new_movie(rig: Rig, owner: User | None = None) -> tuple[int, int]:
    """A movie of ``owner``'s (by default a new owner's): (movie id, owner id)."""
    owner = owner or rig.raters(1)[0]
    return rig.world.new_movie(owner), owner.id


def reads(rig: Rig) -> list[Sample]:
    """The read mix's requests, on a movie whose pages are full."""

    owner = rig.raters(1)[0]
    movie_id, owner_id = new_movie(rig, owner)
    for rater in rig.raters(12):
        rig.world.rate(movie_id, rater, 7)
        rig.world.comment(movie_id, rater)
    owner_token = owner.token
    critic = rig.raters(1)[0]
    for _ in range(11):
        other = rig.world.request(Call("POST", "/movies", _movie(), owner_token), 201)
        rig.world.rate(int(other["id"]), critic, 6)
    rig.consume({"movie": movie_id, "owner": owner_id})  # the lists, as the stream leaves them
    ids = {"movie": movie_id, "owner": owner_id}
    requests = {
        "detail": Call("GET", f"/movies/{movie_id}"),
        "movies page": Call("GET", "/movies?limit=10"),
        "top rated page": Call("GET", "/movies?sort=top_rated&limit=10"),
        "genre page": Call("GET", "/movies?sort=most_rated&genre=drama&limit=10"),
        "search page": Call("GET", "/movies/search?q=metro&limit=10"),
        "my movies page": Call("GET", "/movies/user?limit=10", token=owner_token),
        "average": Call("GET", f"/movies/{movie_id}/ratings/average"),
        "comments page": Call("GET", f"/movies/{movie_id}/comments?limit=10"),
        "ratings page": Call("GET", f"/movies/{movie_id}/ratings?limit=10"),
    }
    return [rig.record(kind, call, 200, ids) for kind, call in requests.items()]


def _movie() -> dict[str, Any]:

    return dict(MOVIE)


def record(rig: Rig, *, hot_raters: int, movies: int, raters_per_movie: int) -> Recording:
    recording = Recording()
    progress(f"one movie: {hot_raters} raters x {len(RATING_KINDS)} changes")
    movie_id, owner_id = new_movie(rig)
    recording.hot = rating_changes(rig, movie_id, owner_id, rig.raters(hot_raters))
    progress(f"{movies} more movies: {raters_per_movie} raters each, and a regular on all")
    regular = rig.raters(1)[0]
    for _ in range(movies):
        movie_id, owner_id = new_movie(rig)
        raters = [regular, *rig.raters(raters_per_movie)]
        recording.many += rating_changes(rig, movie_id, owner_id, raters)
    progress("the read mix")
    recording.reads = reads(rig)
    progress("a movie's changes through the stream")
    recording.fanout = movie_fanout(rig)
    return recording


FANOUT_TITLE = "The Discreet Charm of the Bourgeoisie"  # 6 words, 30 letters: a long title
FANOUT_CHANGES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("rename", {"title": "The Exterminating Angel"}),
    ("re-genre", {"genres": ["Comedy", "Drama", "Fantasy"]}),
    ("re-date", {"release_date": "1962-05-16"}),
    ("description only", {"description": "Guests who cannot leave a dinner party."}),
)


def movie_fanout(rig: Rig) -> dict[str, Sample]:
    """What each kind of movie change costs the consumer: its batch's sample, by change.

    A rated movie with three genres, a date and a long title (so it is in
    every kind of list), created, changed in each way, rated, and deleted.
    """

    owner, critic = rig.raters(2)
    movie = {**MOVIE, "title": FANOUT_TITLE, "genres": ["Comedy", "Drama", "Romance"]}
    path = "/movies"
    rig.settle()
    created = rig.world.request(Call("POST", path, movie, owner.token), 201)
    movie_id = int(created["id"])
    ids = {"movie": movie_id, "owner": owner.id}
    found: dict[str, Sample] = {}

    def charged(change: str) -> None:
        sample = rig.consume(ids)
        if sample is not None:
            found[change] = sample

    charged("create")
    rig.world.rate(movie_id, critic, 9)
    charged("first rating (a recount)")
    for change, body in FANOUT_CHANGES:
        rig.world.request(Call("PATCH", f"{path}/{movie_id}", body, owner.token))
        charged(change)
    rig.world.request(Call("DELETE", f"{path}/{movie_id}", token=owner.token), 204)
    charged("delete")
    return found


def request_costs(session: Any) -> dict[str, tuple[float, int]]:
    """Every request of the catalogue once: (read units, write units incl. indexes)."""
    from bench import endpoints

    progress("every request of the catalogue")
    endpoints.small_data_set(session.world)
    costs = {}
    for scenario in CATALOGUE:
        cost = endpoints.count(session, scenario)
        costs[scenario.name] = (cost.read_units, cost.write_units + cost.index_write_units)
    return costs


# ---------------------------------------------------------------- the analysis


@dataclass
class Analysis:
    workload: Workload
    one_movie: list[KeyLoad]
    app: list[KeyLoad]
    movie_ceiling: Ceiling
    shared_ceiling: Ceiling
    shared_on_request_path: dict[str, set[int]]
    consumer_batches_per_second: float
    movie_ceiling_by_kind: dict[str, Ceiling] = field(default_factory=dict)
    consumer_ceiling: Ceiling = field(default_factory=lambda: Ceiling(math.inf, None))
    """Movie-batches a second the consumer can write before a shared key is full."""

    @property
    def app_ceiling(self) -> float:
        by_hottest_movie = self.movie_ceiling.rate / self.workload.active_shares()[0]
        return min(self.shared_ceiling.rate, by_hottest_movie)


def change_parts(samples: Sequence[Sample], rate: float, workload: Workload) -> list[Part]:

    return [
        Part([sample for sample in samples if sample.kind == kind], rate * share)
        for kind, share in workload.change_mix.items()
    ]


def consumer_part(samples: Sequence[Sample], batches_per_second: float) -> Part:

    return Part([sample for sample in samples if sample.kind == CONSUMER], batches_per_second)


def read_parts(samples: Sequence[Sample], workload: Workload, *, app_wide: bool) -> list[Part]:
    """The read mix: one movie's reads at the hottest movie's share, or the shared lists."""

    parts = []
    for kind, share in workload.read_mix.items():
        shared = kind in workload.app_wide_reads
        if shared != app_wide:
            continue
        rate = workload.reads * share * (1 if shared else workload.top_movie_read_share)
        rate = workload.cache_misses(kind, rate)
        parts.append(Part([sample for sample in samples if sample.kind == kind], rate))
    return parts


def analyse(recording: Recording, workload: Workload, mapping: StreamMapping | None) -> Analysis:

    def batches(rate: float) -> float:
        return mapping.batches_per_second(rate) if mapping is not None else 0.0

    def shared(owner: str) -> bool:
        return owner == SHARED_KEY

    def not_shared(owner: str) -> bool:
        return owner != SHARED_KEY

    hot_rate = workload.one_movie_changes
    one_movie = key_loads(
        [
            *change_parts(recording.hot, hot_rate, workload),
            consumer_part(recording.hot, batches(hot_rate)),
            *read_parts(recording.reads, workload, app_wide=False),
        ]
    )
    top = workload.app_changes * workload.active_shares()[0]
    app_batches = sum(batches(workload.app_changes * s) for s in workload.active_shares())
    app = key_loads(
        [
            *change_parts(recording.many, workload.app_changes, workload),
            consumer_part(recording.many, app_batches),
            *read_parts(recording.reads, workload, app_wide=True),
        ],
        keep=shared,
    ) + key_loads(
        [
            *change_parts(recording.hot, top, workload),
            consumer_part(recording.hot, batches(top)),
            *read_parts(recording.reads, workload, app_wide=False),
        ],
        keep=not_shared,
    )
    movie_ceiling = ceiling(
        key_loads(change_parts(recording.hot, 1.0, workload), keep=not_shared),
        key_loads([consumer_part(recording.hot, batches(hot_rate))]),
    )
    shared_ceiling = ceiling(
        key_loads(change_parts(recording.many, 1.0, workload), keep=shared),
        key_loads([consumer_part(recording.many, app_batches)], keep=shared),
    )
    request_path = [s for s in recording.hot + recording.many if s.kind != CONSUMER]
    by_kind = {
        kind: ceiling(
            key_loads([Part(recording.of_kind(recording.hot, kind), 1.0)], keep=not_shared)
        )
        for kind in workload.change_mix
    }
    return Analysis(
        workload,
        one_movie,
        app,
        movie_ceiling,
        shared_ceiling,
        shared_keys(request_path),
        app_batches,
        by_kind,
        ceiling(key_loads([consumer_part(recording.many, 1.0)], keep=shared)),
    )


def progress(message: str) -> None:
    sys.stderr.write(f"  {message}\n")


# ---------------------------------------------------------------- the baseline


def load_baseline(path: Path = BASELINE) -> tuple[dict[str, tuple[float, int]], dict[str, str]]:
    """Per request (read units, write units) before the redesign, and documented reasons."""
    if not path.exists():
        return {}, {}
    stored = json.loads(path.read_text())
    requests = {name: (float(rru), int(wru)) for name, (rru, wru) in stored["requests"].items()}
    return requests, dict(stored.get("reasons", {}))


def write_baseline(costs: Mapping[str, tuple[float, int]], path: Path = BASELINE) -> None:
    _, reasons = load_baseline(path)
    stored = {
        "about": "Request units per request before issue 12's redesign, from "
        f"python -m bench.scale --write-baseline at {git_version()}.",
        "requests": {name: [rru, wru] for name, (rru, wru) in costs.items()},
        "reasons": reasons,
    }
    path.write_text(json.dumps(stored, indent=2) + "\n")


def git_version() -> str:
    from bench.report import git_version as described

    return described()


def ratio(before: tuple[float, int], after: tuple[float, int]) -> float:
    """The larger of the read and the write ratio (nothing before, something now: inf)."""
    ratios = []
    for old, new in zip(before, after, strict=True):
        if new == old:
            ratios.append(1.0)
        else:
            ratios.append(new / old if old else math.inf)
    return max(ratios)


def over_budget(
    costs: Mapping[str, tuple[float, int]],
    baseline: Mapping[str, tuple[float, int]],
    reasons: Mapping[str, str],
) -> list[str]:
    """Requests more than 1.5x as expensive as the baseline without a documented reason."""
    return [
        name
        for name, cost in costs.items()
        if name in baseline and ratio(baseline[name], cost) > RATIO_LIMIT and name not in reasons
    ]


# ---------------------------------------------------------------- the report


def rate(value: float) -> str:
    return "unbounded" if math.isinf(value) else f"{value:,.0f}"


def hottest_table(loads: Sequence[KeyLoad], user_rate: float) -> str:

    rows = []
    for level in LEVELS:
        load = hottest(loads, level, user_rate)
        if load is None:
            continue
        wcu, rcu = load.wcu(user_rate), load.rcu(user_rate)
        verdict = "**over**" if load.share_of_limits(user_rate) > 1 else "within"
        rows.append(
            [
                level,
                f"`{load.shape}`",
                load.whose,
                str(load.spread),
                f"{wcu:,.0f} / 1,000",
                f"{rcu:,.0f} / 3,000",
                verdict,
            ]
        )
    headers = ["level", "hottest key (shape)", "whose", "keys seen", "WCU/s", "RCU/s", "limits"]
    return table(headers, rows)


def over_table(loads: Sequence[KeyLoad], user_rate: float) -> str:

    found = sorted(over_limits(loads, user_rate), key=lambda load: -load.share_of_limits(user_rate))
    if not found:
        return "No item, partition or index key over its limits."
    rows = [
        [
            load.level,
            f"`{load.shape}`",
            f"{load.wcu(user_rate):,.0f}",
            f"{load.rcu(user_rate):,.0f}",
        ]
        for load in found
    ]
    return "Over the limits:\n\n" + table(["level", "key (shape)", "WCU/s", "RCU/s"], rows)


def user_keys_table(loads: Sequence[KeyLoad], user_rate: float) -> str:
    """Every key only one user's requests touch, at that user's own rate."""
    rows = [
        [
            load.level,
            f"`{load.shape}`",
            f"{load.wcu(user_rate):,.0f} / 1,000",
            f"{load.rcu(user_rate):,.0f} / 3,000",
        ]
        for load in sorted(loads, key=lambda load: (LEVELS.index(load.level), load.shape))
        if load.whose == USER_KEY
    ]
    if not rows:
        return "No key is only one user's."
    return table(["level", "key (shape)", "WCU/s", "RCU/s"], rows)


def ceiling_text(found: Ceiling) -> str:
    if found.key is None:
        return "unbounded: no key of this kind is written on the request path"
    return f"{rate(found.rate)}/s, bound by the {found.key.level} `{found.key.shape}`"


def costs_table(
    costs: Mapping[str, tuple[float, int]],
    baseline: Mapping[str, tuple[float, int]],
    reasons: Mapping[str, str],
) -> str:
    rows = []
    for name, (rru, wru) in costs.items():
        before = baseline.get(name)
        if before is None:
            rows.append([f"`{name}`", f"{rru:g}", str(wru), "-", "-", "new"])
            continue
        found = ratio(before, (rru, wru))
        note = "ok"
        if found > RATIO_LIMIT:
            note = "documented (below)" if name in reasons else "**over 1.5x**"
        shown = "inf" if math.isinf(found) else f"{found:.2f}"
        rows.append([f"`{name}`", f"{rru:g}", str(wru), f"{before[0]:g}", str(before[1]), shown])
        rows[-1].append(note)
    headers = ["request", "RRU", "WRU", "RRU before", "WRU before", "ratio", ""]
    text = table(headers, [row + [""] * (len(headers) - len(row)) for row in rows])
    documented = [
        f"- `{name}`: {reasons[name]}."
        for name, cost in costs.items()
        if name in reasons and name in baseline and ratio(baseline[name], cost) > RATIO_LIMIT
    ]
    if documented:
        text += "\n\nWhy these cost more than 1.5x what they did:\n\n" + "\n".join(documented)
    return text


def consumer_ceiling_text(analysis: Analysis, mapping: StreamMapping | None) -> str:
    """How many movie-batches a second the consumer's shared keys take (not rating changes)."""
    found = analysis.consumer_ceiling
    if mapping is None or found.key is None:
        return "- The stream consumer writes no key that movies share."
    window = mapping.window_seconds
    movies = f" ({found.rate * window:,.0f} movies changing in every {window:g} s window)"
    return (
        f"- The stream consumer, by its shared keys: {rate(found.rate)} movie-batches/s"
        f"{movies if window else ''}, bound by the {found.key.level} `{found.key.shape}`; "
        f"it runs {analysis.consumer_batches_per_second:,.0f}/s at the app-wide rate."
    )


def fanout_table(fanout: Mapping[str, Sample]) -> str:
    rows = [
        "| change | calls | items written | table WCU | index WCU |",
        "|:---|:---|---:|---:|---:|",
    ]
    for change, sample in fanout.items():
        calls = ", ".join(f"{name} x{count}" for name, count in sorted(sample.operations.items()))
        items = [c for c in sample.charges if c.level == ITEM and c.write_units]
        table = sum(c.write_units for c in items)
        index = sum(c.write_units for c in sample.charges if c.level == INDEX_KEY)
        rows.append(f"| {change} | {calls} | {len(items)} | {table:g} | {index:g} |")
    return "\n".join(rows)


def consumer_text(recording: Recording, analysis: Analysis, mapping: StreamMapping | None) -> str:
    if mapping is None:
        return "The app has no stream consumer."
    settings = (
        f"`{mapping.function}`: batch size {mapping.batch_size}, batching window "
        f"{mapping.window_seconds:g} s, {len(mapping.filters)} filter pattern(s)."
    )
    batches = recording.of_kind(recording.many, CONSUMER)
    if not batches:
        return settings + " It receives none of the rating changes' records (its filter)."
    calls: dict[str, int] = {}
    for sample in batches:
        for name, count in sample.operations.items():
            calls[name] = calls.get(name, 0) + count
    per_batch = ", ".join(f"{name} x{count / len(batches):g}" for name, count in calls.items())
    wcu = sum(c.write_units for s in batches for c in s.charges) / len(batches)
    rcu = sum(c.read_units for s in batches for c in s.charges) / len(batches)
    return (
        f"{settings} Per movie per batch: {per_batch} ({rcu:g} RCU, {wcu:g} WCU incl. "
        f"indexes). At the app-wide rate it runs {analysis.consumer_batches_per_second:,.0f} "
        "movie-batches a second (each active movie at most once per window)."
    )


def render(
    recording: Recording,
    analysis: Analysis,
    mapping: StreamMapping | None,
    baseline: tuple[dict[str, tuple[float, int]], dict[str, str]],
) -> str:
    workload = analysis.workload
    user_rate = workload.user_changes_per_second
    shared = sorted(analysis.shared_on_request_path)
    shared_text = "none" if not shared else ", ".join(f"`{key}`" for key in shared[:6])
    sections = [
        "# Capacity model",
        "Workload:",
        "\n".join(workload.describe()),
        "## Ceilings",
        "\n".join(
            [
                f"- One movie: {ceiling_text(analysis.movie_ceiling)} (goal: "
                f"{workload.one_movie_changes:,.0f}); "
                + ", ".join(
                    f"{kind} only: {rate(found.rate)}/s"
                    for kind, found in analysis.movie_ceiling_by_kind.items()
                )
                + ".",
                f"- The app, by its shared keys: {ceiling_text(analysis.shared_ceiling)}.",
                consumer_ceiling_text(analysis, mapping),
                f"- The app, by its hottest movie ({workload.active_shares()[0]:.1%} of the "
                f"changes): {rate(analysis.movie_ceiling.rate / workload.active_shares()[0])}/s.",
                f"- The app: {rate(analysis.app_ceiling)} rating changes/s (goal: "
                f"{workload.app_changes:,.0f}).",
                f"- Keys that different movies share, written on a rating change's request "
                f"path: {shared_text}.",
            ]
        ),
        f"## One movie at {workload.one_movie_changes:,.0f} rating changes/s, and its reads",
        hottest_table(analysis.one_movie, user_rate),
        over_table(analysis.one_movie, user_rate),
        f"## App-wide: {workload.app_changes:,.0f} rating changes/s over "
        f"{workload.active_movies:,} movies, and {workload.reads:,.0f} reads/s",
        hottest_table(analysis.app, user_rate),
        over_table(analysis.app, user_rate),
        "## Per-user keys",
        "Keys that only one user's own requests write or read (their rating of a movie, their "
        "list of ratings, their profile), however many movies they rate: each takes one "
        f"request's units at that user's rate, {user_rate:g} a second, not the movie's or the "
        "app's.",
        user_keys_table(analysis.one_movie, user_rate),
        "## Background: the stream consumer",
        consumer_text(recording, analysis, mapping),
        "### A movie change's fan-out",
        "What the consumer writes after one change of a movie (a rated movie with three "
        f"genres, a release date and a {len(FANOUT_TITLE)}-character title of "
        f"{len(FANOUT_TITLE.split())} words): its list entries, one per list it is in and "
        "per title-word prefix, each copying what a list item shows. Index WCU: GSI3's "
        "(an entry whose rank moves costs its index two, the old place and the new).",
        fanout_table(recording.fanout),
        "## Cost per request (request units) against the baseline",
        "RRU: read units; WRU: write units of the table and its indexes. The ratio is the "
        "larger of the read and the write ratio; over 1.5x needs a documented reason "
        "(`bench/baseline.json`'s `reasons`).",
        costs_table(recording.requests, *baseline),
    ]
    flagged = over_budget(recording.requests, *baseline)
    if flagged:
        sections.append("Over 1.5x without a reason: " + ", ".join(f"`{n}`" for n in flagged))
    return "\n\n".join(sections) + "\n"


# ---------------------------------------------------------------- the run


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--hot-raters", type=int, default=128, help="raters of the hot movie")
    parser.add_argument("--movies", type=int, default=12, help="other movies rated")
    parser.add_argument("--raters-per-movie", type=int, default=3)
    parser.add_argument(
        "--write-baseline", action="store_true", help=f"store the costs in {BASELINE.name}"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    go_offline()
    from app import app
    from bench import endpoints
    from chalicelib.settings import get_settings

    output = sys.stdout
    with open(os.devnull, "w") as sink, redirect_stdout(sink), endpoints.session() as session:
        settings = get_settings()
        mapping = stream_mapping(app)
        tap = StreamTap(settings.table_name, settings.region)
        rig = Rig(session.world, session.recorder, session.events, tap, mapping)
        recording = record(
            rig,
            hot_raters=args.hot_raters,
            movies=args.movies,
            raters_per_movie=args.raters_per_movie,
        )
        recording.requests = request_costs(session)
    if args.write_baseline:
        write_baseline(recording.requests)
    analysis = analyse(recording, Workload(), mapping)
    output.write(render(recording, analysis, mapping, load_baseline()))


if __name__ == "__main__":
    main()
