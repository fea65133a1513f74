"""SCEP (RFC 8894) kernel: which RAs speak SCEP, their one-time challenges, and enrollment transactions.

SCEP authenticates an initial request only by the challengePassword inside the CSR
(CERT VU#971035). Chancery's challenges are therefore one-time, short-lived, bound to
one RA and optionally to a subject pattern, and stored as SHA-256 digests only.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import secrets
from dataclasses import dataclass

from chancery.errors import Malformed

CHALLENGE_BYTES = 20  # 160 bits from the CSPRNG
MAX_TTL = dt.timedelta(days=30)
DEFAULT_TTL = dt.timedelta(hours=1)
MAX_CHALLENGES_AT_ONCE = 10_000
MAX_SUBJECT_PATTERN = 256


def new_challenge() -> str:
    """A printable challenge (challengePassword is a DirectoryString, RFC 2985 §5.4.1)."""
    return secrets.token_urlsafe(CHALLENGE_BYTES)


def challenge_digest(challenge: str) -> str:
    return hashlib.sha256(challenge.encode("utf-8")).hexdigest()


def parse_ttl(text: str) -> dt.timedelta:
    """``90s``, ``15m``, ``1h``, ``7d`` (at most 30 days)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    digits = text[:-1]
    if len(text) < 2 or text[-1] not in units or not (digits.isascii() and digits.isdigit()) or len(text) > 8:
        raise Malformed(f"a lifetime looks like 90s, 15m, 1h or 7d, not {text!r}")
    ttl = dt.timedelta(seconds=int(digits) * units[text[-1]])
    check_ttl(ttl)
    return ttl


def check_ttl(ttl: dt.timedelta) -> None:
    if not dt.timedelta(seconds=1) <= ttl <= MAX_TTL:
        raise Malformed("a challenge lives between 1 second and 30 days")


@dataclass(frozen=True)
class SubjectPattern:
    """A shell-style pattern (``CN=printer-*,O=Example``) the enrolling subject must match, case-insensitively."""

    text: str

    def __post_init__(self) -> None:
        if not self.text or len(self.text) > MAX_SUBJECT_PATTERN or any(ord(c) < 32 for c in self.text):
            raise Malformed(f"a subject pattern is 1 to {MAX_SUBJECT_PATTERN} printable characters")

    def matches(self, subject: str) -> bool:
        return fnmatch.fnmatchcase(subject.casefold(), self.text.casefold())


@dataclass(frozen=True)
class ScepService:
    """An RA that answers SCEP: its RA certificate (signs replies, receives envelopes) and its cipher policy."""

    ra: str
    profile: str  # the RA profile enrollments are issued under (``device`` when the RA takes it)
    key_id: str
    certificate: bytes  # DER of the RA certificate, issued by the RA's CA
    is_default: bool
    allow_3des: bool  # for older clients; AES is always accepted
    allow_des: bool  # single DES: off unless an administrator turns it on
    created_at: dt.datetime
    created_by: str
    next_ca: str | None = None  # during a CA rollover: the CA that replaces the RA's CA (GetNextCACert)
    full_chain: bool = False  # GetCACert also lists CA certificates whose key cannot receive an envelope


@dataclass(frozen=True)
class ChallengeRecord:
    digest: str  # SHA-256 of the challenge; the challenge itself is shown once and never stored
    ra: str
    expires_at: dt.datetime
    created_at: dt.datetime
    created_by: str
    subject_pattern: str | None = None
    used_at: dt.datetime | None = None


@dataclass(frozen=True)
class ScepTransaction:
    """One enrollment: the client's transactionID, bound to its key and to the RA request it became."""

    ra: str
    transaction_id: str
    key_digest: str  # SHA-256 of the SubjectPublicKeyInfo the transaction is about (RFC 8894 §3.2.1.1.1)
    request_id: str
    created_at: dt.datetime
    message_type: int = 19  # PKCSReq (19) or RenewalReq (17): a resend is the same type with the same CSR
