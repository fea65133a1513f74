"""Which public keys Chancery certifies, and how each CA key signs.

Refused: RSA below 2048 bits or above 8192, RSA with an even or tiny public
exponent, EC keys off the NIST P-256/P-384/P-521 curves, DSA and anything else
(NIST SP 800-57 Part 1 Rev. 5 §5.6; CA/Browser Forum BR §6.1.5-6.1.6).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from chancery.errors import BadPublicKey

MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192
ALLOWED_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})


def check_public_key(key: PublicKeyTypes) -> None:
    """Raise :class:`BadPublicKey` with the reason when ``key`` is not acceptable."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise BadPublicKey(f"RSA key of {key.key_size} bits is too short; at least {MIN_RSA_BITS} required")
        if key.key_size > MAX_RSA_BITS:
            raise BadPublicKey(f"RSA key of {key.key_size} bits is too long; at most {MAX_RSA_BITS} allowed")
        exponent = key.public_numbers().e
        if exponent % 2 == 0 or exponent < 65537:
            raise BadPublicKey("RSA public exponent must be odd and at least 65537 (BR §6.1.6)")
        return
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ALLOWED_CURVES:
            raise BadPublicKey(f"EC curve {key.curve.name} is not allowed; use P-256, P-384 or P-521")
        return
    if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return
    raise BadPublicKey(f"unsupported public key type {type(key).__name__.removeprefix('_')}")


def signature_hash(key: PublicKeyTypes) -> hashes.HashAlgorithm | None:
    """The hash a CA with this key signs with; ``None`` for EdDSA (RFC 8410 §6)."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"secp384r1": hashes.SHA384(), "secp521r1": hashes.SHA512()}.get(key.curve.name, hashes.SHA256())
    if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return None
    return hashes.SHA256()
