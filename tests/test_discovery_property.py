# ruff: noqa: RUF001  (letters that look like Latin ones, on purpose)
"""Every sort, filter and search against a brute-force reference, over random movies (Hypothesis).

Each example makes a few movies with random titles (accents, other
scripts, digits, punctuation), genres (any case) and release dates, rates,
re-rates and unrates them as a few users, changes and deletes some, with
the stream delivered now and then; once it has settled, every sort, by
itself and filtered by each genre and year that came up, and a few
searches built from the titles' words, are read page by page through the
API and compared, ids in order and the fields each item shows, with a
reference computed here from what the movies should be.

The reference is written from the contract alone, not from the app's
code: its own word splitting (NFKD, combining marks dropped, case-folded,
runs of letters and digits) and exact fractions for the damped average.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import groupby
from math import floor
from typing import Any

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.settings import get_settings
from devtools.stream_runner import StreamRunner, table_stream_arn
from tests.helpers.api import Api, User, body
from tests.helpers.discovery import GENRES, SORTS, all_items, url
from tests.helpers.snapshots import load, table_items
from tests.helpers.table import STREAMS_ENDPOINT, create_table, dynamodb_client

N_RATERS = 3
GENRE_POOL = ["Action", "Comedy", "Drama", "Science Fiction", "TV Movie"]  # few: lists overlap
YEARS = [1999, 2001, 2024]
CANONICAL = {name.casefold(): name for name in GENRES}
SHOWN = ("id", "title", "genres", "release_date", "rating_count", "average_rating")

# ---------------------------------------------------------------- the reference


def words(text: str) -> list[str]:
    """The contract's words: NFKD, combining marks dropped, case-folded, letters and digits."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    runs = groupby(bare.casefold(), key=lambda char: unicodedata.category(char)[0] in "LN")
    return ["".join(run) for is_word, run in runs if is_word]


@dataclass
class Movie:
    id: int
    title: str
    genres: list[str]
    release_date: str | None
    ratings: dict[int, int] = field(default_factory=dict)  # rater: value

    @property
    def count(self) -> int:
        return len(self.ratings)

    def shown(self) -> dict[str, Any]:
        """What a list item shows of the movie."""
        total = sum(self.ratings.values())
        average = (
            floor(Fraction(total, self.count) * 100 + Fraction(1, 2)) / 100 if self.count else None
        )
        return {
            "id": self.id,
            "title": self.title,
            "genres": self.genres,
            "release_date": self.release_date,
            "rating_count": self.count,
            "average_rating": average,
        }

    def in_list(self, genre: str | None, year: int | None) -> bool:
        if genre is not None:
            return genre in self.genres
        if year is not None:
            return self.release_date is not None and int(self.release_date[:4]) == year
        return True

    def matches(self, query: str) -> bool:
        title_words = words(self.title)
        return all(any(word.startswith(part) for word in title_words) for part in words(query))


def damped(movie: Movie) -> tuple[Fraction, int, int]:
    return Fraction(sum(movie.ratings.values()) + 55, movie.count + 10), movie.count, movie.id


def ranked(movies: list[Movie], sort: str) -> list[Movie]:
    """The list's movies in its order, from the contract (ids are time-ordered: newest highest)."""
    if sort == "top_rated":
        return sorted((m for m in movies if m.count), key=damped, reverse=True)
    if sort == "most_rated":
        return sorted((m for m in movies if m.count), key=lambda m: (m.count, m.id), reverse=True)
    if sort == "release_date":
        dated = [m for m in movies if m.release_date is not None]
        return sorted(dated, key=lambda m: (m.release_date or "", m.id), reverse=True)
    return sorted(movies, key=lambda m: m.id, reverse=True)


def canonical(genres: list[str] | None) -> list[str]:
    return sorted({CANONICAL[name.casefold()] for name in genres or []}, key=GENRES.index)


# ---------------------------------------------------------------- random movies and changes

SEPARATORS = [" ", " ", "-", ": ", " & ", "'", ". ", ", ", "!", " (", ") "]
letter = st.one_of(
    st.sampled_from("abceilmnorst"),  # a small alphabet, so titles share prefixes
    st.sampled_from("ÉéèêëÅåÄäÖöÜüßÇçÑñØøŁł"),
    st.sampled_from(["e\u0301", "a\u0308", "c\u0327", "n\u0303"]),  # accents as combining marks
    st.sampled_from("ΑαΒβΣσςЖжЩщЯя文字映画"),
    st.sampled_from(["ﬁ", "²", "Ⅻ", "ｆ", "١", "½"]),  # compatibility forms: NFKD changes them
    st.sampled_from(["हि", "न्", "दी", "मि", "ழ்"]),  # Indic vowel signs and viramas: marks
    st.characters(categories=["L", "Nd", "M"]),
)
word = st.lists(letter, min_size=1, max_size=7).map("".join) | st.sampled_from(
    ["2001", "Supercalifragilisticexpialidocious", "Supercalifragilisticexpert"]
)


