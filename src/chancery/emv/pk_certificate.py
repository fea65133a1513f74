"""The layout public key certificates share (EMV Book 2 Table 6, format '02', and Table 14, '04').

Both are ``'6A' || format || identifier || expiry (MMYY) || serial (3) || hash algorithm ||
public key algorithm || key length || exponent length || key (or its leftmost digits, padded
with 'BB') || hash || 'BC'``, as long as the certifier's modulus N. Only the identifier differs:
4 bytes of issuer identifier in Table 6 (so N - 36 bytes of key), 10 bytes of PAN in Table 14
(N - 42). A key longer than that leaves its rightmost bytes out as the remainder, which the card
carries beside the certificate (tags '92', '9F48', '9F2F') and the hash covers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from chancery.emv import framing
from chancery.emv.errors import EmvError, Reason
from chancery.emv.fields import Expiry, check_serial
from chancery.emv.rsa import EmvPublicKey, parse_exponent


@dataclass(frozen=True)
class Layout:
    """What distinguishes Table 6 from Table 14."""

    format: int
    identifier_length: int
    name: str

    def key_field_length(self, certifier_length: int) -> int:
        """Bytes of key the certificate holds: N - 36 (Table 6) or N - 42 (Table 14)."""
        return certifier_length - 32 - self.identifier_length


ISSUER = Layout(0x02, 4, "issuer public key certificate")
ICC = Layout(0x04, 10, "ICC public key certificate")


@dataclass(frozen=True)
class CertifiedKey:
    """The fields a certificate carries about its subject's key (items 3 to 10 of Table 6 / 14)."""

    layout: Layout
    identifier: bytes  # cn, padded with 'F'
    expiry: Expiry
    serial: bytes
    key: EmvPublicKey

    def __post_init__(self) -> None:
        check_serial(self.serial)
        if len(self.identifier) != self.layout.identifier_length:
            raise ValueError("identifier of the wrong length for the layout")


def build_block(subject: CertifiedKey, certifier_length: int, *unsigned_tail: bytes) -> tuple[bytes, bytes]:
    """The data to sign (header to trailer, ``certifier_length`` bytes) and the key's remainder.

    The hash covers the fields, the remainder, the exponent and then ``unsigned_tail`` (static
    data to be authenticated, for Table 14). ``modulus-too-long`` if the key is longer than the
    certifier's (Book 2 §5.1: N_I <= N_CA; §6.1: N_IC <= N_I).
    """
    layout, key = subject.layout, subject.key
    if key.length > certifier_length:
        raise EmvError(
            Reason.MODULUS_TOO_LONG,
            f"a {key.length}-byte key cannot be certified by a {certifier_length}-byte key (Book 2 §5.1, §6.1)",
        )
    room = layout.key_field_length(certifier_length)
    leftmost, remainder = key.modulus[:room], key.modulus[room:]
    body = (
        bytes([layout.format])
        + subject.identifier
        + subject.expiry.bcd
        + subject.serial
        + bytes([framing.HASH_SHA1, framing.PK_RSA, key.length, len(key.exponent_bytes)])
        + leftmost.ljust(room, bytes([framing.PAD]))
    )
    return framing.frame(body, remainder, key.exponent_bytes, *unsigned_tail), remainder


