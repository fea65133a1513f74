"""Self-signed issuer public key requests: what an issuer sends its payment scheme's CA.

The request carries the issuer key in the clear and a block signed with the issuer's own
private key (proof of possession). The block is laid out as an Issuer Public Key Certificate
(EMV Book 2 Table 6) with certificate format '23' ("self-signed", as payment HSMs produce it
for Europay/Mastercard-style requests) instead of '02': ``'6A' || '23' || issuer identifier ||
expiry || serial || '01' || '01' || key length || exponent length || leftmost N_I - 36 bytes of
the key || SHA-1 || 'BC'``, and the hash covers the 36 remaining key bytes and the exponent,
exactly as Book 2 §5.3 step 5 for a certificate. Nothing outside the block is trusted until the
block recovers, with the key the request carries, to that same key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from chancery.emv import pk_certificate
from chancery.emv.errors import EmvError, Reason
from chancery.emv.fields import Expiry, check_serial, cn_to_digits, digits_to_cn, parse_issuer_identifier
from chancery.emv.framing import sign_block
from chancery.emv.pk_certificate import CertifiedKey, Layout
from chancery.emv.rsa import EmvPublicKey, RawSigner, signer_public_key

SELF_SIGNED = Layout(0x23, 4, "self-signed issuer public key")


@dataclass(frozen=True)
class IssuerKeyRequest:
    """What the issuer asks the scheme CA to certify: its key, for its identifier (BIN), until
    ``expiry``; ``serial`` is the issuer's own reference for the request (3 bytes)."""

    issuer_identifier: str
    expiry: Expiry
    serial: bytes
    key: EmvPublicKey

    def __post_init__(self) -> None:
        parse_issuer_identifier(self.issuer_identifier)
        check_serial(self.serial)


def sign_request(request: IssuerKeyRequest, issuer: RawSigner) -> bytes:
    """The self-signed block (N_I bytes) for ``request``, signed by the issuer key it names."""
    if signer_public_key(issuer) != request.key:
        raise EmvError(Reason.BAD_FIELD, "a request is signed by the key it asks to certify")
    subject = CertifiedKey(
        layout=SELF_SIGNED,
        identifier=digits_to_cn(request.issuer_identifier, SELF_SIGNED.identifier_length),
        expiry=request.expiry,
        serial=request.serial,
        key=request.key,
    )
    block, _ = pk_certificate.build_block(subject, request.key.length)
    return sign_block(issuer, block)


def verify_request(key: EmvPublicKey, signed: bytes, today: dt.date) -> IssuerKeyRequest:
    """Check that ``signed`` is ``key``'s self-signed request and return what it asks for.

    Raises :class:`EmvError`: ``wrong-length``, ``bad-trailer``, ``bad-header``, ``bad-format``
    (not '23'), ``unknown-hash-algorithm``, ``bad-hash``, ``bad-field`` (the block certifies another
    key than the one in the clear), ``bad-issuer-identifier``, ``bad-date``, ``expired``,
    ``unknown-pk-algorithm``.
    """
    recovered = pk_certificate.recover_certificate(SELF_SIGNED, key, signed)
    room = len(recovered.key_field)
    remainder = key.modulus[room:] if recovered.key_length > room else b""
    checked = pk_certificate.check_certificate(SELF_SIGNED, recovered, remainder, key.exponent_bytes)
    if checked.modulus != key.modulus or checked.exponent != key.exponent:
        raise EmvError(Reason.BAD_FIELD, "the self-signed block certifies another key than the request carries")
    identifier = cn_to_digits(recovered.identifier)
    if identifier is None or not 3 <= len(identifier) <= 8:
        raise EmvError(Reason.BAD_ISSUER_IDENTIFIER, "the request's issuer identifier is not 3 to 8 digits")
    expiry = pk_certificate.check_expiry(recovered, today)
    pk_certificate.check_pk_algorithm(recovered)
    return IssuerKeyRequest(identifier, expiry, recovered.serial, key)
