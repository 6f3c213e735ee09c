"""Comments: threads of replies at any depth, paged by thread in one Query.

A comment lives in its movie's item collection at ``MOVIE#C#<root>#...#<id>``
(see ``CommentItem``), so a thread is one contiguous key range, parents
before replies, oldest first. ``COMMENT#<id>``/``REF`` (``CommentRefItem``)
says where a comment lives; it is written and changed in the same
transactions as the comment, so every write by comment id starts with one
consistent GetItem of it and then sends one write:

* add: one transaction (comment, ref, the movie exists).
* reply: the parent's ref, then one transaction (reply, its ref, the
  parent's ``reply_count`` + 1 on the comment and its ref, provided the
  parent is not deleted, and the movie exists).
* edit: the ref, then one UpdateItem conditioned on the author.
* delete: the ref, then one transaction. With replies it leaves a tombstone
  (``deleted``, text and author cleared) so the replies keep their place;
  without, it removes the comment and its ref and takes one off the
  parent's ``reply_count``. The removal is conditioned on
  ``reply_count = 0`` and the tombstone on ``reply_count > 0``: a reply that
  lands between the read and the write fails that condition, and the delete
  starts again from the read (``retry_on_race``). A reply conditioned on its
  parent not being deleted cannot land under a removed or tombstoned
  parent, so no reply is ever orphaned or lost.

Authorisation is part of the write: the author's delete or edit is
conditioned on ``user_id`` = caller; anyone else's delete carries a
ConditionCheck that the caller owns the movie (its moderator), so neither
needs a read of the movie.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib import failures
from chalicelib.storage.engine import (
    ConditionFailed,
    RaceLost,
    Transaction,
    both,
    item_or_none,
    new_id,
    retry_on_race,
    updated,
    with_fresh_ids,
)
from chalicelib.storage.pages import CollectionPage, Key, key_of
from chalicelib.storage.table import (
    MAX_COMMENT_DEPTH,
    CommentItem,
    CommentRefItem,
    MovieItem,
    TableItem,
    utcnow,
)

MAX_ITEMS_PER_CALL = 1000

NEW_ID = "new id"
MOVIE = "movie"
OWNER = "movie owner"
COMMENT = "comment"
REF = "ref"
PARENT = "parent"
PARENT_REF = "parent ref"


@dataclass
class CommentNode:
    """A comment and its replies, oldest first."""

    comment: CommentItem
    replies: list[CommentNode] = field(default_factory=list)


def thread_page(
    movie_id: int,
    *,
    limit: int,
    skip: int = 0,
    start_key: Key | None = None,
    consistent: bool = True,
) -> CollectionPage[CommentNode]:
    """``limit`` top-level threads, oldest first, each with its whole reply tree.

    Queries of the movie's item collection from ``MOVIE`` (the movie item)
    through ``MOVIE#C#...`` (the comments, in materialised-path order, so
    each thread is contiguous and a parent precedes its replies). It reads
    until it meets the root of the thread after the page, whose start
    becomes the next page's key. A page's threads are fetched whole.

    The reads adapt, so that a page reads at most twice the comments it
    shows, plus two (the movie item and the next page's root): the first
    Query asks for ``2 * limit + 2`` items, which is one round trip for
    threads of up to two comments on average; while the page is still
    incomplete, each next Query asks for as many items as were read so far
    (all of them shown), so round trips grow with the logarithm of the
    page's size: 10 threads holding 1,000 comments take 7. ``skip`` (for
    seed clients) reads the threads it skips.

    A first page's Query passes over the movie item, so it says whether the
    movie exists. A page after a ``start_key`` does not, so a GetItem of the
    movie goes out at the same time as its first Query (one round trip): a
    later page of a movie deleted since is a 404 like its first page, not
    the comments its cleanup has not reached yet. ``consistent=False`` reads
    eventually consistently (half the read units).
    """
    page = _PageBuilder(skip, limit, start_key)
    asked = min(MAX_ITEMS_PER_CALL, 2 * (skip + limit) + 2)
    if start_key is None:
        items, key = _threads_from(movie_id, asked, None, consistent)
    else:
        (items, key), page.movie = both(
            partial(_threads_from, movie_id, asked, start_key, consistent),
            partial(_movie_or_none, movie_id, consistent),
        )
    while True:
        for item in items:
            if page.add(item):
                return page.result()
        if key is None:
            return page.result()
        items, key = _threads_from(movie_id, min(MAX_ITEMS_PER_CALL, page.read), key, consistent)


def _threads_from(
    movie_id: int, count: int, start_key: Key | None, consistent: bool
) -> tuple[list[TableItem], Key | None]:
    """One Query of up to ``count`` items from ``MOVIE`` (or after ``start_key``), and its end."""
    results = TableItem.query(
        MovieItem.partition(movie_id),
        TableItem.sk.startswith(MovieItem.SK),
        consistent_read=consistent,
        limit=count,
        page_size=count,
        last_evaluated_key=start_key,
    )
    return list(results), results.last_evaluated_key


def _movie_or_none(movie_id: int, consistent: bool) -> MovieItem | None:
    try:
        return MovieItem.get(*MovieItem.key(movie_id), consistent_read=consistent)
    except MovieItem.DoesNotExist:
        return None


class _PageBuilder:
    """Threads assembled from items in sort-key order, until the page is full."""

    def __init__(self, skip: int, limit: int, start_key: Key | None) -> None:
        self.skip, self.limit = skip, limit
        self.read = 0
        self.movie: MovieItem | None = None
        self.threads: list[CommentNode] = []
        self.by_id: dict[int, CommentNode] = {}
        self.roots_seen = 0
        self.last_kept: CommentItem | None = None
        self.last_key: Key | None = None
        self.start_key = start_key

    def add(self, item: TableItem) -> bool:
        """Take one item; ``True`` once it is the root of the thread after the page."""
        self.read += 1
        if isinstance(item, MovieItem):
            self.movie = item
            return False
        if not isinstance(item, CommentItem):
            return False
        path = CommentItem.path_ids(item.sk)
        if len(path) == 1:
            self.roots_seen += 1
            if self.roots_seen > self.skip + self.limit:
                kept = self.last_kept
                self.last_key = key_of(kept, "pk", "sk") if kept else self.start_key
                return True
        if self.roots_seen > self.skip:
            self._keep(item, path)
        return False

    def _keep(self, item: CommentItem, path: list[int]) -> None:
        node = CommentNode(item)
        self.by_id[int(item.id)] = node
        self.last_kept = item
        if len(path) == 1:
            self.threads.append(node)
        elif (parent := self.by_id.get(path[-2])) is not None:
            parent.replies.append(node)

    def result(self) -> CollectionPage[CommentNode]:
        return CollectionPage(self.movie, self.threads, self.last_key)


def add_comment(movie_id: int, user_id: int, text: str) -> CommentItem:
    """A new top-level comment: one transaction, which also checks the movie."""

    def attempt() -> CommentItem:
        comment = _new_comment(movie_id, [], user_id, text)
        tx = Transaction()
        _put_new(tx, comment)
        tx.check(MOVIE, MovieItem, MovieItem.key(movie_id), MovieItem.pk.exists())
        try:
            tx.commit()
        except ConditionFailed as exc:
            if MOVIE in exc.labels:
                raise failures.MovieNotFound() from exc
            raise
        return comment

    return with_fresh_ids(attempt, clash_label=NEW_ID)


def add_reply(parent_id: int, user_id: int, text: str) -> CommentItem:
    """A reply under ``parent_id``: the parent's ref, then one transaction.

    404 when the parent is unknown or deleted (a tombstone takes no new
    replies), also when that happens between the read and the write; 422
    when the reply would nest deeper than ``MAX_COMMENT_DEPTH``.
    """
    parent = _live_ref(parent_id)
    ancestors = CommentItem.path_ids(parent.comment_sk)
    if len(ancestors) > MAX_COMMENT_DEPTH:
        raise failures.ReplyTooDeep(parent_id, MAX_COMMENT_DEPTH)

    def attempt() -> CommentItem:
        reply = _new_comment(parent.movie_id, ancestors, user_id, text)
        tx = Transaction()
        _put_new(tx, reply)
        tx.update(PARENT, _comment_of(parent), [CommentItem.reply_count.add(1)], _not_tombstoned())
        tx.update(PARENT_REF, parent, [CommentRefItem.reply_count.add(1)])
        tx.check(MOVIE, MovieItem, MovieItem.key(parent.movie_id), MovieItem.pk.exists())
        try:
            tx.commit()
        except ConditionFailed as exc:
            if exc.labels & {PARENT, MOVIE}:
                raise failures.CommentNotFound() from exc
            raise
        return reply

    return with_fresh_ids(attempt, clash_label=NEW_ID)


def edit_comment(comment_id: int, user_id: int, text: str) -> CommentItem:
    """New text from the author: the ref, then one UpdateItem (author, not deleted)."""
    ref = _live_ref(comment_id)
    if ref.user_id != user_id:
        raise failures.NotOwner("comment", "edit")
    comment = _comment_of(ref)
    actions: list[Action] = [
        CommentItem.comment_text.set(text),
        CommentItem.updated_at.set(utcnow()),
    ]
    if not updated(comment, actions, _written_by(user_id)):
        raise failures.CommentNotFound()
    return comment


def delete_comment(comment_id: int, user_id: int) -> None:
    """Delete as the author or as the movie's owner: a tombstone or a removal.

    Each attempt is the ref read and one transaction; an attempt whose read
    went stale (a reply arrived, the last reply left) runs again.
    """
    retry_on_race(lambda: _delete_once(comment_id, user_id))


def _delete_once(comment_id: int, user_id: int) -> None:
    ref = _live_ref(comment_id)
    tx = Transaction()
    if ref.user_id == user_id:
        guard = _written_by(user_id)
    else:
        guard = _not_tombstoned()
        tx.check(OWNER, MovieItem, MovieItem.key(ref.movie_id), MovieItem.user_id == user_id)
    if ref.reply_count:
        _tombstone(tx, ref, guard)
    else:
        _remove(tx, ref, guard)
    try:
        tx.commit()
    except ConditionFailed as exc:
        if OWNER in exc.labels:
            raise failures.NotOwner("comment", "delete") from exc
        if exc.labels & {PARENT, PARENT_REF}:
            raise failures.CommentNotFound() from exc
        raise RaceLost() from exc


def _tombstone(tx: Transaction, ref: CommentRefItem, guard: Condition) -> None:
    """Keep the comment's place for its replies; forget its text and author."""
    tx.update(
        COMMENT,
        _comment_of(ref),
        [
            CommentItem.deleted.set(True),
            CommentItem.comment_text.set(""),
            CommentItem.user_id.remove(),
            CommentItem.updated_at.set(utcnow()),
        ],
        guard & (CommentItem.reply_count > 0),
    )
    tx.update(REF, ref, [CommentRefItem.deleted.set(True), CommentRefItem.user_id.remove()])


