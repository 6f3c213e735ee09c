"""What the migration changed or refused, for the operator: a JSON file and a summary.

Every row that is not stored exactly as it was read gets one ``Change``:
its table, its id, the kind of change, what was done, and the values
involved, so the operator can tell the people concerned (a renamed user,
a replaced e-mail) or put a value back by hand. The file therefore holds
personal data (names, e-mails, texts): it is written readable by its owner
only.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# kind -> what it means and what was done (docs/MIGRATION.md lists the same).
KINDS: dict[str, str] = {
    "username_renamed": "username our rules refuse, or taken by another ignoring case: renamed",
    "email_replaced": "e-mail taken by another user ignoring case: replaced by a placeholder",
    "email_invalid": "e-mail our rules refuse: kept as it was",
    "phone_normalised": "phone number stored without its spaces",
    "phone_invalid": "phone number our rules refuse: kept as it was",
    "whitespace_trimmed": "leading or trailing spaces removed from a name or title",
    "name_blank": "blank first or last name: kept blank",
    "password_hash_unrecognised": "not a bcrypt or argon2 hash: kept, but no password matches it",
    "timestamp_missing": "no timestamp: the other one, or the migration's start, used",
    "timestamp_order": "updated before created: updated_at raised to created_at",
    "movie_owner_missing": "owner NULL or unknown: kept without an owner (user_id 0)",
    "title_blank": "blank title: stored as 'Untitled'",
    "description_truncated": "description over 5,000 characters: cut, the full text is here",
    "rating_superseded": "an older rating of the same movie by the same user: dropped",
    "rating_out_of_range": "rating outside 1..10: dropped",
    "rating_orphaned": "rating of an unknown movie or by an unknown user: dropped",
    "comment_movie_missing": "comment on no movie or an unknown one: dropped",
    "comment_parent_missing": "reply to an unknown comment: kept as a top-level comment",
    "comment_parent_other_movie": "reply to a comment on another movie: kept top-level",
    "comment_parent_cycle": "replies forming a loop: the oldest kept as top-level",
    "comment_reparented": "reply nested deeper than the cap: moved up to the deepest level",
    "comment_author_missing": "author NULL or unknown: kept without an author",
    "comment_text_truncated": "comment over 2,000 characters: cut, the full text is here",
    "comment_text_short": "comment under 2 characters once trimmed: kept as it was",
}


@dataclass(frozen=True)
class Change:
    kind: str
    table: str
    id: int
    action: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown change kind {self.kind!r}")


@dataclass
class Report:
    source: dict[str, Any]
    target: dict[str, Any]
    dry_run: bool
    counts: dict[str, dict[str, int]]
    changes: list[Change]
    outcome: str = "planned"
    timings: dict[str, float] = field(default_factory=dict)

    def by_kind(self) -> dict[str, int]:
        return dict(sorted(Counter(change.kind for change in self.changes).items()))

    def as_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "dry_run": self.dry_run,
            "source": self.source,
            "target": self.target,
            "counts": self.counts,
            "timings_seconds": self.timings,
            "changes_by_kind": self.by_kind(),
            "kinds": {kind: KINDS[kind] for kind in self.by_kind()},
            "changes": [asdict(change) for change in self.changes],
        }

    def write(self, path: Path) -> None:
        """The JSON file, readable by its owner only (it names people)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.as_json(), indent=2, ensure_ascii=False, default=str)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text + "\n")

    def summary(self, path: Path | None) -> str:
        lines = [
            f"Migration {self.outcome}{' (dry run: nothing written)' if self.dry_run else ''}",
            f"  from {self.source.get('database')} to {self.target.get('table')}"
            f" ({self.target.get('endpoint')})",
            f"  {'table':<10}{'read':>10}{'stored':>10}",
        ]
        for table, count in self.counts.items():
            lines.append(f"  {table:<10}{count['read']:>10}{count['stored']:>10}")
        kinds = self.by_kind()
        lines.append(f"  {len(self.changes)} rows changed or refused" + (":" if kinds else ""))
        lines += [f"    {count:>6}  {kind}: {KINDS[kind]}" for kind, count in kinds.items()]
        if path is not None:
            lines.append(f"  every change, row by row: {path}")
        return "\n".join(lines)
