"""Comment trees: the original's ``parent_comment_id`` links as our thread paths.

Our comments live at their path from the thread's root, so each kept
comment needs a parent that is kept, on the same movie, with no loop back
to itself, no deeper than ``MAX_COMMENT_DEPTH`` replies down. In order:

1. a reply whose parent is unknown, or on another movie, becomes a
   top-level comment of its own movie;
2. replies that form a loop (only a hand edit makes one): the oldest
   comment of the loop becomes top-level;
3. a comment on no movie, or an unknown one, is dropped (after step 1 its
   replies are on no movie either, so they go too, each reported);
4. a reply deeper than the cap moves up to the deepest level allowed,
   under its ancestor there (so it stays in its thread, after its parent);
5. a comment whose author is NULL or unknown is kept without one.

``reply_count`` is then the number of replies each comment keeps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from chalicelib.storage.imports import ImportedComment
from chalicelib.storage.table import MAX_COMMENT_DEPTH
from devtools.migrate.report import Change
from devtools.migrate.source import CommentRow
from devtools.migrate.times import Clock

MAX_TEXT = 2000
MIN_TEXT = 2


def plan_comments(
    rows: Iterable[CommentRow],
    user_ids: set[int],
    movie_ids: set[int],
    clock: Clock,
    changes: list[Change],
) -> list[ImportedComment]:
    by_id = {row.id: row for row in rows}
    parents = _parents(by_id, changes)
    _break_loops(parents, changes)
    kept = {cid for cid, row in by_id.items() if _on_a_movie(row, movie_ids, changes)}
    ancestors = _paths(sorted(kept), parents, changes)
    replies = Counter(path[-1] for path in ancestors.values() if path)
    comments = []
    for cid in sorted(kept):
        row = by_id[cid]
        created, updated = clock.times("comments", cid, row.created_at, row.updated_at)
        assert row.movie_id is not None
        comments.append(
            ImportedComment(
                id=cid,
                movie_id=row.movie_id,
                ancestors=ancestors[cid],
                user_id=_author(row, user_ids, changes),
                comment_text=_text(row, changes),
                created_at=created,
                updated_at=updated,
                reply_count=replies[cid],
            )
        )
    return comments


def _parents(by_id: dict[int, CommentRow], changes: list[Change]) -> dict[int, int | None]:
    """Each comment's parent, or ``None`` for top-level ones (step 1)."""
    parents: dict[int, int | None] = {}
    for cid, row in by_id.items():
        parent = by_id.get(row.parent_comment_id) if row.parent_comment_id is not None else None
        if row.parent_comment_id is not None and parent is None:
            changes.append(_top_level("comment_parent_missing", row))
        elif parent is not None and parent.movie_id != row.movie_id:
            changes.append(_top_level("comment_parent_other_movie", row, parent.movie_id))
            parent = None
        parents[cid] = parent.id if parent is not None else None
    return parents


def _break_loops(parents: dict[int, int | None], changes: list[Change]) -> None:
    """Make the oldest comment of each loop top-level (step 2)."""
    settled: set[int] = set()
    for start in sorted(parents):
        trail: list[int] = []
        on_trail: set[int] = set()
        cid: int | None = start
        while cid is not None and cid not in settled and cid not in on_trail:
            trail.append(cid)
            on_trail.add(cid)
            cid = parents[cid]
        if cid is not None and cid in on_trail:
            loop = trail[trail.index(cid) :]
            oldest = min(loop)
            changes.append(
                Change(
                    "comment_parent_cycle",
                    "comments",
                    oldest,
                    "kept as a top-level comment",
                    {"loop": sorted(loop), "parent_comment_id": parents[oldest]},
                )
            )
            parents[oldest] = None
        settled.update(trail)


def _on_a_movie(row: CommentRow, movie_ids: set[int], changes: list[Change]) -> bool:
    """Step 3."""
    if row.movie_id in movie_ids:
        return True
    details = {"movie_id": row.movie_id, "user_id": row.user_id, "comment_text": row.comment_text}
    changes.append(Change("comment_movie_missing", "comments", row.id, "dropped", details))
    return False


def _paths(
    kept: list[int], parents: dict[int, int | None], changes: list[Change]
) -> dict[int, tuple[int, ...]]:
    """Each comment's ancestors, root first, capped at ``MAX_COMMENT_DEPTH`` (step 4).

    Iterative, parents before replies, so a thread thousands deep needs no
    recursion.
    """
    paths: dict[int, tuple[int, ...]] = {}
    for start in kept:
        pending: list[int] = []
        cid: int | None = start
        while cid is not None and cid not in paths:
            pending.append(cid)
            cid = parents[cid]
        for cid in reversed(pending):
            parent = parents[cid]
            path = () if parent is None else (*paths[parent], parent)
            if len(path) > MAX_COMMENT_DEPTH:
                path = path[:MAX_COMMENT_DEPTH]
                changes.append(
                    Change(
                        "comment_reparented",
                        "comments",
                        cid,
                        f"now a reply to comment {path[-1]}, {MAX_COMMENT_DEPTH} levels down",
                        {"parent_comment_id": parent, "new_parent_comment_id": path[-1]},
                    )
                )
            paths[cid] = path
    return paths


def _author(row: CommentRow, user_ids: set[int], changes: list[Change]) -> int | None:
    """Step 5."""
    if row.user_id in user_ids:
        return row.user_id
    details = {"user_id": row.user_id}
    changes.append(
        Change("comment_author_missing", "comments", row.id, "kept without an author", details)
    )
    return None


def _text(row: CommentRow, changes: list[Change]) -> str:
    text = row.comment_text.strip()
    if len(text) > MAX_TEXT:
        changes.append(
            Change(
                "comment_text_truncated",
                "comments",
                row.id,
                f"cut to its first {MAX_TEXT} characters",
                {"length": len(text), "original": row.comment_text},
            )
        )
        return text[:MAX_TEXT]
    if len(text) < MIN_TEXT:
        details = {"comment_text": row.comment_text}
        changes.append(Change("comment_text_short", "comments", row.id, "kept", details))
    return text


def _top_level(kind: str, row: CommentRow, other_movie: int | None = None) -> Change:
    details: dict[str, int | None] = {"parent_comment_id": row.parent_comment_id}
    if other_movie is not None:
        details["parent_movie_id"] = other_movie
    return Change(kind, "comments", row.id, "kept as a top-level comment", details)
