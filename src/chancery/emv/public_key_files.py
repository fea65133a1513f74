"""A card's (or any) RSA public key from the files people have: PEM or DER (SubjectPublicKeyInfo
or PKCS#1 RSAPublicKey), or JSON ``{"modulus": hex, "exponent": hex}``; refused unless EMV allows it."""

from __future__ import annotations

import json

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chancery.emv.errors import EmvError, Reason
from chancery.emv.fields import parse_hex
from chancery.emv.rsa import MAX_MODULUS_LENGTH, EmvPublicKey, parse_exponent

MAX_FILE = 16 * 1024


def load_emv_public_key(data: bytes) -> EmvPublicKey:
    if len(data) > MAX_FILE:
        raise EmvError(Reason.OVERSIZED, f"a public key file has at most {MAX_FILE} bytes")
    stripped = data.strip()
    if stripped.startswith(b"{"):
        return _from_json(stripped)
    key = _load(stripped)
    if not isinstance(key, rsa.RSAPublicKey):
        raise EmvError(Reason.BAD_FIELD, "the public key is not an RSA key")
    numbers = key.public_numbers()
    return EmvPublicKey.from_numbers(numbers.n, numbers.e)


def _load(data: bytes) -> object:
    try:
        if data.startswith(b"-----"):
            return serialization.load_pem_public_key(data)
        return serialization.load_der_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise EmvError(Reason.BAD_FIELD, "not a PEM or DER public key, nor JSON {modulus, exponent}") from None


def _from_json(data: bytes) -> EmvPublicKey:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise EmvError(Reason.BAD_JSON, "the public key is not valid JSON") from None
    if not isinstance(document, dict) or set(document) != {"modulus", "exponent"}:
        raise EmvError(Reason.BAD_FIELD, 'a JSON public key is {"modulus": hex, "exponent": hex}')
    modulus = parse_hex(document["modulus"], "modulus", max_bytes=MAX_MODULUS_LENGTH)
    exponent = parse_exponent(parse_hex(document["exponent"], "exponent", max_bytes=3))
    return EmvPublicKey(modulus, exponent)
