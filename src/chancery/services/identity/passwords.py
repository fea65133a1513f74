"""Local users' passwords: Argon2id hashes (RFC 9106) and the password policy.

Parameters: RFC 9106 §4, second recommended option (t=3, m=64 MiB, p=4 lanes):
about 0.13 s per verification on this project's reference machine (2 cores),
chosen so that a stolen hash costs an attacker 64 MiB and ~0.1 s of work per
guess while a login stays interactive. At most ``concurrency`` hashes run at
once (each takes 64 MiB), so a flood of logins queues instead of exhausting
memory. Hashes made with older parameters are upgraded at the next login.
"""

from __future__ import annotations

import os
import threading

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from chancery.errors import Malformed

TIME_COST = 3
MEMORY_KIB = 64 * 1024
LANES = 4
MIN_LENGTH = 12
MAX_LENGTH = 1024
# A password that may stand for "the account exists" costs as much to check as a real one.
_DUMMY = "$argon2id$v=19$m=65536,t=3,p=4$RI9mAnAmYPFFEmYw12cWkQ$XvnG9h7IN3VrerUeivjkgI4+GQJQ/SzCgJ6+1NqMmPs"


class Passwords:
    def __init__(
        self,
        time_cost: int = TIME_COST,
        memory_kib: int = MEMORY_KIB,
        lanes: int = LANES,
        concurrency: int | None = None,
    ) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=lanes, type=Type.ID)
        self._slots = threading.BoundedSemaphore(concurrency or max(1, os.cpu_count() or 1))

    def hash(self, password: str) -> str:
        with self._slots:
            return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Constant work whether or not a hash exists (``stored`` None checks a dummy)."""
        with self._slots:
            try:
                return self._hasher.verify(stored or _DUMMY, password) and bool(stored)  # "" is no hash either
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)


def check_policy(password: str, user: str) -> None:
    """Raise :class:`Malformed` saying which rule a new password breaks (NIST SP 800-63B §5.1.1.2)."""
    if len(password) < MIN_LENGTH:
        raise Malformed(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise Malformed(f"a password has at most {MAX_LENGTH} characters")
    if password.strip() != password or not password.isprintable():
        raise Malformed("a password may not start or end with spaces or hold control characters")
    if len(user) >= 3 and user.lower() in password.lower():  # shorter names would refuse half the dictionary
        raise Malformed("a password may not contain the user name")
    if len(set(password)) < 5:
        raise Malformed("a password needs at least 5 different characters")
