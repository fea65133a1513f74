"""Records of revocation services: per-CA settings, published CRLs, pre-signed OCSP responses,
delegated responders, and the revocation events that deltas and caches follow."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from chancery.errors import Malformed


class OcspSigning(StrEnum):
    """Who signs a CA's OCSP responses (RFC 6960 §4.2.2.2)."""

    RESPONDER = "responder"  # a delegated responder certificate with id-pkix-ocsp-nocheck
    CA = "ca"  # the CA key itself


@dataclass(frozen=True)
class RevocationSettings:
    """How a CA publishes revocation. Times are seconds.

    ``crl_validity``: nextUpdate - thisUpdate of full (and partition) CRLs; a new one is
    made when half of it has passed. ``delta_validity``: the same for delta CRLs, made
    when revocations happened or half of it has passed. ``partitions``: 0 for one CRL;
    N splits certificates over N distribution points (RFC 5280 §5.2.5).
    ``ocsp_validity``: nextUpdate - thisUpdate of OCSP responses.
    """

    ca_name: str
    crl_validity: int = 7 * 86400
    delta_validity: int = 86400
    partitions: int = 0
    ocsp_validity: int = 86400
    ocsp_signing: OcspSigning = OcspSigning.RESPONDER

    def __post_init__(self) -> None:
        if not 3600 <= self.crl_validity <= 366 * 86400:
            raise Malformed("CRL validity must be between 1 hour and 366 days")
        if not 300 <= self.delta_validity <= self.crl_validity:
            raise Malformed("delta CRL validity must be between 5 minutes and the CRL validity")
        if not 0 <= self.partitions <= 1024:
            raise Malformed("partitions must be between 0 and 1024")
        if not 300 <= self.ocsp_validity <= 10 * 86400:  # BR §4.9.10: at most 10 days
            raise Malformed("OCSP response validity must be between 5 minutes and 10 days")


class CrlScope(StrEnum):
    FULL = "full"
    DELTA = "delta"
    PARTITION = "partition"


@dataclass(frozen=True)
class CrlRecord:
    """A CRL as published. ``partition`` is -1 unless the scope is PARTITION."""

    ca_name: str
    scope: CrlScope
    partition: int
    crl_number: int
    this_update: dt.datetime
    next_update: dt.datetime
    der: bytes
    last_event_id: int
    base_crl_number: int | None = None


@dataclass(frozen=True)
class RevocationEvent:
    """A change a delta CRL or an OCSP cache must follow: a revocation or a released hold."""

    event_id: int
    ca_name: str
    serial: str
    crl_entry: bytes  # the revokedCertificates entry (removeFromCRL for a release)
    occurred_at: dt.datetime


@dataclass(frozen=True)
class OcspResponseRecord:
    """A pre-signed response about one certificate, as asked for with one CertID."""

    ca_name: str
    serial: str
    hash_algorithm: str
    cert_id: bytes
    der: bytes
    this_update: dt.datetime
    next_update: dt.datetime


@dataclass(frozen=True)
class ResponderRecord:
    """A delegated OCSP responder of a CA: its key (in the key store) and certificate."""

    ca_name: str
    key_id: str
    certificate: bytes
    not_after: dt.datetime
    created_at: dt.datetime
