"""Per endpoint: DynamoDB work and CPU time, and how both behave as data grows.

Each scenario is sent once with the capacity ``Recorder`` attached (calls,
items, bytes, request units), then ``runs`` times (after two warm-up
requests) with only the CPU clocks running. Import ``bench.environment``'s
``go_offline`` first: this module imports the app.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws

from app import app
from bench import dataset
from bench.capacity import Cost, Item, Recorder, TableShape
from bench.cpu import HandlerClock, MotoClock, Sample, Spread, measure
from bench.scenarios import CATALOGUE, CHECK_TOKEN, SCALING, Call, Scenario, World, by_name
from chalicelib import auth, security
from chalicelib.settings import get_settings
from chalicelib.storage import engine, session_check
from chalicelib.storage.table import table_definition, ttl_attribute_name
from devtools.dynamodb import copy_each_table_once_per_transaction, forget_model_instances
from devtools.gateway import ContractClient

WARM_UP = 2
SMALL_DATA_SET_MOVIES = 12


@dataclass
class Session:
    """The app on a fresh moto table, with the recorder and the clocks."""

    world: World
    recorder: Recorder
    moto: MotoClock
    handler: HandlerClock

    @property
    def events(self) -> Any:
        return engine.connection().client.meta.events


@dataclass(frozen=True)
class Result:
    """One scenario: its DynamoDB work (one request) and its CPU time (many)."""

    name: str
    budget: int
    cost: Cost
    request_cpu: Spread
    handler_cpu: Spread
    moto_cpu: Spread
    runs: int


@contextmanager
def session() -> Iterator[Session]:
    """A fresh in-process DynamoDB with the table made from the models, and a client."""
    get_settings.cache_clear()
    security.signing_key.cache_clear()
    # As under make run and in the tests: moto would copy the whole table once per action of
    # a transaction (33 for a movie's create), which, with every movie's list entries in it,
    # made the recording crawl. Timed apart from the app (MotoClock), so it changes no number.
    copy_each_table_once_per_transaction()
    with mock_aws():
        forget_model_instances()  # or every table copied for a transaction stays in memory
        engine.reset()
        recorder = Recorder(*_create_table())
        with ContractClient(app, stage_name="test") as client:
            handler = HandlerClock(client.http.gateway)
            moto = MotoClock()
            with moto.running(), handler.running():
                yield Session(World(client), recorder, moto, handler)
        engine.reset()


def _create_table() -> tuple[TableShape, Callable[[Item], Item | None]]:
    """Create the table; its shape, and a reader of whole items the recorder can use."""
    settings = get_settings()
    dynamodb = boto3.client("dynamodb", region_name=settings.region)
    definition = table_definition(settings.table_name)
    dynamodb.create_table(**definition)
    dynamodb.update_time_to_live(
        TableName=settings.table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute_name()},
    )

    def fetch(key: Item) -> Item | None:
        found = dynamodb.get_item(TableName=settings.table_name, Key=key, ConsistentRead=True)
        item: Item | None = found.get("Item")
        return item

    return TableShape.from_definition(definition), fetch


# ---------------------------------------------------------------- one scenario


def run(current: Session, scenario: Scenario, runs: int) -> Result:
    progress(scenario.name)
    cost = count(current, scenario)
    samples = [time_once(current, scenario) for _ in range(WARM_UP + runs)][WARM_UP:]
    return Result(
        scenario.name,
        scenario.budget,
        cost,
        Spread.of([sample.request for sample in samples]),
        Spread.of([sample.handler for sample in samples]),
        Spread.of([sample.moto for sample in samples]),
        runs,
    )


def count(current: Session, scenario: Scenario) -> Cost:
    call = scenario.prepare(current.world)
    current.recorder.attach(current.events)
    try:
        _send_expecting(current, call, scenario.status)
    finally:
        current.recorder.detach(current.events)
    cost = current.recorder.take()
    if cost.failed_calls and scenario.status < 400:  # an error path's failed condition is its 404
        raise AssertionError(f"{scenario.name}: {cost.failed_calls} DynamoDB calls failed")
    return cost


def time_once(current: Session, scenario: Scenario) -> Sample:
    call = scenario.prepare(current.world)
    return measure(
        lambda: _send_expecting(current, call, scenario.status), current.moto, current.handler
    )


def _send_expecting(current: Session, call: Call, status: int) -> Any:
    response = call.send(current.world.client)
    if response.status_code != status:
        raise AssertionError(f"{call.method} {call.path}: {response.status_code} {response.body!r}")
    return response


# ---------------------------------------------------------------- all endpoints


def every_endpoint(runs: int) -> list[Result]:
    """Every scenario of the catalogue, and the authorizer, on a small data set."""
    with session() as current:
        small_data_set(current.world)
        results = [run(current, scenario, runs) for scenario in CATALOGUE]
        results.append(authorizer(current, runs))
    return results


def small_data_set(world: World) -> None:
    """The reading movie (threads, a reply, ratings), and enough movies to fill a page."""
    progress("a small data set")
    movies = {world.reading_movie, world.writing_movie}
    for _ in range(SMALL_DATA_SET_MOVIES - len(movies)):
        world.new_movie()


def authorizer(current: Session, runs: int) -> Result:
    """The JWT authorizer, invoked as its own Lambda function is: one TOKEN event."""
    progress("authorizer")
    event = token_event(current.world.user("reader").token)
    events = session_check.client().meta.events  # the authorizer's own client
    current.recorder.attach(events)
    try:
        auth.jwt_authorizer(event, {})
    finally:
        current.recorder.detach(events)
    cost = current.recorder.take()
    samples = [
        measure(lambda: auth.jwt_authorizer(event, {}), current.moto, current.handler)
        for _ in range(WARM_UP + runs)
    ][WARM_UP:]
    cpu = Spread.of([sample.request for sample in samples])
    trips = sum(CHECK_TOKEN.values())
    return Result("authorizer: a TOKEN event", trips, cost, cpu, cpu, Spread(0, 0), runs)


def token_event(token: str) -> dict[str, str]:
    return {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {token}",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/api/GET/users/me",
    }


# ---------------------------------------------------------------- scaling


@dataclass(frozen=True)
class Load:
    """A movie with ``size`` comments and ratings, its owner with ``size`` movies."""

    size: int
    writes: bool = True
    max_runs: int | None = None


LOADS = (
    Load(0),
    Load(1_000),
    # moto copies the whole table for every transaction: at this size one write takes
    # seconds of moto's time, so only the reads are measured (with fewer runs).
    Load(10_000, writes=False, max_runs=10),
)


@dataclass(frozen=True)
class ScalingResult:
    load: Load
    result: Result


def scaling(runs: int, loads: tuple[Load, ...] = LOADS) -> list[ScalingResult]:
    """The ``SCALING`` scenarios on an empty movie, then on ever larger ones.

    Each load is a new movie with ``size`` top-level comments and ``size``
    ratings, and its owner gets movies up to ``size``, so the lists have as
    many rows to page through. Reads run before writes, so a load's writes
    add to it only after its reads were measured.
    """
    scenarios = sorted((by_name(name) for name in SCALING), key=lambda s: s.writes)
    results: list[ScalingResult] = []
    with session() as current:
        world, owned = current.world, 0
        for load in loads:
            progress(f"a movie with {load.size:,} comments and ratings")
            movie_id = world.new_movie()
            owned += 1 + _load(world, movie_id, load.size, more_movies=load.size - owned - 1)
            world.reading_movie = world.writing_movie = movie_id
            load_runs = min(runs, load.max_runs or runs)
            for scenario in scenarios:
                if load.writes or not scenario.writes:
                    results.append(ScalingResult(load, run(current, scenario, load_runs)))
    return results


def _load(world: World, movie_id: int, size: int, *, more_movies: int) -> int:
    """Give ``movie_id`` ``size`` comments and ratings, and its owner more movies.

    Returns how many movies were added.
    """
    if size:
        dataset.add_comments(movie_id, world.user("critic").id, size)
        dataset.add_ratings(movie_id, size)
    if more_movies <= 0:
        return 0
    dataset.add_movies(world.user("owner").id, more_movies)
    return more_movies


def progress(message: str) -> None:
    sys.stderr.write(f"  {message}\n")
