"""Password hashing at OWASP's minimum costs: argon2id as the app does it, bcrypt for comparison.

argon2id goes through ``chalicelib.security`` itself (19 MiB, t=2, p=1);
bcrypt (cost 10) through the same passlib, so both pay the same wrapper.
Wall-clock time, as a login waits for it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from passlib.context import CryptContext

from chalicelib import security

PASSWORD = "correct horse battery staple"
BCRYPT_COST = 10


@dataclass(frozen=True)
class HashTiming:
    scheme: str
    parameters: str
    hash_ms: float
    verify_ms: float
    runs: int


def median_ms(action: Callable[[], object], runs: int) -> float:
    action()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def argon2id(runs: int) -> HashTiming:
    stored = security.hash_password(PASSWORD)
    return HashTiming(
        "argon2id (the app's)",
        stored.split("$")[3],  # $argon2id$v=19$m=19456,t=2,p=1$salt$hash
        median_ms(lambda: security.hash_password(PASSWORD), runs),
        median_ms(lambda: security.verify_password(PASSWORD, stored), runs),
        runs,
    )


def bcrypt(runs: int) -> HashTiming:
    context = CryptContext(schemes=["bcrypt"], bcrypt__rounds=BCRYPT_COST)
    stored = context.hash(PASSWORD)
    return HashTiming(
        "bcrypt",
        f"cost {stored.split('$')[2]}",  # $2b$10$salt+hash
        median_ms(lambda: context.hash(PASSWORD), runs),
        median_ms(lambda: context.verify(PASSWORD, stored), runs),
        runs,
    )


def measure(runs: int) -> list[HashTiming]:
    return [argon2id(runs), bcrypt(runs)]
