"""Making a not-yet-signed certificate lintable.

pkilint reads a whole certificate, signature included, but the CA key must sign
a certificate only once it has passed (DESIGN.md invariants 1 and 8). The copy
is signed by a throwaway key of the issuer key's type, so its signature
algorithm is exactly the real one; its signature proves nothing and it never
leaves the process.
"""

from __future__ import annotations

import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

_stand_ins: dict[tuple[str, int | str], PrivateKeyTypes] = {}
_lock = threading.Lock()


def stand_in_key(issuer_key: PublicKeyTypes) -> PrivateKeyTypes:
    """A throwaway private key of the same algorithm and size or curve as ``issuer_key`` (made once per kind)."""
    if isinstance(issuer_key, rsa.RSAPublicKey):
        kind: tuple[str, int | str] = ("rsa", issuer_key.key_size)
    elif isinstance(issuer_key, ec.EllipticCurvePublicKey):
        kind = ("ec", issuer_key.curve.name)
    elif isinstance(issuer_key, ed25519.Ed25519PublicKey):
        kind = ("ed25519", 0)
    elif isinstance(issuer_key, ed448.Ed448PublicKey):
        kind = ("ed448", 0)
    else:
        raise TypeError(f"no stand-in for {type(issuer_key).__name__}")
    with _lock:
        key = _stand_ins.get(kind)
        if key is None:
            key = _stand_ins[kind] = _generate(issuer_key)
    return key


def lint_copy(
    builder: x509.CertificateBuilder, issuer_key: PublicKeyTypes, algorithm: hashes.HashAlgorithm | None
) -> x509.Certificate:
    """``builder`` signed by the stand-in for ``issuer_key``: same bytes to be signed, worthless signature."""
    return builder.sign(stand_in_key(issuer_key), algorithm)  # type: ignore[arg-type]


def _generate(issuer_key: PublicKeyTypes) -> PrivateKeyTypes:
    if isinstance(issuer_key, rsa.RSAPublicKey):
        return rsa.generate_private_key(65537, issuer_key.key_size)
    if isinstance(issuer_key, ec.EllipticCurvePublicKey):
        return ec.generate_private_key(issuer_key.curve)
    if isinstance(issuer_key, ed25519.Ed25519PublicKey):
        return ed25519.Ed25519PrivateKey.generate()
    return ed448.Ed448PrivateKey.generate()
