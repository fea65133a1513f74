"""Algorithms SCEP's CMS messages use (RFC 8894 §3.5.2): digests, signature schemes, and the
signer protocol through which the RA key signs without leaving its key store."""

from __future__ import annotations

from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from chancery.pki.scep.messages import FailInfo, ScepError

# RFC 5754 §2, RFC 8017 Appendix A.2.4: digest OIDs (MD5 is refused with badAlg, RFC 8894 §3.5.2).
DIGESTS: dict[str, str] = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
DIGEST_OIDS = {name: dotted for dotted, name in DIGESTS.items()} | {"md5": "1.2.840.113549.2.5"}
HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
    "md5": hashes.MD5,
}

_RSA = "1.2.840.113549.1.1.1"
_PSS = "1.2.840.113549.1.1.10"
_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
# RFC 4055 §5 / RFC 8017 (RSA with a hash), RFC 5758 §3.2 (ECDSA): signature OID -> (scheme, hash).
SIGNATURES: dict[str, tuple[str, str | None]] = {
    _RSA: ("rsa", None),
    "1.2.840.113549.1.1.5": ("rsa", "sha1"),
    "1.2.840.113549.1.1.14": ("rsa", "sha224"),
    "1.2.840.113549.1.1.11": ("rsa", "sha256"),
    "1.2.840.113549.1.1.12": ("rsa", "sha384"),
    "1.2.840.113549.1.1.13": ("rsa", "sha512"),
    _PSS: ("pss", None),
    _EC_PUBLIC_KEY: ("ecdsa", None),
    "1.2.840.10045.4.1": ("ecdsa", "sha1"),
    "1.2.840.10045.4.3.1": ("ecdsa", "sha224"),
    "1.2.840.10045.4.3.2": ("ecdsa", "sha256"),
    "1.2.840.10045.4.3.3": ("ecdsa", "sha384"),
    "1.2.840.10045.4.3.4": ("ecdsa", "sha512"),
}
_SIGNATURE_OIDS = {v: k for k, v in SIGNATURES.items() if v[1] is not None}


class CmsSigner(Protocol):
    """The RA/CA key as the key store hands it out (a KeyHandle satisfies this)."""

    def public_key(self) -> PublicKeyTypes: ...

    def sign(self, data: bytes, algorithm: hashes.HashAlgorithm | None) -> bytes: ...


def signature_algorithm(public_key: PublicKeyTypes, digest: str) -> str:
    """The SignerInfo signatureAlgorithm OID for ``public_key`` with ``digest``."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return _SIGNATURE_OIDS.get(("rsa", digest), _RSA)
    if isinstance(public_key, ec.EllipticCurvePublicKey) and ("ecdsa", digest) in _SIGNATURE_OIDS:
        return _SIGNATURE_OIDS[("ecdsa", digest)]
    raise ScepError(FailInfo.BAD_ALG, "the signing key is neither RSA nor ECDSA with a SHA-2/SHA-1 digest")
