"""Comments: threads of replies at any depth, paged by thread in one Query."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.storage.pages import CollectionPage, Key, key_of
from chalicelib.storage.table import CommentItem, MovieItem, TableItem

ITEMS_PER_THREAD_GUESS = 20
MAX_ITEMS_PER_CALL = 1000


@dataclass
class CommentNode:
    """A comment and its replies, oldest first."""

    comment: CommentItem
    replies: list[CommentNode] = field(default_factory=list)


def thread_page(
    movie_id: int, *, limit: int, skip: int = 0, start_key: Key | None = None
) -> CollectionPage[CommentNode]:
    """``limit`` top-level threads, oldest first, each with its whole reply tree.

    One Query over the movie's item collection from ``MOVIE`` (the movie
    item) through ``MOVIE#C#...`` (the comments, in materialised-path order,
    so each thread is contiguous and a parent precedes its replies). It
    reads until it meets the root of the thread after the page, whose start
    becomes the next page's key. A page's threads are fetched whole: if they
    hold more items than the first read asked for, the Query goes on.
    ``skip`` (for seed clients) reads the threads it skips.
    """
    partition = MovieItem.key(movie_id)[0]
    page_size = min(MAX_ITEMS_PER_CALL, (skip + limit + 1) * ITEMS_PER_THREAD_GUESS + 1)
    results = TableItem.query(
        partition,
        TableItem.sk.startswith(MovieItem.SK),
        consistent_read=True,
        page_size=page_size,
        last_evaluated_key=start_key,
    )
    movie: MovieItem | None = None
    threads: list[CommentNode] = []
    by_id: dict[int, CommentNode] = {}
    roots_seen = 0
    last_kept: CommentItem | None = None
    last_key: Key | None = None
    for item in results:
        if isinstance(item, MovieItem):
            movie = item
            continue
        if not isinstance(item, CommentItem):
            continue
        path = CommentItem.path_ids(item.sk)
        if len(path) == 1:
            roots_seen += 1
            if roots_seen > skip + limit:
                last_key = key_of(last_kept, "pk", "sk") if last_kept else start_key
                break
        if roots_seen <= skip:
            continue
        node = CommentNode(item)
        by_id[int(item.id)] = node
        last_kept = item
        if len(path) == 1:
            threads.append(node)
        elif (parent := by_id.get(path[-2])) is not None:
            parent.replies.append(node)
    return CollectionPage(movie, threads, last_key)
