"""What discovery means, apart from where it is stored: genres, title words, the ranked scores.

Shared by the request models (which check a genre or a query), storage
(which files each movie under its lists and search words) and the tests'
brute-force reference, so the three cannot mean different things.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# TMDB's movie genres, in the order every answer lists them.
GENRES: tuple[str, ...] = (
    "Action",
    "Adventure",
    "Animation",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Family",
    "Fantasy",
    "History",
    "Horror",
    "Music",
    "Mystery",
    "Romance",
    "Science Fiction",
    "TV Movie",
    "Thriller",
    "War",
    "Western",
)
MAX_GENRES = 3
_CANONICAL = {name.casefold(): name for name in GENRES}
_ORDER = {name: position for position, name in enumerate(GENRES)}

# The damped average: ten phantom votes of 5.5, so one 10 does not outrank a thousand 9s.
PHANTOM_VOTES = 10
PHANTOM_SUM = 55
# The damped average as an integer, scaled so that two different averages never round to
# the same one: two fractions with denominators under 10**10 differ by more than 10**-20.
SCORE_SCALE = 10**20

_WORD = re.compile(r"[^\W_]+")  # a run of letters or digits, in any script


def canonical_genre(name: str) -> str | None:
    """The set's spelling of ``name`` (any case, outer spaces ignored); ``None``: not a genre."""
    return _CANONICAL.get(name.strip().casefold())


def in_set_order(names: Iterable[str]) -> list[str]:
    """Canonical names, duplicates collapsed, in the set's order."""
    return sorted(set(names), key=_ORDER.__getitem__)


def words(text: str) -> list[str]:
    """The words of ``text`` as search compares them: accents, case and punctuation gone.

    Compatibility-decomposed (``ﬁ`` is ``fi``, ``é`` is ``e`` plus an accent),
    every mark dropped (accents, and the vowel signs of Indic scripts, which
    are marks too: dropped, not word breaks), case-folded (``ß`` is ``ss``),
    then split into runs of letters or digits: punctuation separates words,
    so "Spider-Man" is the words ``spider`` and ``man``.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.category(char).startswith("M"))
    return _WORD.findall(bare.casefold())


def damped_score(rating_count: int, rating_sum: int) -> int:
    """``(sum + 55) / (count + 10)`` times ``SCORE_SCALE``, floored: ordered as the average."""
    return (rating_sum + PHANTOM_SUM) * SCORE_SCALE // (rating_count + PHANTOM_VOTES)
