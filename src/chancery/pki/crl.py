"""Certificate revocation lists (RFC 5280 §5), encoded directly so that they stream.

A CRL with a million entries is mostly its revokedCertificates list. Each entry
is encoded once, when the certificate is revoked (:func:`revoked_entry`), and
stored; a CRL is then the stored entries joined under a header and signed
(:func:`build_crl`), in linear time and memory. pyca/cryptography encodes the
extensions' values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509

from chancery.domain.revocation import RevocationReason
from chancery.keys.base import KeyHandle
from chancery.pki import der
from chancery.pki.extensions import issuer_key_identifier
from chancery.pki.signatures import signature_scheme, signed

_REASON_CODE = der.oid("2.5.29.21")
_INVALIDITY_DATE = der.oid("2.5.29.24")
_AKI = der.oid("2.5.29.35")
_CRL_NUMBER = der.oid("2.5.29.20")
_DELTA_INDICATOR = der.oid("2.5.29.27")
_IDP = der.oid("2.5.29.28")
_FRESHEST = der.oid("2.5.29.46")
_V2 = der.integer(1)
MAX_CRL_NUMBER = 2**159 - 1  # RFC 5280 §5.2.3: at most 20 octets


class CrlKind(StrEnum):
    FULL = "full"  # everything the CA revoked (its only CRL when it is not partitioned)
    DELTA = "delta"  # changes since a full CRL (RFC 5280 §5.2.4)
    PARTITION = "partition"  # the part of the full CRL one distribution point covers (§5.2.5)


def revoked_entry(
    serial: int, revoked_at: dt.datetime, reason: RevocationReason, invalidity_date: dt.datetime | None = None
) -> bytes:
    """One revokedCertificates element (RFC 5280 §5.1.2.6), with reasonCode (§5.3.1; absent for
    unspecified, as the RFC recommends) and invalidityDate (§5.3.2)."""
    extensions = []
    if reason is not RevocationReason.unspecified:
        extensions.append(der.extension(_REASON_CODE, False, der.enumerated(reason.value)))
    if invalidity_date is not None:
        extensions.append(der.extension(_INVALIDITY_DATE, False, der.generalized_time(invalidity_date)))
    entry_extensions = der.sequence_of(extensions) if extensions else b""
    return der.sequence(der.integer(serial), der.time(revoked_at), entry_extensions)


def removal_entry(serial: int, released_at: dt.datetime) -> bytes:
    """A delta CRL entry saying a held certificate is valid again (removeFromCRL, RFC 5280 §5.3.1)."""
    return revoked_entry(serial, released_at, RevocationReason.removeFromCRL)


@dataclass(frozen=True)
class CrlHeader:
    """Everything in a CRL but its entries."""

    issuer: x509.Certificate
    crl_number: int
    this_update: dt.datetime
    next_update: dt.datetime
    kind: CrlKind = CrlKind.FULL
    base_crl_number: int | None = None  # DELTA: the full CRL it updates
    distribution_point: str | None = None  # PARTITION: the URL its certificates name
    freshest_crl: str | None = None  # FULL: where the delta CRLs are

    def __post_init__(self) -> None:
        if not 0 < self.crl_number <= MAX_CRL_NUMBER:
            raise ValueError("CRL number must be positive and at most 20 octets")
        if self.next_update <= self.this_update:
            raise ValueError("nextUpdate must come after thisUpdate")
        if (self.kind is CrlKind.DELTA) != (self.base_crl_number is not None):
            raise ValueError("a delta CRL, and only a delta CRL, names its base CRL number")
        if (self.kind is CrlKind.PARTITION) != (self.distribution_point is not None):
            raise ValueError("a partition CRL, and only a partition CRL, names its distribution point")


def build_crl(key: KeyHandle, header: CrlHeader, entries: Iterable[bytes]) -> bytes:
    """The signed CRL (DER). ``entries`` are :func:`revoked_entry` encodings, in any order."""
    scheme = signature_scheme(key.public_key())
    body = b"".join(entries)
    revoked = der.tlv(der.SEQUENCE, body) if body else b""  # RFC 5280 §5.1.2.6: absent when empty
    tbs = der.sequence(
        _V2,
        scheme.algorithm_identifier,
        header.issuer.subject.public_bytes(),
        der.time(header.this_update),
        der.time(header.next_update),
        revoked,
        der.explicit(0, der.sequence_of(_extensions(header))),
    )
    return signed(key, scheme, tbs)


def _extensions(header: CrlHeader) -> list[bytes]:
    aki = x509.AuthorityKeyIdentifier(issuer_key_identifier(header.issuer), None, None)
    extensions = [
        der.extension(_AKI, False, aki.public_bytes()),  # §5.2.1
        der.extension(_CRL_NUMBER, False, der.integer(header.crl_number)),  # §5.2.3
    ]
    if header.kind is CrlKind.DELTA:
        assert header.base_crl_number is not None
        extensions.append(der.extension(_DELTA_INDICATOR, True, der.integer(header.base_crl_number)))  # §5.2.4
    if header.kind is CrlKind.PARTITION:
        assert header.distribution_point is not None
        idp = x509.IssuingDistributionPoint(
            full_name=[x509.UniformResourceIdentifier(header.distribution_point)],
            relative_name=None,
            only_contains_user_certs=False,
            only_contains_ca_certs=False,
            only_some_reasons=None,
            indirect_crl=False,
            only_contains_attribute_certs=False,
        )
        extensions.append(der.extension(_IDP, True, idp.public_bytes()))  # §5.2.5
    if header.freshest_crl is not None:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(header.freshest_crl)], None, None, None)
        extensions.append(der.extension(_FRESHEST, False, x509.FreshestCRL([point]).public_bytes()))  # §5.2.6
    return extensions
