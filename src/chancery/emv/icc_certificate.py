"""ICC Public Key Certificates and ICC PIN Encipherment Public Key Certificates (format '04').

EMV Book 2 §6.3, Table 14, and the retrieval steps of §6.4: an issuer certifies a card's key for
the card's Application PAN. The card carries the certificate ('9F46', as long as the issuer
modulus), the remainder of its key ('9F48', when the key is longer than N_I - 42 bytes) and its
exponent ('9F47'). The hash also covers the card's static data to be authenticated (Book 3
§10.3), which the certificate does not carry.

A card with a separate key for offline enciphered PIN has a second certificate in the same
layout (Book 2 §7.1), tags '9F2D', '9F2F', '9F2E', whose hash covers no static data: choose it
with :attr:`IccKeyKind.PIN_ENCIPHERMENT`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from chancery.emv import framing, pk_certificate
from chancery.emv.errors import EmvError, Reason
from chancery.emv.fields import Expiry, check_serial, digits_to_cn, parse_pan, to_hex
from chancery.emv.pk_certificate import RecoveredCertificate
from chancery.emv.rsa import EmvPublicKey, RawSigner


class IccKeyKind(StrEnum):
    """Which card key a format '04' certificate certifies."""

    ICC = "icc"  # ICC Public Key Certificate (DDA, CDA): '9F46', '9F48', '9F47'
    PIN_ENCIPHERMENT = "pin-encipherment"  # ICC PIN Encipherment Public Key Certificate: '9F2D', '9F2F', '9F2E'


_JSON_NAMES = {
    IccKeyKind.ICC: ("certificate_9F46", "remainder_9F48", "exponent_9F47"),
    IccKeyKind.PIN_ENCIPHERMENT: ("certificate_9F2D", "remainder_9F2F", "exponent_9F2E"),
}


def _check_static_data(kind: IccKeyKind, static_data: bytes) -> None:
    if not isinstance(static_data, bytes):
        raise TypeError("static data must be bytes")
    if kind is IccKeyKind.PIN_ENCIPHERMENT and static_data:
        raise EmvError(Reason.BAD_FIELD, "an ICC PIN encipherment key certificate covers no static data (Book 2 §7.1)")


@dataclass(frozen=True)
class IccCertificateContents:
    """What an issuer certifies about a card key (Book 2 Table 14): the card's PAN (12 to 19
    digits), expiry, 3-byte serial and the key, and which key it is. SHA-1 and RSA only.
    :func:`verify_icc_certificate` returns exactly what was built from."""

    pan: str
    expiry: Expiry
    serial: bytes
    icc_key: EmvPublicKey
    kind: IccKeyKind = IccKeyKind.ICC

    def __post_init__(self) -> None:
        parse_pan(self.pan)
        check_serial(self.serial)
        if not isinstance(self.kind, IccKeyKind):
            raise TypeError("kind must be an IccKeyKind")


@dataclass(frozen=True)
class IccCertificate:
    """The card's data objects: certificate, remainder (may be empty) and exponent."""

    certificate: bytes
    remainder: bytes
    exponent: bytes
    kind: IccKeyKind = IccKeyKind.ICC

    def to_json(self) -> dict[str, str]:
        """``{"certificate_9F46", "remainder_9F48", "exponent_9F47"}`` (or the 9F2D, 9F2F, 9F2E
        names for a PIN encipherment key) in upper-case hex."""
        names = _JSON_NAMES[self.kind]
        return dict(zip(names, (to_hex(self.certificate), to_hex(self.remainder), to_hex(self.exponent)), strict=True))


@dataclass(frozen=True)
class PreparedIccCertificate:
    """The data the issuer signs (``block``: '6A' to 'BC', N_I bytes) and what the card carries beside it."""

    block: bytes
    remainder: bytes
    exponent: bytes
    kind: IccKeyKind

    def sign(self, issuer: RawSigner) -> IccCertificate:
        """Sign the block with the issuer's raw private operation (checked with its public operation)."""
        if issuer.modulus_length != len(self.block):
            raise EmvError(
                Reason.WRONG_LENGTH, f"this certificate was prepared for a {len(self.block)}-byte issuer key"
            )
        return IccCertificate(framing.sign_block(issuer, self.block), self.remainder, self.exponent, self.kind)


