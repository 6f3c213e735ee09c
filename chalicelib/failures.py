"""What storage reports when a request cannot be done: domain failures, with no HTTP in them.

Storage raises these and knows nothing of status codes, messages or where
in a request a bad value came from; ``chalicelib.http.failures`` is the one
place that turns each into the contract's answer (status, ``detail``,
``loc``). Routes declare the failures they can meet by these classes too,
so the document's examples come from that same mapping.
"""

from __future__ import annotations


class Failure(Exception):
    """A request that cannot be done as asked."""


class NotFound(Failure):
    """What the request names does not exist (or no longer does)."""


class MovieNotFound(NotFound):
    pass


class CommentNotFound(NotFound):
    pass


class RatingNotFound(NotFound):
    pass


class UserNotFound(NotFound):
    pass


class NotOwner(Failure):
    """The caller may not ``action`` this ``entity``: it is someone else's."""

    def __init__(self, entity: str, action: str) -> None:
        self.entity = entity
        self.action = action
        super().__init__(f"{action} {entity}")


class NameTaken(Failure):
    """Another user holds this ``field`` (``"username"`` or ``"email"``)."""

    def __init__(self, field: str) -> None:
        self.field = field
        super().__init__(field)


class ReplyTooDeep(Failure):
    """A reply to ``parent_id`` would nest deeper than ``max_depth`` levels."""

    def __init__(self, parent_id: int, max_depth: int) -> None:
        self.parent_id = parent_id
        self.max_depth = max_depth
        super().__init__(f"{parent_id}: over {max_depth}")


class Unavailable(Failure):
    """DynamoDB stayed throttled, failing or silent through every retry: come back shortly."""
