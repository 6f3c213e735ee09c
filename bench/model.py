"""The capacity model's arithmetic: recorded calls, charged per key, scaled by a workload.

Method. A million movies cannot be loaded into moto, and need not be: keys
have *shapes*. Each recorded request knows the ids it involved (the movie,
its owner, the user acting), and every key it charged (``bench.capacity``:
items, partitions, index key values) is rewritten with those ids as
placeholders: ``MOVIE#<movie> / RATING#<user>``, ``gsi1 MOVIES``. A shape
then says whose load a key carries:

* ``<user>`` in it: a per-user key, which only one user's own requests
  write (their rating of a movie, their list of ratings ``RATER#<user>``,
  however many movies they rate), loaded at that user's own rate: a person
  changes a rating at most ``Workload.user_changes_per_second``, so such a
  key takes one request's units that many times a second, whatever the
  movie's or the app's rate;
* ``<movie>`` or ``<owner>`` (and no ``<user>``): one movie's key, loaded
  at that movie's rate (an owner's key is taken to carry one active movie);
* neither: a key that different movies share, loaded at the app's rate.

What the recording itself calls shared (``shared_keys``) is the same
distinction drawn from the raw keys, without the placeholders: a key that
two different users' requests wrote while changing two different movies.
A key one user wrote for several movies is that user's.

Digits that are none of those ids (a counter shard's number, a GSI shard)
stay in the key: the keys of one shape that differ only there are where
the shape's load is spread, so a key gets ``rate x units per request /
distinct keys seen`` (uniform spreading, as a hash of the user or the
movie gives; record enough requests that every shard is seen). So from
requests recorded on a few movies the model scales to any rate.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from bench.capacity import INDEX_KEY, ITEM, PARTITION, Charge

WCU_PER_SECOND = 1_000
RCU_PER_SECOND = 3_000
LEVELS = (ITEM, PARTITION, INDEX_KEY)
USER = "<user>"
MOVIE = "<movie>"
OWNER = "<owner>"
USER_KEY, MOVIE_KEY, SHARED_KEY = "user", "movie", "shared"


@dataclass(frozen=True)
class Sample:
    """One recorded request (or consumer batch): what it was, whose ids, where its units went."""

    kind: str
    ids: Mapping[str, int]
    charges: tuple[Charge, ...]
    operations: Mapping[str, int] = field(default_factory=dict)

    @property
    def movie(self) -> int:
        return self.ids["movie"]


def identity(key: str, ids: Mapping[str, int]) -> str:
    """``key`` with the request's own ids (zero-padded or not) as placeholders."""
    for name, value in sorted(ids.items(), key=lambda pair: -len(str(pair[1]))):
        key = re.sub(rf"(?<!\d)0*{value}(?!\d)", f"<{name}>", key)
    return key


def shape(key_identity: str) -> str:
    """The identity with its remaining digits (shard numbers) as ``<n>``."""
    return re.sub(r"\d+", "<n>", key_identity)


def whose(key_shape: str) -> str:
    if USER in key_shape:
        return USER_KEY
    if MOVIE in key_shape or OWNER in key_shape:
        return MOVIE_KEY
    return SHARED_KEY


@dataclass(frozen=True)
class Part:
    """Recorded samples of one kind, happening ``rate`` times a second under a workload."""

    samples: Sequence[Sample]
    rate: float


@dataclass
class KeyLoad:
    """The load on each key of one shape, at one level."""

    level: str
    shape: str
    whose: str
    example: str
    keys: set[str] = field(default_factory=set)
    write_units: float = 0.0
    read_units: float = 0.0
    user_write_units: float = 0.0
    user_read_units: float = 0.0

    @property
    def spread(self) -> int:
        return max(1, len(self.keys))

    def wcu(self, user_rate: float) -> float:
        if self.whose == USER_KEY:
            return user_rate * self.user_write_units
        return self.write_units / self.spread

    def rcu(self, user_rate: float) -> float:
        if self.whose == USER_KEY:
            return user_rate * self.user_read_units
        return self.read_units / self.spread

    def share_of_limits(self, user_rate: float) -> float:
        return max(self.wcu(user_rate) / WCU_PER_SECOND, self.rcu(user_rate) / RCU_PER_SECOND)