@st.composite
def titles(draw: st.DrawFn) -> str:
    parts = draw(st.lists(word, min_size=1, max_size=4))
    return "".join(part + draw(st.sampled_from(SEPARATORS)) for part in parts[:-1]) + parts[-1]


def any_case(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from([name, name.lower(), name.upper(), name.swapcase()])


genre_lists = st.lists(st.sampled_from(GENRE_POOL), max_size=3, unique=True).flatmap(
    lambda names: st.tuples(*(any_case(name) for name in names)).map(list)
)
dates = st.none() | st.builds(
    lambda year, month, day: f"{year}-{month:02d}-{day:02d}",
    st.sampled_from(YEARS),
    st.sampled_from([1, 6]),
    st.sampled_from([1, 15]),
)
movie_fields = st.fixed_dictionaries(
    {"title": titles(), "genres": genre_lists, "release_date": dates}
)
movie_changes = st.fixed_dictionaries(
    {}, optional={"title": titles(), "genres": st.none() | genre_lists, "release_date": dates}
)
movie_index = st.integers(min_value=0, max_value=4)
rater = st.integers(min_value=0, max_value=N_RATERS - 1)
a_rating = st.tuples(st.just("rate"), rater, movie_index, st.integers(min_value=1, max_value=10))
ratings = st.lists(a_rating, min_size=2, max_size=10)
a_change = st.tuples(st.just("change"), movie_index, movie_changes)
steps = st.lists(  # re-rates and changes, with now and then an unrate, a delete, a delivery
    st.one_of(
        a_rating,
        a_change,
        a_rating,
        a_change,
        st.tuples(st.just("unrate"), rater, movie_index),
        st.tuples(st.just("drain")),
        st.tuples(st.just("delete"), movie_index),
    ),
    max_size=8,
)


# ---------------------------------------------------------------- an example, through the API


@dataclass
class Catalogue:
    """The movies made through the API, and what each should be now."""

    api: Api
    raters: list[User]
    stream: StreamRunner
    movies: list[Movie] = field(default_factory=list)
    gone: set[int] = field(default_factory=set)  # indexes of deleted movies
    titles_seen: list[str] = field(default_factory=list)
    genres_seen: set[str] = field(default_factory=set)
    years_seen: set[int] = field(default_factory=set)

    def create(self, fields: dict[str, Any]) -> None:
        response = self.api.post("/movies", fields, token=self.raters[0].token)
        assert response.status_code == 201, response.body
        self.movies.append(Movie(body(response)["id"], "", [], None))
        self._became(self.movies[-1], fields)

    def _became(self, movie: Movie, fields: dict[str, Any]) -> None:
        if "title" in fields:
            movie.title = fields["title"].strip()
            self.titles_seen.append(movie.title)
        if "genres" in fields:
            movie.genres = canonical(fields["genres"])
            self.genres_seen.update(movie.genres)
        if "release_date" in fields:
            movie.release_date = fields["release_date"]
            if movie.release_date:
                self.years_seen.add(int(movie.release_date[:4]))

    def apply(self, step: tuple[Any, ...]) -> None:
        if step[0] == "drain":
            self.stream.drain()
            return
        index = (step[2] if step[0] in ("rate", "unrate") else step[1]) % len(self.movies)
        if index in self.gone:
            return
        movie = self.movies[index]
        if step[0] == "rate":
            self._rate(movie, step[1], step[3])
        elif step[0] == "unrate" and step[1] in movie.ratings:
            response = self.api.delete(
                f"/movies/{movie.id}/ratings", token=self.raters[step[1]].token
            )
            assert response.status_code == 204, response.body
            del movie.ratings[step[1]]
        elif step[0] == "change":
            response = self.api.patch(f"/movies/{movie.id}", step[2], token=self.raters[0].token)
            assert response.status_code == 200, response.body
            self._became(movie, step[2])
        elif step[0] == "delete":
            response = self.api.delete(f"/movies/{movie.id}", token=self.raters[0].token)
            assert response.status_code == 204, response.body
            self.gone.add(index)

    def _rate(self, movie: Movie, who: int, value: int) -> None:
        response = self.api.post(
            f"/movies/{movie.id}/ratings", {"rating": value}, token=self.raters[who].token
        )
        assert response.status_code == 200, response.body
        movie.ratings[who] = value

    @property
    def live(self) -> list[Movie]:
        return [movie for n, movie in enumerate(self.movies) if n not in self.gone]


def read_all(api: Api, path: str, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Every item, paged ``limit`` at a time, cut to the fields the reference knows."""
    items = all_items(api, path, params, limit)
    return [{name: item[name] for name in SHOWN} for item in items]


def check_lists(catalogue: Catalogue, rnd: random.Random) -> None:
    filters: list[dict[str, Any]] = [{}]
    filters += [
        {"genre": rnd.choice([g, g.lower(), g.upper()])} for g in sorted(catalogue.genres_seen)
    ]
    filters += [{"year": year} for year in sorted(catalogue.years_seen)]
    for sort in SORTS:
        for each in filters:
            genre = CANONICAL[each["genre"].casefold()] if "genre" in each else None
            movies = [m for m in catalogue.live if m.in_list(genre, each.get("year"))]
            expected = [movie.shown() for movie in ranked(movies, sort)]
            params = {"sort": sort, **each}
            assert read_all(catalogue.api, "/movies", params, rnd.randint(1, 5)) == expected, params


def queries(catalogue: Catalogue, rnd: random.Random) -> list[str]:
    """Prefixes of the titles' words (one or two, any case, any separator), whole titles, misses."""
    asked = ["zzqx", "q 0"]
    for title in rnd.sample(catalogue.titles_seen, min(3, len(catalogue.titles_seen))):
        title_words = words(title) or ["none"]
        picked = rnd.sample(title_words, min(rnd.randint(1, 2), len(title_words)))
        prefixes = [word[: rnd.randint(1, len(word))] for word in picked]
        shaped = [rnd.choice([prefix, prefix.upper(), prefix.title()]) for prefix in prefixes]
        asked += [rnd.choice(SEPARATORS).join(shaped), title]
    return asked


def check_searches(catalogue: Catalogue, rnd: random.Random) -> None:
    for query in queries(catalogue, rnd):
        if not words(query) or len(query) > 100:
            response = catalogue.api.get(url("/movies/search", {"q": query}))
            assert response.status_code == 422, (query, response.body)
            continue
        found = [movie for movie in catalogue.live if movie.matches(query)]
        ordered = sorted(found, key=lambda m: (m.count, m.id), reverse=True)  # most rated, newest
        answered = read_all(catalogue.api, "/movies/search", {"q": query}, rnd.randint(1, 5))
        assert answered == [movie.shown() for movie in ordered], query


# ---------------------------------------------------------------- the property


def fresh_table(users: dict[Any, dict[str, Any]]) -> None:
    """A new, empty table (and stream) with only the raters' profiles and sessions in it."""
    boto3.client("dynamodb").delete_table(TableName=get_settings().table_name)
    create_table()
    load(users)


def test_every_list_and_search_matches_the_reference(
    api: Api, make_user: Callable[[str], User]
) -> None:
    raters = [make_user(f"rater{n}") for n in range(N_RATERS)]
    users = {
        key: item for key, item in table_items().items() if item["kind"]["S"] in ("user", "session")
    }
    streams = boto3.client("dynamodbstreams", endpoint_url=STREAMS_ENDPOINT)

    def handler(event: dict[str, Any]) -> Any:
        return api.client.lambda_.invoke("table_stream", event).payload

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(
        made=st.lists(movie_fields, min_size=3, max_size=5),
        rated=ratings,
        changes=steps,
        rnd=st.randoms(use_true_random=False),
    )
    def example(
        made: list[dict[str, Any]],
        rated: list[tuple[Any, ...]],
        changes: list[tuple[Any, ...]],
        rnd: random.Random,
    ) -> None:
        fresh_table(users)
        arn = table_stream_arn(dynamodb_client(), get_settings().table_name)
        catalogue = Catalogue(api, raters, StreamRunner(streams, arn, handler))
        for fields in made:
            catalogue.create(fields)
        for step in [*rated, *changes]:
            catalogue.apply(step)
        catalogue.stream.drain()
        assert catalogue.stream.given_up == []
        check_lists(catalogue, rnd)
        check_searches(catalogue, rnd)

    example()