@dataclass(frozen=True)
class RecoveredCertificate:
    """The fields of a recovered certificate that passed steps 1 to 4 (length, trailer, header,
    format) and nothing more: its hash is unchecked, so none of it is trusted yet. Verification
    (``verify_issuer_certificate``, ``verify_icc_certificate``) is what makes it a certificate."""

    format: int
    identifier: bytes  # issuer identifier (4 bytes) or application PAN (10 bytes), cn
    expiry: bytes  # MMYY, BCD
    serial: bytes
    hash_algorithm: int
    pk_algorithm: int
    key_length: int
    exponent_length: int
    key_field: bytes = field(repr=False)  # the key or its leftmost digits, with any 'BB' padding
    hash_result: bytes
    block: bytes = field(repr=False)

    def modulus(self, remainder: bytes) -> bytes:
        """The subject's modulus: the key field's leftmost ``key_length`` bytes, or the key field
        followed by ``remainder`` (Book 2 §5.3 step 12, §6.4 step 11).

        ``modulus-too-long`` if the key is longer than its certifier's; ``missing-remainder`` if a
        remainder is needed and ``remainder`` is empty; ``bad-remainder`` if it has the wrong
        length or is given when the key fits.
        """
        certifier_length = len(self.block)
        if self.key_length > certifier_length:
            raise EmvError(
                Reason.MODULUS_TOO_LONG,
                f"the certified key has {self.key_length} bytes, more than its certifier's {certifier_length}",
            )
        room = len(self.key_field)
        if self.key_length <= room:
            if remainder:
                raise EmvError(Reason.BAD_REMAINDER, "a remainder was given but the whole key is in the certificate")
            return self.key_field[: self.key_length]
        if not remainder:
            raise EmvError(
                Reason.MISSING_REMAINDER, f"the key has {self.key_length} bytes, the certificate holds {room}"
            )
        if len(remainder) != self.key_length - room:
            raise EmvError(
                Reason.BAD_REMAINDER,
                f"the remainder has {len(remainder)} bytes, the key needs {self.key_length - room}",
            )
        return self.key_field + remainder


def recover_certificate(layout: Layout, certifier: EmvPublicKey, certificate: bytes) -> RecoveredCertificate:
    """Steps 1 to 4 of Book 2 §5.3 / §6.4 and the fields of Table 6 / 14 (see framing.recover_block)."""
    block = framing.recover_block(certifier, certificate, layout.format, layout.name)
    k = layout.identifier_length
    hash_start = len(block) - 1 - framing.HASH_LENGTH
    return RecoveredCertificate(
        format=block[1],
        identifier=block[2 : 2 + k],
        expiry=block[2 + k : 4 + k],
        serial=block[4 + k : 7 + k],
        hash_algorithm=block[7 + k],
        pk_algorithm=block[8 + k],
        key_length=block[9 + k],
        exponent_length=block[10 + k],
        key_field=block[11 + k : hash_start],
        hash_result=block[hash_start:-1],
        block=block,
    )


@dataclass(frozen=True)
class CheckedCertificate:
    """A recovered certificate whose hash matched: the fields can be trusted (as far as the
    certifier's key can). The caller checks the identifier, expiry and algorithm (steps 8 on)."""

    recovered: RecoveredCertificate
    modulus: bytes
    exponent: int


def check_certificate(
    layout: Layout, recovered: RecoveredCertificate, remainder: bytes, exponent: bytes, *unsigned_tail: bytes
) -> CheckedCertificate:
    """Steps 5 to 7 (hash) with the remainder and exponent the card carries, and ``unsigned_tail``.

    Raises what :meth:`RecoveredCertificate.modulus` raises, ``bad-exponent`` (not '03' or
    '010001', or not the length the certificate says), ``unknown-hash-algorithm``, ``bad-hash``.
    """
    modulus = recovered.modulus(remainder)
    value = parse_exponent(exponent)
    framing.check_hash(recovered.block, recovered.hash_algorithm, remainder, exponent, *unsigned_tail, what=layout.name)
    if recovered.exponent_length != len(exponent):
        raise EmvError(
            Reason.BAD_EXPONENT,
            f"the certificate says the exponent has {recovered.exponent_length} bytes; it has {len(exponent)}",
        )
    return CheckedCertificate(recovered, modulus, value)


def check_pk_algorithm(recovered: RecoveredCertificate) -> None:
    """Book 2 §5.3 step 11, §6.4 step 10: the public key algorithm must be one we know (RSA)."""
    if recovered.pk_algorithm != framing.PK_RSA:
        raise EmvError(
            Reason.UNKNOWN_PK_ALGORITHM, f"public key algorithm indicator {recovered.pk_algorithm:02X} is not RSA (01)"
        )


def check_expiry(recovered: RecoveredCertificate, today: dt.date) -> Expiry:
    """Book 2 §5.3 step 9, §6.4 step 9: valid through the last day of the expiry month; ``bad-date``
    if the field is not a valid MMYY, ``expired`` after that day."""
    expiry = Expiry.from_bcd(recovered.expiry)
    if expiry.has_expired(today):
        raise EmvError(Reason.EXPIRED, f"the certificate expired at the end of {expiry.mmyy[:2]}/{expiry.year}")
    return expiry