def _remove(tx: Transaction, ref: CommentRefItem, guard: Condition) -> None:
    """Remove a comment without replies, and count it out of its parent."""
    tx.delete(COMMENT, _comment_of(ref), guard & (CommentItem.reply_count == 0))
    tx.delete(REF, ref)
    path = CommentItem.path_ids(ref.comment_sk)
    if len(path) == 1:
        return
    parent_key = CommentItem.path_key(ref.movie_id, path[:-2], path[-2])
    tx.update(
        PARENT,
        CommentItem(*parent_key),
        [CommentItem.reply_count.add(-1)],
        CommentItem.pk.exists(),
    )
    tx.update(
        PARENT_REF,
        CommentRefItem(*CommentRefItem.key(path[-2])),
        [CommentRefItem.reply_count.add(-1)],
        CommentRefItem.pk.exists(),
    )


def _live_ref(comment_id: int) -> CommentRefItem:
    """The comment's ref (a consistent read); 404 if it is unknown or deleted."""
    ref: CommentRefItem | None = item_or_none(CommentRefItem, CommentRefItem.key(comment_id))
    if ref is None or ref.deleted:
        raise failures.CommentNotFound()
    return ref


def _new_comment(movie_id: int, ancestors: list[int], user_id: int, text: str) -> CommentItem:
    return CommentItem.new(movie_id, ancestors, new_id(), user_id, text)


def _put_new(tx: Transaction, comment: CommentItem) -> None:
    """Put the comment and its ref; both under ``NEW_ID``, whose clash retries."""
    tx.put(NEW_ID, comment, CommentItem.pk.does_not_exist())
    tx.put(NEW_ID, CommentRefItem.new(comment), CommentRefItem.pk.does_not_exist())


def _comment_of(ref: CommentRefItem) -> CommentItem:
    """The comment a ref points at, as a key-only item to write through."""
    return CommentItem(MovieItem.partition(ref.movie_id), ref.comment_sk)


def _not_tombstoned() -> Condition:
    live: Condition = CommentItem.pk.exists() & (CommentItem.deleted == False)  # noqa: E712
    return live


def _written_by(user_id: int) -> Condition:
    """The author's own comment, not a tombstone (a tombstone has no author)."""
    own: Condition = _not_tombstoned() & (CommentItem.user_id == user_id)
    return own
