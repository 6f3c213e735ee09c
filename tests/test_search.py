# ruff: noqa: RUF001  (Greek and Cyrillic titles look like Latin letters, on purpose)
"""``GET /movies/search``: every word of ``q`` begins some word of the title.

Case, accents and punctuation do not matter; the results are most rated
first, then newest, in the ``GET /movies`` envelope and paged the same way.
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.storage.table import LIST_SHARDS, spread
from devtools.stream_runner import StreamRunner
from tests.helpers.api import Api, User, body
from tests.helpers.discovery import all_items, every_page, ids, new_movie, page, rate, unrate, url

NO_WORDS = "Query should contain at least one word (letters or digits)"


def found(api: Api, query: str, limit: int = 100) -> list[int]:
    return ids(all_items(api, "/movies/search", {"q": query}, limit))


def titled(api: Api, owner: User, *titles: str) -> dict[str, int]:
    return {title: new_movie(api, owner, title)["id"] for title in titles}


def test_each_word_of_the_query_begins_some_word_of_the_title(
    api: Api, alice: User, stream: StreamRunner
) -> None:
    made = titled(api, alice, "Queen of Girls", "Queen of Hearts", "Girls' Queen", "Aqueen gir")
    stream.drain()
    assert found(api, "quee gir") == [made["Girls' Queen"], made["Queen of Girls"]]
    assert found(api, "gir quee") == [made["Girls' Queen"], made["Queen of Girls"]]
    assert found(api, "queen") == [
        made["Girls' Queen"],
        made["Queen of Hearts"],
        made["Queen of Girls"],
    ]


@pytest.mark.parametrize(
    ("title", "queries"),
    [
        ("Amélie", ["amelie", "AMÉLIE", "Amélie", "ame", "AME"]),
        ("AMELIE", ["amélie", "Amé"]),
        ("Spider-Man", ["spider man", "spider-man", "SPIDER.MAN", "man", "spider,"]),
        ("Die Straße", ["strasse", "STRASSE", "straße", "die str"]),
        ("Ζορμπάς ο Έλληνας", ["ζορμπας", "ΖΟΡΜΠΆΣ", "ελλ"]),
        ("Москва слезам не верит", ["москва", "МОСК", "не вер"]),
        ("The ﬁnal cut", ["final", "the fin"]),
        ("2001: A Space Odyssey", ["2001", "200 space", "odys"]),
    ],
)
def test_case_accents_and_punctuation_do_not_matter(
    api: Api, alice: User, stream: StreamRunner, title: str, queries: list[str]
) -> None:
    movie_id = new_movie(api, alice, title)["id"]
    stream.drain()
    assert {query: found(api, query) for query in queries} == {
        query: [movie_id] for query in queries
    }


@pytest.mark.parametrize(
    ("title", "query"),
    [
        ("Queen of Girls", "ueen"),  # inside a word, not at its start
        ("Queen of Girls", "irls"),
        ("Queen of Girls", "queens"),  # longer than the title's word
        ("Queen of Girls", "queen boys"),  # one word matches, the other does not
        ("Spider-Man", "spiderman"),  # punctuation separates words
        ("千と千尋の神隠し", "千尋"),  # no spaces: one word, which 千尋 does not begin
    ],
)
def test_a_query_word_that_begins_no_title_word_finds_nothing(
    api: Api, alice: User, stream: StreamRunner, title: str, query: str
) -> None:
    new_movie(api, alice, title)
    stream.drain()
    assert found(api, query) == []


def test_a_vowel_sign_is_part_of_its_word_not_the_start_of_another(
    api: Api, alice: User, stream: StreamRunner
) -> None:
    """Devanagari and Tamil vowel signs are combining marks, like accents: no word starts there.

    "हिन्दी" (Hindi) does not begin with "नदी" (river), nor "தமிழ்" (Tamil) with "ழ".
    """
    hindi = new_movie(api, alice, "हिन्दी")["id"]
    tamil = new_movie(api, alice, "தமிழ்")["id"]
    stream.drain()
    assert (found(api, "हिन्दी"), found(api, "தமிழ்")) == ([hindi], [tamil])
    assert (found(api, "नदी"), found(api, "ழ")) == ([], [])


def test_words_are_compared_beyond_twenty_characters(
    api: Api, alice: User, stream: StreamRunner
) -> None:
    movie_id = new_movie(api, alice, "Supercalifragilisticexpialidocious")["id"]
    new_movie(api, alice, "Supercalifragilisticexpert")
    stream.drain()
    assert found(api, "supercalifragilisticexpi") == [movie_id]
    assert found(api, "Supercalifragilisticexpialidocious") == [movie_id]
    assert len(found(api, "supercalifragilistic")) == 2


def test_results_are_most_rated_first_then_newest(
    api: Api, alice: User, bob: User, stream: StreamRunner
) -> None:
    made = titled(api, alice, "Star one", "Star two", "Star three", "Star four", "No match")
    for user in (alice, bob):
        rate(api, user, made["Star two"], 4)
    rate(api, bob, made["Star four"], 10)
    rate(api, bob, made["No match"], 10)
    stream.drain()
    order = ["Star two", "Star four", "Star three", "Star one"]
    assert found(api, "star") == [made[title] for title in order]
    rate(api, alice, made["Star one"], 1)
    rate(api, bob, made["Star one"], 2)
    unrate(api, bob, made["Star two"])
    stream.drain()  # a rating change moves a movie in search as in the ranked lists
    order = ["Star one", "Star four", "Star two", "Star three"]
    assert found(api, "star") == [made[title] for title in order]
    [first] = page(api, "/movies/search", {"q": "star", "limit": 1})["data"]
    assert (first["title"], first["rating_count"], first["average_rating"]) == ("Star one", 2, 1.5)


@pytest.mark.parametrize("limit", [1, 2, 3, 5])
def test_a_query_of_several_words_pages_to_exactly_its_matches(
    api: Api, alice: User, stream: StreamRunner, limit: int
) -> None:
    titles = [f"Queen {n}" if n % 4 else f"Queen of Girls {n}" for n in range(13)]
    made = titled(api, alice, *titles)
    stream.drain()
    matches = [made[title] for title in reversed(titles) if "Girls" in title]
    pages = every_page(api, "/movies/search", {"q": "queen gir"}, limit)
    assert ids([item for items in pages for item in items]) == matches
    one_word = every_page(api, "/movies/search", {"q": "queen"}, limit)
    assert ids([item for items in one_word for item in items]) == list(reversed(made.values()))
    assert all(len(items) == limit for items in one_word[:-1])  # one word: full pages


def test_a_query_of_several_words_keeps_the_order_across_the_lists_shards(
    api: Api, alice: User, stream: StreamRunner
) -> None:
    """Two matches on different shards, and the newer one's shard full of near misses.

    The list is read a page's worth per shard: a page may not show the
    older match of one shard while the other shard still has unread, newer
    entries (here the newer match, behind two titles that lack "gir").
    """
    older = new_movie(api, alice, "Queen of Girls")["id"]
    roles = ["Queen of Girls", "Queen", "Queen"]  # on the other shard, oldest first
    newer = None
    while roles:
        movie_id = new_movie(api, alice, "Unlisted")["id"]
        if spread(movie_id, LIST_SHARDS) != spread(older, LIST_SHARDS):
            title = roles.pop(0)
            response = api.patch(f"/movies/{movie_id}", {"title": title}, token=alice.token)
            assert response.status_code == 200, response.body
            newer = movie_id if title == "Queen of Girls" else newer
    stream.drain()
    assert found(api, "queen gir") == [newer, older]  # one page: in order
    assert found(api, "queen gir", limit=1) == [newer, older]  # page by page: the same


# ---------------------------------------------------------------- bad input


def q_error(kind: str, msg: str, value: Any, **ctx: Any) -> dict[str, Any]:
    detail = {"type": kind, "loc": ["query", "q"], "msg": msg, "input": value}
    return {"detail": [detail | ({"ctx": ctx} if ctx else {})]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, q_error("missing", "Field required", {})),
        (
            {"q": ""},
            q_error(
                "string_too_short", "String should have at least 1 character", "", min_length=1
            ),
        ),
        ({"q": "   "}, q_error("no_words", NO_WORDS, "   ")),
        ({"q": "!!!"}, q_error("no_words", NO_WORDS, "!!!")),
        ({"q": "- _ ."}, q_error("no_words", NO_WORDS, "- _ .")),
        (
            {"q": "a" * 101},
            q_error(
                "string_too_long",
                "String should have at most 100 characters",
                "a" * 101,
                max_length=100,
            ),
        ),
    ],
    ids=["missing", "empty", "blank", "punctuation", "underscore", "101-characters"],
)
def test_a_query_without_a_word_or_too_long_is_422(
    api: Api, params: dict[str, str], expected: dict[str, Any]
) -> None:
    response = api.get(url("/movies/search", params))
    assert response.status_code == 422
    assert body(response) == expected


def test_a_query_of_a_hundred_characters_is_fine(api: Api) -> None:
    assert page(api, "/movies/search", {"q": "a" * 100})["data"] == []


@pytest.mark.parametrize(
    ("limit", "kind", "msg", "ctx"),
    [
        ("0", "greater_than_equal", "Input should be greater than or equal to 1", {"ge": 1}),
        ("101", "less_than_equal", "Input should be less than or equal to 100", {"le": 100}),
    ],
)
def test_a_search_limit_outside_1_to_100_is_422(
    api: Api, limit: str, kind: str, msg: str, ctx: dict[str, int]
) -> None:
    response = api.get(f"/movies/search?q=queen&limit={limit}")
    assert response.status_code == 422
    assert body(response) == {
        "detail": [
            {"type": kind, "loc": ["query", "limit"], "msg": msg, "input": limit, "ctx": ctx}
        ]
    }


@pytest.fixture
def search_cursor(api: Api, alice: User, stream: StreamRunner) -> str:
    titled(api, alice, "Queen one", "Queen two", "King one", "King two")
    stream.drain()
    cursor: str = page(api, "/movies/search", {"q": "queen", "limit": 1})["next_cursor"]
    assert cursor is not None
    return cursor


@pytest.mark.parametrize(
    ("path", "params"),
    [("/movies/search", {"q": "king"}), ("/movies/search", {"q": "queen one"}), ("/movies", {})],
    ids=["another-q", "another-words", "a-list"],
)
def test_a_search_cursor_is_refused_elsewhere(
    api: Api, search_cursor: str, path: str, params: dict[str, str]
) -> None:
    response = api.get(url(path, {**params, "cursor": search_cursor}))
    assert response.status_code == 400
    assert body(response) == {"detail": "Cursor belongs to a different list"}


def test_a_tampered_search_cursor_is_400(api: Api, search_cursor: str) -> None:
    payload, signature = search_cursor.split(".")
    forged = payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + signature
    response = api.get(url("/movies/search", {"q": "queen", "cursor": forged}))
    assert response.status_code == 400
    assert body(response) == {"detail": "Invalid cursor"}
