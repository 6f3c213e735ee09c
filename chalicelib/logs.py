"""Structured logs: one JSON object per line on stdout (CloudWatch in Lambda).

A record's ``fields`` extra is merged into the object; an exception's trace
goes into ``exception`` and never into a response. Libraries that log the
requests they send never log below INFO (``configure``).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

LOGGER_NAME = "movies"
WIRE_LOGGERS = ("botocore", "boto3", "pynamodb", "urllib3")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is at the time of each record."""

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """The stream is always the current ``sys.stdout``."""


def configure(level: int = logging.INFO) -> None:
    """Send the app's loggers to stdout as JSON (idempotent); keep the wire out of the logs.

    botocore and PynamoDB log every request whole at DEBUG: DynamoDB items,
    password hashes among them. Lambda's log-level setting turns the root
    logger up to DEBUG without a code change, so these stay at INFO or
    quieter whatever the root says. (To see the wire while debugging, set
    their level after this has run.)
    """
    for name in WIRE_LOGGERS:
        library = logging.getLogger(name)
        library.setLevel(max(library.level, logging.INFO))
    logger = logging.getLogger(LOGGER_NAME)
    if any(isinstance(handler, StdoutHandler) for handler in logger.handlers):
        return
    handler = StdoutHandler()
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
