"""The migration's pure plan step: rows in, stored values and changes out (no I/O)."""

from __future__ import annotations

import datetime as dt

from devtools.migrate.plan import plan
from devtools.migrate.source import CommentRow, MovieRow, RatingRow, SourceData, UserRow

AT = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
HASH = "$2b$04$" + "a" * 53


def user(user_id: int, username: str, email: str | None = None) -> UserRow:
    return UserRow(
        user_id, "A", "B", "+12345678901", email or f"{user_id}@x.org", username, HASH, AT, AT
    )


def movie(movie_id: int, owner: int | None = 1) -> MovieRow:
    return MovieRow(movie_id, "T", "D", dt.date(2000, 1, 1), owner, AT, AT)


def comment(cid: int, parent: int | None, movie_id: int | None = 1) -> CommentRow:
    return CommentRow(cid, f"text {cid}", AT, AT, movie_id, 1, parent)


def test_a_suffixed_name_that_is_taken_too_gets_the_next_suffix() -> None:
    rows = [user(1, "ada"), user(2, "ada-3"), user(3, "ADA")]
    names = {u.id: u.username for u in plan(SourceData(users=rows), migrated_at=AT).users}
    assert names == {1: "ada", 2: "ada-3", 3: "ADA-3-2"}


def test_valid_names_win_over_cleaned_ones_whatever_the_ids() -> None:
    rows = [user(1, "zoë"), user(2, "zoe")]
    names = {u.id: u.username for u in plan(SourceData(users=rows), migrated_at=AT).users}
    assert names == {1: "zoe-1", 2: "zoe"}


def test_the_latest_valid_rating_counts_even_after_a_later_invalid_one() -> None:
    ratings = [RatingRow(1, 4, 1, 1), RatingRow(2, 6, 1, 1), RatingRow(3, 42, 1, 1)]
    result = plan(
        SourceData(users=[user(1, "ada")], movies=[movie(1)], ratings=ratings), migrated_at=AT
    )
    assert [(r.id, r.rating) for r in result.ratings] == [(2, 6)]
    assert sorted(c.kind for c in result.changes) == ["rating_out_of_range", "rating_superseded"]
    assert {m: [r.rating for r in kept] for m, kept in result.ratings_of().items()} == {1: [6]}


def test_threads_deeper_than_the_cap_hang_under_the_deepest_allowed_ancestor() -> None:
    rows = [comment(1, None)] + [comment(cid, cid - 1) for cid in range(2, 41)]
    result = plan(
        SourceData(users=[user(1, "ada")], movies=[movie(1)], comments=rows), migrated_at=AT
    )
    paths = {c.id: c.ancestors for c in result.comments}
    assert len(paths[33]) == 32 and paths[33][-1] == 32
    assert all(paths[cid] == tuple(range(1, 33)) for cid in range(34, 41))
    replies = {c.id: c.reply_count for c in result.comments}
    assert replies[32] == 8 and replies[33] == 0


def test_a_loop_of_replies_is_broken_at_its_oldest_comment() -> None:
    rows = [comment(5, 7), comment(6, 5), comment(7, 6)]
    result = plan(
        SourceData(users=[user(1, "ada")], movies=[movie(1)], comments=rows), migrated_at=AT
    )
    assert {c.id: c.ancestors for c in result.comments} == {5: (), 6: (5,), 7: (5, 6)}
    assert [c.kind for c in result.changes] == ["comment_parent_cycle"]


def test_missing_and_disordered_timestamps_are_filled_and_reported() -> None:
    late = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    rows = [
        MovieRow(1, "T", "D", dt.date(2000, 1, 1), None, None, None),
        MovieRow(2, "T", "D", dt.date(2000, 1, 1), None, late, late - dt.timedelta(days=1)),
    ]
    result = plan(SourceData(movies=rows), migrated_at=AT)
    assert [(m.created_at, m.updated_at) for m in result.movies] == [(AT, AT), (late, late)]
    kinds = sorted(c.kind for c in result.changes)
    assert kinds == ["movie_owner_missing"] * 2 + ["timestamp_missing", "timestamp_order"]