def key_loads(parts: Iterable[Part], keep: Callable[[str], bool] = lambda _: True) -> list[KeyLoad]:
    """Per key shape and level: units a second on each of its keys, for ``parts``' rates.

    A user's key is charged the units of one request that touched it (the
    user's own rate applies later, in ``KeyLoad.wcu``); every other key its
    shape's units a second, spread over the distinct keys of the shape.
    """
    found: dict[tuple[str, str], KeyLoad] = {}
    for part in parts:
        if not part.samples:
            continue
        per_sample = part.rate / len(part.samples)
        for sample in part.samples:
            for charge in sample.charges:
                key = identity(charge.key, sample.ids)
                owner = whose(shape(key))
                if not keep(owner):
                    continue
                prefix = f"{charge.index} " if charge.index else ""
                key_shape = prefix + shape(key)
                load = found.setdefault(
                    (charge.level, key_shape),
                    KeyLoad(charge.level, key_shape, owner, charge.label),
                )
                load.keys.add(key)
                load.write_units += per_sample * charge.write_units
                load.read_units += per_sample * charge.read_units
                load.user_write_units = max(load.user_write_units, charge.write_units)
                load.user_read_units = max(load.user_read_units, charge.read_units)
    return list(found.values())


def hottest(loads: Sequence[KeyLoad], level: str, user_rate: float) -> KeyLoad | None:
    candidates = [load for load in loads if load.level == level]
    return max(candidates, key=lambda load: load.share_of_limits(user_rate), default=None)


def over_limits(loads: Sequence[KeyLoad], user_rate: float) -> list[KeyLoad]:
    return [load for load in loads if load.share_of_limits(user_rate) > 1]


@dataclass(frozen=True)
class Ceiling:
    """The most events a second before ``key`` reaches a limit (``math.inf``: none binds)."""

    rate: float
    key: KeyLoad | None


def ceiling(per_event: Sequence[KeyLoad], background: Sequence[KeyLoad] = ()) -> Ceiling:
    """Where ``per_event`` loads (at one event a second) hit a limit, on top of ``background``."""
    taken = {(load.level, load.shape): load for load in background}
    best = Ceiling(math.inf, None)
    for load in per_event:
        if load.whose == USER_KEY:
            continue
        busy = taken.get((load.level, load.shape))
        room_w = WCU_PER_SECOND - (busy.wcu(0) if busy else 0)
        room_r = RCU_PER_SECOND - (busy.rcu(0) if busy else 0)
        for room, per in ((room_w, load.wcu(0)), (room_r, load.rcu(0))):
            if per > 0 and max(room, 0) / per < best.rate:
                best = Ceiling(max(room, 0) / per, load)
    return best


# ---------------------------------------------------------------- popularity


@lru_cache(maxsize=8)
def zipf_shares(count: int, exponent: float) -> tuple[float, ...]:
    """The share of traffic of each of ``count`` items ranked by Zipf's law, most popular first."""
    weights = [1 / rank**exponent for rank in range(1, count + 1)]
    total = sum(weights)
    return tuple(weight / total for weight in weights)


def shared_keys(samples: Iterable[Sample], *, writes_only: bool = True) -> dict[str, set[int]]:
    """Keys (as charged) that different users wrote for different movies, and the movies.

    A key is shared when samples of two or more movies touched it and they
    were not all one user's: a key that one user's requests alone write
    (their ``RATER#<user>`` list, whichever movies they rate) takes that
    user's rate, not the movies'. A sample without a user (the stream
    consumer's) is no one user's: what it touched for two movies is shared.
    """
    movies_by_key: dict[str, set[int]] = defaultdict(set)
    users_by_key: dict[str, set[int]] = defaultdict(set)
    without_user: set[str] = set()
    for sample in samples:
        for charge in sample.charges:
            if writes_only and not charge.write_units:
                continue
            key = f"{charge.level}: {charge.label}"
            movies_by_key[key].add(sample.movie)
            if "user" in sample.ids:
                users_by_key[key].add(sample.ids["user"])
            else:
                without_user.add(key)
    return {
        key: movies
        for key, movies in movies_by_key.items()
        if len(movies) > 1 and (len(users_by_key[key]) > 1 or key in without_user)
    }
