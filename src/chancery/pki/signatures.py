"""Signature algorithm identifiers for what Chancery signs itself (CRLs, OCSP responses)."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from chancery.keys.base import KeyHandle
from chancery.pki import der
from chancery.pki.keypolicy import signature_hash

# RFC 5758 §3.2 (ECDSA, parameters absent), RFC 4055 §5 (RSA, NULL parameters), RFC 8410 §3 (Ed25519).
_ECDSA = {"SHA256": "1.2.840.10045.4.3.2", "SHA384": "1.2.840.10045.4.3.3", "SHA512": "1.2.840.10045.4.3.4"}
_RSA = {"SHA256": "1.2.840.113549.1.1.11", "SHA384": "1.2.840.113549.1.1.12", "SHA512": "1.2.840.113549.1.1.13"}
_ED25519 = "1.3.101.112"


@dataclass(frozen=True)
class SignatureScheme:
    """How a key signs: the hash it uses and the AlgorithmIdentifier (DER) that names it."""

    hash: hashes.HashAlgorithm | None
    algorithm_identifier: bytes


def signature_scheme(public_key: PublicKeyTypes) -> SignatureScheme:
    algorithm = signature_hash(public_key)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        assert algorithm is not None
        return SignatureScheme(algorithm, der.sequence(der.oid(_ECDSA[algorithm.name.upper()])))
    if isinstance(public_key, rsa.RSAPublicKey):
        assert algorithm is not None
        return SignatureScheme(algorithm, der.sequence(der.oid(_RSA[algorithm.name.upper()]), der.null()))
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return SignatureScheme(None, der.sequence(der.oid(_ED25519)))
    raise ValueError(f"no signature scheme for {type(public_key).__name__}")


def signed(key: KeyHandle, scheme: SignatureScheme, tbs: bytes) -> bytes:
    """``SEQUENCE { tbs, signatureAlgorithm, signature BIT STRING }``: a signed X.509-style structure."""
    return der.sequence(tbs, scheme.algorithm_identifier, der.bit_string(key.sign(tbs, scheme.hash)))