def prepare_icc_certificate(
    contents: IccCertificateContents, static_data: bytes, issuer_modulus_length: int
) -> PreparedIccCertificate:
    """The data to sign for ``contents`` under an issuer key of ``issuer_modulus_length`` bytes.

    Leftmost N_I - 42 bytes of the card key in the certificate, padded with 'BB' when shorter, the
    rest as the remainder; the hash over the fields, remainder, exponent and ``static_data``
    (Book 2 §6.3; empty for a PIN encipherment key). ``modulus-too-long`` if the card key is
    longer than the issuer key (Book 2 §6.1, N_IC <= N_I).
    """
    _check_static_data(contents.kind, static_data)
    key = contents.icc_key
    subject = pk_certificate.CertifiedKey(
        layout=pk_certificate.ICC,
        identifier=digits_to_cn(contents.pan, pk_certificate.ICC.identifier_length),
        expiry=contents.expiry,
        serial=contents.serial,
        key=key,
    )
    block, remainder = pk_certificate.build_block(subject, issuer_modulus_length, static_data)
    return PreparedIccCertificate(block, remainder, key.exponent_bytes, contents.kind)


def build_icc_certificate(contents: IccCertificateContents, static_data: bytes, issuer: RawSigner) -> IccCertificate:
    """:func:`prepare_icc_certificate` for ``issuer``'s key length, signed by ``issuer``."""
    return prepare_icc_certificate(contents, static_data, issuer.modulus_length).sign(issuer)


def recover_icc_certificate(issuer_key: EmvPublicKey, certificate: bytes) -> RecoveredCertificate:
    """The certificate's fields after Book 2 §6.4 steps 1 to 4 only (length, trailer, header,
    format '04'): for inspection, not trusted (see :func:`verify_icc_certificate`)."""
    return pk_certificate.recover_certificate(pk_certificate.ICC, issuer_key, certificate)


def verify_icc_certificate(
    issuer_key: EmvPublicKey, certificate: IccCertificate, *, pan: str, static_data: bytes, today: dt.date
) -> IccCertificateContents:
    """Retrieve the card's public key (Book 2 §6.4 steps 1 to 11) and return what was certified.

    ``issuer_key`` is the key recovered from the issuer certificate; ``pan`` the card's
    Application PAN ('5A'), which must equal the certified PAN exactly (step 8); ``static_data``
    the static data to be authenticated (empty for a PIN encipherment key). Raises
    :class:`EmvError`: ``bad-pan`` (``pan`` is not a PAN), ``wrong-length`` (step 1),
    ``bad-trailer`` (2), ``bad-header`` (3), ``bad-format`` (4), ``missing-remainder`` /
    ``bad-remainder`` / ``modulus-too-long`` / ``bad-exponent`` (the key does not fit the
    certificate), ``unknown-hash-algorithm`` (6), ``bad-hash`` (7), ``pan-mismatch`` (8),
    ``bad-date`` / ``expired`` (9), ``unknown-pk-algorithm`` (10), ``bad-modulus`` (11).
    """
    pan = parse_pan(pan)
    _check_static_data(certificate.kind, static_data)
    recovered = recover_icc_certificate(issuer_key, certificate.certificate)
    checked = pk_certificate.check_certificate(
        pk_certificate.ICC, recovered, certificate.remainder, certificate.exponent, static_data
    )
    if recovered.identifier != digits_to_cn(pan, pk_certificate.ICC.identifier_length):
        raise EmvError(Reason.PAN_MISMATCH, "the card's PAN is not the PAN the ICC public key certificate certifies")
    expiry = pk_certificate.check_expiry(recovered, today)
    pk_certificate.check_pk_algorithm(recovered)
    return IccCertificateContents(
        pan=pan,
        expiry=expiry,
        serial=recovered.serial,
        icc_key=EmvPublicKey(checked.modulus, checked.exponent),
        kind=certificate.kind,
    )
