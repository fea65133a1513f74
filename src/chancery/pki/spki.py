"""Identifiers of a public key from one serialisation of its SubjectPublicKeyInfo."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes


@dataclass(frozen=True)
class KeyIdentifiers:
    """``key_identifier``: RFC 5280 §4.2.1.2 method (1), SHA-1 of the subjectPublicKey BIT STRING
    value; ``sha256``: hex SHA-256 of the whole DER SubjectPublicKeyInfo (how Chancery finds keys)."""

    key_identifier: bytes
    sha256: str


def key_identifiers(public_key: PublicKeyTypes) -> KeyIdentifiers:
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return KeyIdentifiers(
        key_identifier=hashlib.sha1(subject_public_key(spki)).digest(),  # noqa: S324 - RFC 5280 method (1)
        sha256=hashlib.sha256(spki).hexdigest(),
    )


def sha256_key_identifier(public_key: PublicKeyTypes) -> bytes:
    """RFC 7093 §2 method (1): the leftmost 160 bits of the SHA-256 of the subjectPublicKey BIT STRING value."""
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(subject_public_key(spki)).digest()[:20]


def subject_public_key(spki: bytes) -> bytes:
    """The subjectPublicKey bits of a DER SubjectPublicKeyInfo (X.509 §4.1):
    SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }."""
    tag, start, _ = _header(spki, 0)
    if tag != 0x30:
        raise ValueError("SubjectPublicKeyInfo is not a SEQUENCE")
    tag, algorithm_start, algorithm_length = _header(spki, start)
    if tag != 0x30:
        raise ValueError("AlgorithmIdentifier is not a SEQUENCE")
    tag, bits_start, bits_length = _header(spki, algorithm_start + algorithm_length)
    if tag != 0x03 or bits_length < 1 or spki[bits_start] != 0:
        raise ValueError("subjectPublicKey is not a whole-octet BIT STRING")
    return spki[bits_start + 1 : bits_start + bits_length]


def _header(der: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, content offset, content length) of the DER element at ``offset`` (X.690 §8.1)."""
    tag = der[offset]
    first = der[offset + 1]
    if first < 0x80:
        return tag, offset + 2, first
    count = first & 0x7F
    if not 1 <= count <= 4:
        raise ValueError("unsupported DER length")
    length = int.from_bytes(der[offset + 2 : offset + 2 + count], "big")
    return tag, offset + 2 + count, length
