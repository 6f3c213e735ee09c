"""Movies with children, what is left of them, and the invariants of their comment threads.

Shared by the cleanup, fault and race tests, which each check that nothing
is lost, doubled or orphaned.
"""

from __future__ import annotations

from chalicelib.storage.table import (
    CommentItem,
    CommentRefItem,
    MovieItem,
    RatingItem,
    TableItem,
)


def add_children(movie_id: int, ids: range) -> None:
    """Ratings and comments (with refs) written straight into the table."""
    with TableItem.batch_write() as batch:
        for n in ids:
            batch.save(RatingItem.new(movie_id, n, 5, n))
            comment = CommentItem.new(movie_id, [], n, n, "hello")
            batch.save(comment)
            batch.save(CommentRefItem.new(comment))


def remaining(movie_id: int) -> list[TableItem]:
    partition = MovieItem.partition(movie_id)
    return list(TableItem.query(partition, consistent_read=True))


def assert_no_orphans_and_exact_counts(movie_id: int) -> None:
    """Every stored comment's parent is stored, and every reply_count is exact."""
    stored = list(
        TableItem.query(
            MovieItem.partition(movie_id),
            TableItem.sk.startswith(CommentItem.PREFIX),
            consistent_read=True,
        )
    )
    by_id = {item.id: item for item in stored if isinstance(item, CommentItem)}
    assert len(by_id) == len(stored)
    children: dict[int, int] = dict.fromkeys(by_id, 0)
    for item in by_id.values():
        if item.parent_comment_id is not None:
            assert item.parent_comment_id in by_id, f"orphan {item.id}"
            children[item.parent_comment_id] += 1
    for comment_id, item in by_id.items():
        ref = CommentRefItem.get(*CommentRefItem.key(comment_id), consistent_read=True)
        assert (item.reply_count, ref.reply_count) == (children[comment_id],) * 2
        assert (ref.deleted, ref.user_id) == (item.deleted, item.user_id)
