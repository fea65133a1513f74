"""Immutable records that repositories return and services pass around.

They hold bytes (DER), never ORM rows and never private keys.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from chancery.domain.keytypes import KeyType
from chancery.domain.names import CAName
from chancery.domain.revocation import RevocationReason
from chancery.domain.serials import SerialNumber


class CAStatus(StrEnum):
    """Life of a CA: ``pending`` has a key and a CSR but no certificate yet."""

    PENDING = "pending"
    ACTIVE = "active"
    RETIRED = "retired"


@dataclass(frozen=True)
class DistributionUrls:
    """Where relying parties find a CA's CRL, OCSP responder and certificate.

    Recorded when the CA is created (from ``CHANCERY_BASE_URL``) and put into
    every certificate the CA issues (RFC 5280 §4.2.1.13, §4.2.2.1).
    """

    crl: str
    ocsp: str
    ca_issuers: str

    def partition_crl(self, partition: int) -> str:
        """The CRL distribution point of one partition: ``.../crl/{ca}/{partition}.crl``."""
        return f"{self.crl.removesuffix('.crl')}/{partition}.crl"

    @property
    def delta_crl(self) -> str:
        """Where the delta CRLs are: ``.../crl/{ca}-delta.crl`` (the base CRL's freshestCRL)."""
        return f"{self.crl.removesuffix('.crl')}-delta.crl"


@dataclass(frozen=True)
class CertificateAuthorityRecord:
    """A CA this installation holds the key of.

    ``chain`` is the parents' certificates in DER, the direct issuer first and
    the root last; it is empty for a root. ``parent`` names the parent when it
    is a CA of this installation, ``None`` for roots and CAs whose parent lives
    elsewhere (an offline root in another data directory, a third-party root).
    """

    name: CAName
    status: CAStatus
    subject: str
    key_id: str
    key_type: KeyType
    urls: DistributionUrls
    created_at: dt.datetime
    parent: CAName | None = None
    certificate: bytes | None = None
    chain: tuple[bytes, ...] = ()
    csr: bytes | None = None
    path_length: int | None = None
    not_after: dt.datetime | None = None

    @property
    def is_root(self) -> bool:
        return self.certificate is not None and not self.chain

    @property
    def is_active(self) -> bool:
        return self.status is CAStatus.ACTIVE

    @property
    def publishes_revocation(self) -> bool:
        """Active or retired: it signs CRLs and OCSP answers for what it issued."""
        return self.status in (CAStatus.ACTIVE, CAStatus.RETIRED)


class CertificateState(StrEnum):
    """What is stored: a serial reserved before signing, an issued certificate, a revoked one."""

    RESERVED = "reserved"
    ISSUED = "issued"
    REVOKED = "revoked"


class CertificateStatus(StrEnum):
    """What a user sees, derived from the state and the time."""

    RESERVED = "reserved"
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    ON_HOLD = "on-hold"


@dataclass(frozen=True)
class Revocation:
    """When and why a certificate was revoked (RFC 5280 §5.3)."""

    revoked_at: dt.datetime
    reason: RevocationReason
    invalidity_date: dt.datetime | None = None


@dataclass(frozen=True)
class CertificateRecord:
    """A certificate (or a reserved serial) of one CA."""

    ca_name: CAName
    serial: SerialNumber
    state: CertificateState
    profile: str
    subject: str
    sans: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    public_key_sha256: str
    created_at: dt.datetime
    der: bytes | None = None
    key_id: str | None = None
    revocation: Revocation | None = None
    renewal_of: SerialNumber | None = None
    crl_partition: int | None = None
    profile_version: int | None = None  # None: issued before profiles were versioned
    row_id: int = field(default=0, compare=False)

    def status(self, now: dt.datetime) -> CertificateStatus:
        """The status a user sees at ``now``."""
        if self.state is CertificateState.RESERVED:
            return CertificateStatus.RESERVED
        if self.revocation is not None:
            if self.revocation.reason is RevocationReason.certificateHold:
                return CertificateStatus.ON_HOLD
            return CertificateStatus.REVOKED
        if self.not_after <= now:
            return CertificateStatus.EXPIRED
        return CertificateStatus.VALID


@dataclass(frozen=True)
class TrustAnchorRecord:
    """A third-party root (or other anchor) trusted when importing external chains."""

    fingerprint_sha256: str
    subject: str
    der: bytes
    created_at: dt.datetime


@dataclass(frozen=True)
class ApiTokenRecord:
    """A bearer token as stored: the SHA-256 of its secret, never the secret."""

    token_id: str
    name: str
    secret_sha256: str
    roles: frozenset[str]  # a service token's roles; a user's token has none of its own
    created_at: dt.datetime
    expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    user_name: str | None = None  # acts with this user's roles, as they are when it is used
    ca_scope: str | None = None  # only on this CA

    def usable_at(self, now: dt.datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at


class ProfileDocumentKind(StrEnum):
    """What a stored profile document describes."""

    CERTIFICATE = "certificate"
    SUBJECT = "subject"  # a subject-DN profile, referenced by certificate profiles


@dataclass(frozen=True)
class ProfileRecord:
    """One version of a stored profile: the document as its author wrote it (JSON).

    A certificate profile that references a subject-DN profile pins the version
    it was saved against (``subject_profile``, ``subject_version``), so a
    profile version always means the same rules.
    """

    name: str
    version: int
    kind: ProfileDocumentKind
    document_json: str
    created_at: dt.datetime
    created_by: str
    comment: str = ""
    subject_profile: str | None = None
    subject_version: int | None = None
