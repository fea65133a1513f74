"""The registration authority's kernel: RA policies, request IDs, and the request state machine.

A request moves ``pending -> approved -> issued`` (or ``revoked`` for a revocation
request), or ends ``denied``, ``cancelled`` or ``expired`` while pending;
``failed`` records an approved request the CA refused to sign (lint, key policy).
Submission with no approval required goes straight through ``approved``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from chancery.domain.principals import Role
from chancery.errors import Malformed

MAX_APPROVALS = 5
MAX_LIFETIME_HOURS = 24 * 90
ANONYMOUS = "anonymous"

# Crockford's base32 (no I, L, O, U): read out over the phone without ambiguity.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = {"I": "1", "L": "1", "O": "0"}
ID_SYMBOLS = 16  # 80 bits from the CSPRNG


class RequestState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # claimed by the approval that completed it: the CA is signing
    ISSUED = "issued"
    REVOKED = "revoked"  # a revocation request, carried out
    DENIED = "denied"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"  # approved, but the CA refused (the error is recorded)

    @property
    def final(self) -> bool:
        return self not in (RequestState.PENDING, RequestState.APPROVED)


TRANSITIONS: dict[RequestState, frozenset[RequestState]] = {
    RequestState.PENDING: frozenset(
        {RequestState.APPROVED, RequestState.DENIED, RequestState.CANCELLED, RequestState.EXPIRED}
    ),
    RequestState.APPROVED: frozenset({RequestState.ISSUED, RequestState.REVOKED, RequestState.FAILED}),
}


def can_move(current: RequestState, to: RequestState) -> bool:
    return to in TRANSITIONS.get(current, frozenset())


class RequestKind(StrEnum):
    CSR = "csr"  # the requester holds the key and sent a PKCS#10 request
    KEYGEN = "keygen"  # the CA generates the key; the requester collects a PKCS#12 once
    RENEWAL = "renewal"  # same key, subject and names, a new validity period
    REVOCATION = "revocation"


def new_request_id() -> str:
    """``XXXX-XXXX-XXXX-XXXX``: 80 random bits in Crockford base32."""
    symbols = "".join(secrets.choice(_ALPHABET) for _ in range(ID_SYMBOLS))
    return "-".join(symbols[i : i + 4] for i in range(0, ID_SYMBOLS, 4))


def normalise_request_id(text: str) -> str | None:
    """The canonical form of a request ID as someone typed it (any case, dashes or spaces, O for 0),
    or ``None`` when it cannot be one."""
    if len(text) > 40:
        return None
    symbols = "".join(_READ_AS.get(c, c) for c in text.upper() if c not in "- ")
    if len(symbols) != ID_SYMBOLS or any(c not in _ALPHABET for c in symbols):
        return None
    return "-".join(symbols[i : i + 4] for i in range(0, ID_SYMBOLS, 4))


@dataclass(frozen=True)
class ProfilePolicy:
    """How an RA handles requests for one profile.

    ``approvals`` distinct approvers are needed (0: issued at once); they must hold
    ``approver_role`` on the RA (or its CA, or everywhere) and, when set, belong to
    ``approver_group``. A pending request lives ``lifetime_hours``.
    """

    approvals: int = 1
    approver_role: Role = Role.RA_OFFICER
    approver_group: str | None = None
    allow_anonymous: bool = False
    lifetime_hours: int = 24 * 7
    deny_needs_reason: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.approvals <= MAX_APPROVALS:
            raise Malformed(f"approvals must be between 0 and {MAX_APPROVALS}")
        if not 1 <= self.lifetime_hours <= MAX_LIFETIME_HOURS:
            raise Malformed(f"a request's lifetime must be between 1 and {MAX_LIFETIME_HOURS} hours")
        if self.approver_role is Role.REQUESTER:
            raise Malformed("requesters cannot approve: choose ra-officer, ca-operator or administrator")


@dataclass(frozen=True)
class RaRecord:
    """A registration authority: requests for its profiles go to its CA once approved."""

    name: str
    ca: str
    policies: tuple[tuple[str, ProfilePolicy], ...]
    created_at: dt.datetime
    created_by: str
    revocation_approvals: int = 0  # 0: a revocation request is carried out at once
    description: str = ""
    notify_emails: tuple[str, ...] = ()  # told of every new pending request

    @property
    def profiles(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.policies)

    def policy(self, profile: str) -> ProfilePolicy | None:
        return dict(self.policies).get(profile)

    @property
    def allows_anonymous(self) -> bool:
        return any(policy.allow_anonymous for _, policy in self.policies)


@dataclass(frozen=True)
class RequestApproval:
    approver: str
    approved_at: dt.datetime
    comment: str = ""


@dataclass(frozen=True)
class RequestRecord:
    """One request to an RA and where it stands."""

    request_id: str
    ra: str
    ca: str
    profile: str
    kind: RequestKind
    state: RequestState
    requester: str  # a user's name, or ``anonymous``
    submitted_at: dt.datetime
    expires_at: dt.datetime
    approvals_required: int
    subject: str = ""
    sans: tuple[str, ...] = ()
    key_summary: str = ""  # "EC P-256", "RSA 3072"
    csr: bytes | None = field(default=None, repr=False)  # DER (csr kind)
    key_type: str | None = None  # keygen kind
    target_serial: str | None = None  # renewal and revocation kinds: the certificate they concern
    revocation_reason: str | None = None
    contact_email: str | None = None
    approvals: tuple[RequestApproval, ...] = ()
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    reason: str = ""  # the requester's note, then the denial or cancellation reason
    serial: str | None = None  # the issued certificate
    error: str = ""
    pickup_hash: str | None = field(default=None, repr=False)  # keygen: SHA-256 of the pickup secret
    key_id: str | None = None  # keygen: the generated key until it is collected
    picked_up_at: dt.datetime | None = None
    validity_days: int | None = None  # csr kind: asked by the submitter (an ACME directory); None: the profile's

    def expired_at(self, now: dt.datetime) -> bool:
        return self.state is RequestState.PENDING and now >= self.expires_at
