"""Generating private keys of the supported types (in software), and signing as X.509 does."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
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


def sign_as_x509(key: PrivateKeyTypes, data: bytes, algorithm: hashes.HashAlgorithm | None) -> bytes:
    """Sign ``data`` as X.509 signatures are made: ECDSA (DER), RSA PKCS#1 v1.5, or EdDSA (no hash).

    ``key`` may be a software key or a token-backed stand-in (:mod:`chancery.keys.pkcs11.adapters`).
    """
    if isinstance(key, ec.EllipticCurvePrivateKey):
        assert algorithm is not None
        return key.sign(data, ec.ECDSA(algorithm))
    if isinstance(key, rsa.RSAPrivateKey):
        assert algorithm is not None
        return key.sign(data, padding.PKCS1v15(), algorithm)
    return key.sign(data)  # type: ignore[call-arg]
