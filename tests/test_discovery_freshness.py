"""Every list and search follows a movie's changes once the stream has been delivered.

A movie created, renamed, re-genred, re-dated or deleted shows up in,
moves in or leaves every sorted and filtered list and every search; a
rating change moves it in the ranked orders. Each test looks at every list
there is for the years involved (4 sorts, each unfiltered, by each of the
19 genres and by each year), not only the ones it expects the movie in.
"""

from __future__ import annotations

from typing import Any

import pytest

from devtools.stream_runner import StreamRunner
from tests.helpers.api import Api, User, body
from tests.helpers.discovery import GENRES, SORTS, all_items, ids, label, new_movie, rate, unrate
from tests.helpers.movies import remaining

Places = dict[str, dict[str, Any]]  # a list's label: the movie as that list shows it


def places(api: Api, movie_id: int, years: list[int]) -> Places:
    """Every list that holds the movie (for these years), and what each shows of it."""
    filters: list[dict[str, Any]] = [
        {},
        *({"genre": g} for g in GENRES),
        *({"year": y} for y in years),
    ]
    found = {}
    for sort in SORTS:
        for each in filters:
            params = {"sort": sort, **each}
            shown = [
                item for item in all_items(api, "/movies", params, 100) if item["id"] == movie_id
            ]
            assert len(shown) <= 1, params
            if shown:
                found[label(params)] = shown[0]
    return found


def lists_of(genres: list[str], year: int | None, *, rated: bool) -> set[str]:
    """The labels of the lists a movie with these genres, year and ratings belongs in."""
    filters: list[dict[str, Any]] = [{}, *({"genre": genre} for genre in genres)]
    filters += [{"year": year}] if year else []
    sorts = ["newest", *(["release_date"] if year else []), *(["top_rated", "most_rated"] * rated)]
    return {label({"sort": sort, **each}) for sort in sorts for each in filters}


def found(api: Api, query: str) -> list[int]:
    return ids(all_items(api, "/movies/search", {"q": query}, 100))


