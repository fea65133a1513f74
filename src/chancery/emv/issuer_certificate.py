"""Issuer Public Key Certificates (format '02'): EMV Book 2 §5.3, Table 6, and the retrieval steps.

A payment scheme's CA certifies an issuer's key for the issuer identifier (the leftmost 3 to 8
digits of its PANs). The card carries the certificate (tag '90', as long as the CA modulus),
the remainder of the issuer key (tag '92', when the key is longer than N_CA - 36 bytes) and the
issuer exponent (tag '9F32'); the terminal finds the CA key from the RID and index ('8F').

Build with :func:`prepare_issuer_certificate` then ``.sign(ca)`` (or :func:`build_issuer_certificate`);
check with :func:`verify_issuer_certificate`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from chancery.emv import framing, pk_certificate
from chancery.emv.errors import EmvError, Reason
from chancery.emv.fields import (
    Expiry,
    check_serial,
    cn_to_digits,
    digits_to_cn,
    parse_issuer_identifier,
    parse_pan,
    to_hex,
)
from chancery.emv.pk_certificate import RecoveredCertificate
from chancery.emv.rsa import EmvPublicKey, RawSigner

_WHAT = pk_certificate.ISSUER.name


@dataclass(frozen=True)
class IssuerCertificateContents:
    """What a CA certifies about an issuer key (Book 2 Table 6): the issuer identifier (3 to 8
    digits), expiry, 3-byte serial and the key. SHA-1 and RSA are the only algorithms (indicators
    01). :func:`verify_issuer_certificate` returns exactly what was built from."""

    issuer_identifier: str
    expiry: Expiry
    serial: bytes
    issuer_key: EmvPublicKey

    def __post_init__(self) -> None:
        parse_issuer_identifier(self.issuer_identifier)
        check_serial(self.serial)


@dataclass(frozen=True)
class IssuerCertificate:
    """The card's data objects: certificate ('90'), remainder ('92', may be empty), exponent ('9F32')."""

    certificate: bytes
    remainder: bytes
    exponent: bytes

    def to_json(self, ca_index: int) -> dict[str, str]:
        """``{"certificate_90", "remainder_92", "exponent_9F32", "ca_index_8F"}`` in upper-case hex."""
        return {
            "certificate_90": to_hex(self.certificate),
            "remainder_92": to_hex(self.remainder),
            "exponent_9F32": to_hex(self.exponent),
            "ca_index_8F": f"{ca_index:02X}",
        }


@dataclass(frozen=True)
class PreparedIssuerCertificate:
    """The data the CA signs (``block``: '6A' to 'BC', N_CA bytes) and what the card carries beside it."""

    block: bytes
    remainder: bytes
    exponent: bytes

    def sign(self, ca: RawSigner) -> IssuerCertificate:
        """Sign the block with the CA's raw private operation (checked with its public operation)."""
        if ca.modulus_length != len(self.block):
            raise EmvError(Reason.WRONG_LENGTH, f"this certificate was prepared for a {len(self.block)}-byte CA key")
        return IssuerCertificate(framing.sign_block(ca, self.block), self.remainder, self.exponent)


def prepare_issuer_certificate(
    contents: IssuerCertificateContents, ca_modulus_length: int
) -> PreparedIssuerCertificate:
    """The data to sign for ``contents`` under a CA key of ``ca_modulus_length`` bytes (Book 2 Table 6).

    Leftmost N_CA - 36 bytes of the issuer key in the certificate, padded with 'BB' when shorter,
    the rest as the remainder; ``modulus-too-long`` if the issuer key is longer than the CA key
    (Book 2 §5.1, N_I <= N_CA).
    """
    key = contents.issuer_key
    subject = pk_certificate.CertifiedKey(
        layout=pk_certificate.ISSUER,
        identifier=digits_to_cn(contents.issuer_identifier, pk_certificate.ISSUER.identifier_length),
        expiry=contents.expiry,
        serial=contents.serial,
        key=key,
    )
    block, remainder = pk_certificate.build_block(subject, ca_modulus_length)
    return PreparedIssuerCertificate(block, remainder, key.exponent_bytes)


def build_issuer_certificate(contents: IssuerCertificateContents, ca: RawSigner) -> IssuerCertificate:
    """:func:`prepare_issuer_certificate` for ``ca``'s key length, signed by ``ca``."""
    return prepare_issuer_certificate(contents, ca.modulus_length).sign(ca)


def recover_issuer_certificate(ca_key: EmvPublicKey, certificate: bytes) -> RecoveredCertificate:
    """The certificate's fields after Book 2 §5.3 steps 1 to 4 only (length, trailer, header,
    format '02'): for inspection, not trusted (see :func:`verify_issuer_certificate`)."""
    return pk_certificate.recover_certificate(pk_certificate.ISSUER, ca_key, certificate)


def verify_issuer_certificate(
    ca_key: EmvPublicKey, certificate: IssuerCertificate, *, pan: str | None, today: dt.date
) -> IssuerCertificateContents:
    """Retrieve the issuer public key (Book 2 §5.3 steps 1 to 12) and return what was certified.

    ``pan`` is the card's Application PAN, which must start with the issuer identifier (step 8);
    None skips that step (a CA or issuer checking a certificate before any card exists compares
    :attr:`IssuerCertificateContents.issuer_identifier` itself). Step 10 (the certificate's
    revocation, by RID, CA index and serial) is the caller's. Raises :class:`EmvError`:
    ``wrong-length`` (step 1), ``bad-trailer`` (2), ``bad-header`` (3), ``bad-format`` (4),
    ``missing-remainder`` / ``bad-remainder`` / ``modulus-too-long`` / ``bad-exponent`` (the key
    does not fit the certificate), ``unknown-hash-algorithm`` (6), ``bad-hash`` (7),
    ``bad-issuer-identifier`` / ``pan-mismatch`` (8), ``bad-date`` / ``expired`` (9),
    ``unknown-pk-algorithm`` (11), ``bad-modulus`` (12).
    """
    if pan is not None:
        pan = parse_pan(pan)
    recovered = recover_issuer_certificate(ca_key, certificate.certificate)
    checked = pk_certificate.check_certificate(
        pk_certificate.ISSUER, recovered, certificate.remainder, certificate.exponent
    )
    identifier = cn_to_digits(recovered.identifier)
    if identifier is None or not 3 <= len(identifier) <= 8:
        raise EmvError(Reason.BAD_ISSUER_IDENTIFIER, f"the {_WHAT}'s issuer identifier is not 3 to 8 digits")
    if pan is not None and not pan.startswith(identifier):
        raise EmvError(Reason.PAN_MISMATCH, f"the PAN does not start with the issuer identifier {identifier}")
    expiry = pk_certificate.check_expiry(recovered, today)
    pk_certificate.check_pk_algorithm(recovered)
    return IssuerCertificateContents(
        issuer_identifier=identifier,
        expiry=expiry,
        serial=recovered.serial,
        issuer_key=EmvPublicKey(checked.modulus, checked.exponent),
    )
