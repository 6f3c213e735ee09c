"""Domain failures into the contract's answers: the one place that gives them HTTP.

Storage raises ``chalicelib.failures``; ``operations.endpoint`` answers each
with ``api_error(failure)``, and lists them in the OpenAPI document the
same way, so a message is written once, here.
"""

from __future__ import annotations

from chalicelib import errors, failures

ENTITY_NOT_FOUND: dict[type[failures.NotFound], type[errors.NotFound]] = {
    failures.MovieNotFound: errors.MovieNotFound,
    failures.CommentNotFound: errors.CommentNotFound,
    failures.RatingNotFound: errors.RatingNotFound,
    failures.UserNotFound: errors.UserNotFound,
}
NAME_TAKEN: dict[str, type[errors.Conflict]] = {
    "username": errors.UsernameTaken,
    "email": errors.EmailTaken,
}


def api_error(failure: failures.Failure) -> errors.ApiError:
    """The answer to ``failure``: its status, ``detail`` and headers."""
    if isinstance(failure, failures.NotFound):
        return ENTITY_NOT_FOUND.get(type(failure), errors.NotFound)()
    if isinstance(failure, failures.NotOwner):
        return errors.Forbidden(f"Not authorized to {failure.action} this {failure.entity}")
    if isinstance(failure, failures.NameTaken):
        return NAME_TAKEN[failure.field]()
    if isinstance(failure, failures.ReplyTooDeep):
        return _reply_too_deep(failure)
    if isinstance(failure, failures.Unavailable):
        return errors.ServiceUnavailable()
    raise TypeError(f"no answer for {type(failure).__name__}")


def _reply_too_deep(failure: failures.ReplyTooDeep) -> errors.ValidationFailed:
    """422 in FastAPI's shape, at the path parameter the parent came from."""
    return errors.ValidationFailed(
        [
            {
                "type": "reply_too_deep",
                "loc": ["path", "parent_id"],
                "msg": (
                    f"Replies nest at most {failure.max_depth} levels deep; "
                    "reply to a comment higher up the thread"
                ),
                "input": failure.parent_id,
                "ctx": {"max_depth": failure.max_depth},
            }
        ]
    )