def change(api: Api, owner: User, movie_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    response = api.patch(f"/movies/{movie_id}", fields, token=owner.token)
    assert response.status_code == 200, response.body
    return body(response)  # type: ignore[no-any-return]


def test_a_created_movie_is_in_each_of_its_lists_and_searches(
    api: Api, alice: User, stream: StreamRunner
) -> None:
    movie = new_movie(
        api, alice, "Queen of Girls", genres=["War", "Drama"], release_date="2001-04-25"
    )
    stream.drain()
    where = places(api, movie["id"], [2001])
    assert set(where) == lists_of(["Drama", "War"], 2001, rated=False)
    assert all(shown == movie for shown in where.values())
    for query in ("queen", "QUEEN of", "gir", "of", "Queen of Girls"):
        assert found(api, query) == [movie["id"]], query


def test_a_renamed_movie_is_found_by_its_new_title_only(
    api: Api, alice: User, stream: StreamRunner
) -> None:
    movie = new_movie(api, alice, "Queen of Girls", genres=["Drama"], release_date="2001-04-25")
    stream.drain()
    renamed = change(api, alice, movie["id"], {"title": "King of Boys"})
    stream.drain()
    assert found(api, "queen") == found(api, "girls") == []
    assert found(api, "king bo") == found(api, "of") == [movie["id"]]
    where = places(api, movie["id"], [2001])
    assert set(where) == lists_of(["Drama"], 2001, rated=False)
    assert all(shown == renamed for shown in where.values())


def test_a_regenred_movie_leaves_its_old_genres_lists_and_joins_the_new(
    api: Api, alice: User, bob: User, stream: StreamRunner
) -> None:
    movie = new_movie(api, alice, "Genred", genres=["Drama", "War"], release_date="2001-04-25")
    rate(api, bob, movie["id"], 8)
    stream.drain()
    assert set(places(api, movie["id"], [2001])) == lists_of(["Drama", "War"], 2001, rated=True)
    change(api, alice, movie["id"], {"genres": ["horror", "Comedy", "War"]})
    stream.drain()
    where = places(api, movie["id"], [2001])
    assert set(where) == lists_of(["Comedy", "Horror", "War"], 2001, rated=True)
    assert {tuple(shown["genres"]) for shown in where.values()} == {("Comedy", "Horror", "War")}
    change(api, alice, movie["id"], {"genres": None})
    stream.drain()
    assert set(places(api, movie["id"], [2001])) == lists_of([], 2001, rated=True)


def test_a_redated_movie_moves_between_years_and_an_undated_one_leaves_the_dated_lists(
    api: Api, alice: User, bob: User, stream: StreamRunner
) -> None:
    movie = new_movie(api, alice, "Dated", genres=["Drama"], release_date="2001-04-25")
    rate(api, bob, movie["id"], 3)
    stream.drain()
    moved = change(api, alice, movie["id"], {"release_date": "1999-12-31"})
    stream.drain()
    where = places(api, movie["id"], [1999, 2001])
    assert set(where) == lists_of(["Drama"], 1999, rated=True)
    assert {shown["release_date"] for shown in where.values()} == {"1999-12-31"}
    assert moved["release_date"] == "1999-12-31"
    change(api, alice, movie["id"], {"release_date": None})
    stream.drain()
    assert set(places(api, movie["id"], [1999, 2001])) == lists_of(["Drama"], None, rated=True)


def test_a_rating_change_moves_the_movie_in_the_ranked_orders(
    api: Api, alice: User, bob: User, stream: StreamRunner
) -> None:
    first = new_movie(api, alice, "First", genres=["Drama"])["id"]
    second = new_movie(api, alice, "Second", genres=["Drama"])["id"]
    rate(api, alice, first, 8)  # damped 63/11
    rate(api, bob, second, 6)  # 61/11
    stream.drain()
    top = {"sort": "top_rated", "genre": "Drama"}
    assert ids(all_items(api, "/movies", top, 100)) == [first, second]
    rate(api, bob, second, 10)  # re-rated: 65/11
    rate(api, alice, second, 7)  # two ratings now: 72/12
    stream.drain()
    assert ids(all_items(api, "/movies", top, 100)) == [second, first]
    assert ids(all_items(api, "/movies", {"sort": "most_rated"}, 100)) == [second, first]
    [shown, _] = all_items(api, "/movies", top, 100)
    assert (shown["average_rating"], shown["rating_count"]) == (8.5, 2)
    unrate(api, alice, first)
    stream.drain()
    assert set(places(api, first, [])) == lists_of(["Drama"], None, rated=False)
    assert ids(all_items(api, "/movies", top, 100)) == [second]


@pytest.mark.parametrize("path", ["/movies/{id}", "/movie_delete/{id}"])
def test_a_deleted_movie_leaves_every_list_and_search_and_its_entries_go(
    api: Api, alice: User, bob: User, stream: StreamRunner, path: str
) -> None:
    movie_id = new_movie(
        api, alice, "Queen of Girls", genres=["Drama", "War"], release_date="2001-04-25"
    )["id"]
    kept = new_movie(api, alice, "Queen of Hearts", genres=["Drama"], release_date="2001-04-25")
    rate(api, bob, movie_id, 9)
    stream.drain()
    assert set(places(api, movie_id, [2001])) == lists_of(["Drama", "War"], 2001, rated=True)
    assert any(item.sk.startswith("LIST#") for item in remaining(movie_id))
    response = api.delete(path.format(id=movie_id), token=alice.token)
    assert response.status_code in (200, 204), response.body
    stream.drain()
    assert places(api, movie_id, [2001]) == {}
    assert found(api, "queen") == [kept["id"]]
    assert found(api, "gir") == []
    assert remaining(movie_id) == []
