"""One-time SCEP challenges (the challengePassword of RFC 8894 §2.3 / RFC 2985 §5.4.1).

A challenge is shown once and stored as its SHA-256 digest. It is bound to one RA and,
optionally, to a subject pattern; it expires; the enrollment that uses it marks it used in
the transaction that records the request, so it can never be used twice (CERT VU#971035).
Wrong challenges count against the sender's address (:class:`ChallengeGate`).
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.domain.registration import MAX_LIFETIME_HOURS
from chancery.domain.scep import (
    DEFAULT_TTL,
    MAX_CHALLENGES_AT_ONCE,
    ChallengeRecord,
    SubjectPattern,
    challenge_digest,
    check_ttl,
    new_challenge,
)
from chancery.errors import Forbidden, Malformed, NotFound, RateLimited
from chancery.services.authorization import require
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork
from chancery.services.throttling import FailureBudget

# Wrong challenges one address may send in a window before it is refused outright.
FAILURES_ALLOWED = 20
FAILURE_WINDOW = dt.timedelta(minutes=10)
NONCE_MEMORY = dt.timedelta(days=7)  # a replay older than this is refused by its used challenge or known transaction


@dataclass(frozen=True)
class NewChallenges:
    ra: str
    ttl: dt.timedelta = DEFAULT_TTL
    count: int = 1
    subject: str | None = None  # e.g. "CN=printer-*": the enrolling subject must match


@dataclass(frozen=True)
class IssuedChallenges:
    challenges: tuple[str, ...]
    expires_at: dt.datetime


class ChallengeRefused(Forbidden):
    """Why a challenge does not admit an enrollment (the reason is audited, never sent)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ScepChallenges:
    def __init__(self, transactions: Transactions, writer: DurableWriter, clock: Clock) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock

    def create(self, principal: Principal, new: NewChallenges) -> IssuedChallenges:
        """``new.count`` fresh challenges for ``new.ra``: whoever may approve its requests may pre-authorise one."""
        with self._tx.read() as uow:
            ra = uow.registration.get_ra(new.ra)
            service = uow.scep.service(new.ra)
        if ra is None:
            raise NotFound(f"no RA named {new.ra!r}")
        require(principal, Permission.REQUEST_APPROVE, ra.ca, None, ra.name)
        if service is None:
            raise NotFound(f"RA {new.ra!r} does not answer SCEP: run `chancery scep configure --ra {new.ra}`")
        if not 1 <= new.count <= MAX_CHALLENGES_AT_ONCE:
            raise Malformed(f"make between 1 and {MAX_CHALLENGES_AT_ONCE} challenges at once")
        check_ttl(new.ttl)
        pattern = SubjectPattern(new.subject).text if new.subject is not None else None
        now = self._clock.now()
        expires = now + new.ttl
        plain = tuple(new_challenge() for _ in range(new.count))
        records = [
            ChallengeRecord(challenge_digest(c), ra.name, expires, now, principal.name, subject_pattern=pattern)
            for c in plain
        ]

        def add(uow: UnitOfWork) -> None:
            uow.scep.add_challenges(records)
            details: dict[str, object] = {"count": new.count, "expires_at": expires.isoformat()}
            if pattern:
                details["subject"] = pattern
            event = AuditEvent("scep.challenge.created", principal.name, ca=ra.ca, target=ra.name, details=details)
            uow.audit.append([event], now)

        self._writer.run(add)
        return IssuedChallenges(plain, expires)

    def sweep(self) -> int:
        """Forget used-up state: expired challenges after a day, senderNonces after a week, transactions
        once no request they could be polling for can still be pending (the longest RA lifetime)."""
        now = self._clock.now()
        return self._writer.run(
            lambda uow: uow.scep.sweep(
                now - dt.timedelta(days=1), now - NONCE_MEMORY, now - dt.timedelta(hours=MAX_LIFETIME_HOURS + 24)
            )
        )


class ChallengeGate:
    """Checks a challenge for an enrollment and counts each address's failures."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._failures = FailureBudget(clock, FAILURES_ALLOWED, FAILURE_WINDOW)

    def admit(self, source: str) -> None:
        """Raise :class:`RateLimited` once ``source`` has sent too many wrong challenges."""
        wait = self._failures.wait_seconds(source)
        if wait is not None:
            raise RateLimited("too many failed SCEP enrollments from this address; try again later", retry_after=wait)

    def failed(self, source: str) -> None:
        self._failures.miss(source)

    def use(self, uow: UnitOfWork, ra: str, challenge: str, subject: str) -> None:
        """Mark ``challenge`` used for an enrollment of ``subject`` at ``ra``, in the caller's transaction;
        raise :class:`ChallengeRefused` when it does not admit it."""
        digest = challenge_digest(challenge)
        record = uow.scep.challenge(digest)
        now = self._clock.now()
        # The lookup is by digest; comparing again in constant time costs nothing and
        # keeps the check independent of how the database compares strings.
        if record is None or not hmac.compare_digest(record.digest, digest):
            raise ChallengeRefused("unknown challenge")
        if record.ra != ra:
            raise ChallengeRefused(f"challenge of RA {record.ra}")
        if record.used_at is not None:
            raise ChallengeRefused("challenge already used")
        if now >= record.expires_at:
            raise ChallengeRefused("challenge expired")
        if record.subject_pattern and not SubjectPattern(record.subject_pattern).matches(subject):
            raise ChallengeRefused("subject does not match the challenge's pattern")
        if not uow.scep.use_challenge(digest, now):
            raise ChallengeRefused("challenge already used")
