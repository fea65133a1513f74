"""Generating private keys of the supported types (in software)."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from chancery.domain.keytypes import KeyAlgorithm, KeyType

_CURVES: dict[KeyType, ec.EllipticCurve] = {
    KeyType.EC_P256: ec.SECP256R1(),
    KeyType.EC_P384: ec.SECP384R1(),
    KeyType.EC_P521: ec.SECP521R1(),
}


def generate_private_key(key_type: KeyType) -> PrivateKeyTypes:
    """Generate a fresh key; RSA keys use e = 65537."""
    if key_type.algorithm is KeyAlgorithm.RSA:
        return rsa.generate_private_key(public_exponent=65537, key_size=key_type.rsa_bits)
    if key_type.algorithm is KeyAlgorithm.EC:
        return ec.generate_private_key(_CURVES[key_type])
    return ed25519.Ed25519PrivateKey.generate()
