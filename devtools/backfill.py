"""``python -m devtools.backfill`` (``make backfill``): bring existing items up to this version.

Run once after deploying a version whose items carry something older ones
lack (the README's upgrade notes say which). Today that is one thing: a
user profile written before sessions were listed on it has no ``sessions``
map, which its user's first login would otherwise make, at two more calls
(``storage.sessions.start_listing``). A parallel Scan of the profiles that
lack it, keys only, and one conditional UpdateItem each; a rerun finds none.
The Scan is this operator's tool's: no deployed function is allowed one.

The target is the one ``make run`` uses: ``AWS_ENDPOINT_URL_DYNAMODB``
(unset: AWS itself), ``TABLE_NAME``, ``AWS_REGION``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from chalicelib.storage import sessions
from chalicelib.storage.table import UserItem

SEGMENTS = 4


def profiles_without_sessions(segment: int, segments: int) -> Iterator[int]:
    """The ids of the profiles in one Scan segment that have no ``sessions`` map."""
    for profile in UserItem.scan(
        UserItem.sessions.does_not_exist(),
        segment=segment,
        total_segments=segments,
        attributes_to_get=["pk", "sk", "kind", "id"],
    ):
        yield profile.id


def backfill_segment(segment: int, segments: int) -> int:
    return sum(
        sessions.start_listing(user_id) for user_id in profiles_without_sessions(segment, segments)
    )


def backfill(segments: int = SEGMENTS) -> int:
    """Give every profile that lacks one its ``sessions`` map; how many were given one."""
    with ThreadPoolExecutor(max_workers=segments) as pool:
        return sum(pool.map(backfill_segment, range(segments), [segments] * segments))


def main() -> int:
    done = backfill()
    sys.stdout.write(f"profiles given a sessions map: {done}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
