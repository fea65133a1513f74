"""BER-TLV for the data objects Chancery hands to card personalisation (EMV Book 3 Annex B).

Only the primitive tags of the certificates and their keys are known here ('8F', '90', '92',
'93', '9F32', '9F46', '9F47', '9F48', and the PIN encipherment key's '9F2D', '9F2E', '9F2F').
The encoder writes definite, minimal lengths; the decoder is strict: unknown or repeated tags,
padding bytes, indefinite or non-minimal lengths are ``malformed-tlv``, a
value cut short is ``truncated-tlv``, and a value longer than any valid one is ``oversized``.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from chancery.emv.errors import EmvError, Reason
from chancery.emv.icc_certificate import IccCertificate, IccKeyKind
from chancery.emv.issuer_certificate import IssuerCertificate
from chancery.emv.rsa import MAX_MODULUS_LENGTH

MAX_INPUT = 1024  # one certificate's objects take at most 8F + 90 + 92 + 9F32: about 300 bytes


class Tag(IntEnum):
    CA_PUBLIC_KEY_INDEX = 0x8F
    ISSUER_PUBLIC_KEY_CERTIFICATE = 0x90
    ISSUER_PUBLIC_KEY_REMAINDER = 0x92
    SIGNED_STATIC_APPLICATION_DATA = 0x93
    ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_CERTIFICATE = 0x9F2D
    ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_EXPONENT = 0x9F2E
    ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_REMAINDER = 0x9F2F
    ISSUER_PUBLIC_KEY_EXPONENT = 0x9F32
    ICC_PUBLIC_KEY_CERTIFICATE = 0x9F46
    ICC_PUBLIC_KEY_EXPONENT = 0x9F47
    ICC_PUBLIC_KEY_REMAINDER = 0x9F48


# Longest valid value of each tag. A remainder is at most 36 bytes (N_I <= N_CA, Book 2 §5.1)
# or 42 (N_IC <= N_I, §6.1); an exponent is '03' or '010001'.
_MAX_LENGTH = {
    Tag.CA_PUBLIC_KEY_INDEX: 1,
    Tag.ISSUER_PUBLIC_KEY_CERTIFICATE: MAX_MODULUS_LENGTH,
    Tag.ISSUER_PUBLIC_KEY_REMAINDER: 36,
    Tag.SIGNED_STATIC_APPLICATION_DATA: MAX_MODULUS_LENGTH,
    Tag.ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_CERTIFICATE: MAX_MODULUS_LENGTH,
    Tag.ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_EXPONENT: 3,
    Tag.ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_REMAINDER: 42,
    Tag.ISSUER_PUBLIC_KEY_EXPONENT: 3,
    Tag.ICC_PUBLIC_KEY_CERTIFICATE: MAX_MODULUS_LENGTH,
    Tag.ICC_PUBLIC_KEY_EXPONENT: 3,
    Tag.ICC_PUBLIC_KEY_REMAINDER: 42,
}
_KNOWN = frozenset(int(tag) for tag in Tag)
_ICC_TAGS = {
    IccKeyKind.ICC: (Tag.ICC_PUBLIC_KEY_CERTIFICATE, Tag.ICC_PUBLIC_KEY_REMAINDER, Tag.ICC_PUBLIC_KEY_EXPONENT),
    IccKeyKind.PIN_ENCIPHERMENT: (
        Tag.ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_CERTIFICATE,
        Tag.ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_REMAINDER,
        Tag.ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_EXPONENT,
    ),
}


def encode_tlv(tag: Tag, value: bytes) -> bytes:
    """One data object: tag (1 or 2 bytes), minimal definite length, value."""
    tag = Tag(tag)
    if len(value) > _MAX_LENGTH[tag]:
        raise EmvError(Reason.OVERSIZED, f"a {tag:X} value has at most {_MAX_LENGTH[tag]} bytes")
    length = bytes([len(value)]) if len(value) < 0x80 else bytes([0x81, len(value)])
    return tag.to_bytes(1 if tag <= 0xFF else 2, "big") + length + value


def encode_tlvs(objects: Iterable[tuple[Tag, bytes]]) -> bytes:
    return b"".join(encode_tlv(tag, value) for tag, value in objects)


def issuer_data_objects(ca_index: int, certificate: IssuerCertificate) -> bytes:
    """'8F' (CA public key index), '90', '92' (only when there is a remainder; Book 3 §7.2), '9F32'."""
    if not 0 <= ca_index <= 0xFF:
        raise EmvError(Reason.BAD_FIELD, "a CA public key index is one byte")
    objects = [
        (Tag.CA_PUBLIC_KEY_INDEX, bytes([ca_index])),
        (Tag.ISSUER_PUBLIC_KEY_CERTIFICATE, certificate.certificate),
    ]
    if certificate.remainder:
        objects.append((Tag.ISSUER_PUBLIC_KEY_REMAINDER, certificate.remainder))
    objects.append((Tag.ISSUER_PUBLIC_KEY_EXPONENT, certificate.exponent))
    return encode_tlvs(objects)


def icc_data_objects(certificate: IccCertificate) -> bytes:
    """'9F46', '9F48' (only when there is a remainder), '9F47'; or '9F2D', '9F2F', '9F2E' for a
    PIN encipherment key certificate."""
    cert_tag, remainder_tag, exponent_tag = _ICC_TAGS[certificate.kind]
    objects = [(cert_tag, certificate.certificate)]
    if certificate.remainder:
        objects.append((remainder_tag, certificate.remainder))
    objects.append((exponent_tag, certificate.exponent))
    return encode_tlvs(objects)


def _read_tag(data: bytes, i: int) -> tuple[Tag, int]:
    first = data[i]
    if first in (0x00, 0xFF):
        raise EmvError(Reason.MALFORMED_TLV, f"padding byte {first:02X} at offset {i}")
    tag, i = first, i + 1
    if first & 0x1F == 0x1F:  # the tag continues (Book 3 Annex B1)
        if i >= len(data):
            raise EmvError(Reason.TRUNCATED_TLV, "the input ends inside a tag")
        if data[i] & 0x80:
            raise EmvError(Reason.MALFORMED_TLV, f"a tag longer than two bytes at offset {i - 1}")
        tag, i = tag << 8 | data[i], i + 1
    if tag not in _KNOWN:
        raise EmvError(Reason.MALFORMED_TLV, f"tag {tag:X} is not one of the certificate data objects")
    return Tag(tag), i


def _read_length(data: bytes, i: int) -> tuple[int, int]:
    if i >= len(data):
        raise EmvError(Reason.TRUNCATED_TLV, "the input ends before a length")
    first, i = data[i], i + 1
    if first < 0x80:
        return first, i
    if first == 0x80:
        raise EmvError(Reason.MALFORMED_TLV, "indefinite lengths are not allowed")
    count = first & 0x7F
    if count > 2:
        raise EmvError(Reason.OVERSIZED, f"a length of {count} bytes")
    if i + count > len(data):
        raise EmvError(Reason.TRUNCATED_TLV, "the input ends inside a length")
    length = int.from_bytes(data[i : i + count], "big")
    if length < (0x80 if count == 1 else 0x100):
        raise EmvError(Reason.MALFORMED_TLV, "a length not in its shortest form")
    return length, i + count


def decode_tlvs(data: bytes) -> dict[Tag, bytes]:
    """The data objects in ``data``, in order; strict (see the module docstring)."""
    if len(data) > MAX_INPUT:
        raise EmvError(Reason.OVERSIZED, f"certificate data objects take at most {MAX_INPUT} bytes")
    objects: dict[Tag, bytes] = {}
    i = 0
    while i < len(data):
        tag, i = _read_tag(data, i)
        if tag in objects:
            raise EmvError(Reason.MALFORMED_TLV, f"tag {tag:X} appears twice")
        length, i = _read_length(data, i)
        if length > _MAX_LENGTH[tag]:
            raise EmvError(Reason.OVERSIZED, f"a {tag:X} value of {length} bytes (at most {_MAX_LENGTH[tag]})")
        if i + length > len(data):
            raise EmvError(Reason.TRUNCATED_TLV, f"the {tag:X} value is cut short")
        objects[tag] = data[i : i + length]
        i += length
    return objects
