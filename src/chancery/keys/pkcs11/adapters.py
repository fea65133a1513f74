"""Stand-ins for pyca/cryptography private keys whose signatures are made by the token.

pyca/cryptography's builders (certificate, CSR, CRL, OCSP response) accept any object that
implements its private key interface and call its ``sign`` method with the bytes to be signed;
so ``builder.sign(<stand-in>, algorithm)`` produces exactly what a software key would, and the
``pki`` layer never learns where the key is. The hash is computed here and the token signs the
digest: CKM_ECDSA (the token returns r || s, re-encoded as the DER ``Ecdsa-Sig-Value`` of
RFC 3279 §2.2.3), CKM_RSA_PKCS over a DigestInfo (RFC 8017 §9.2), CKM_RSA_PKCS_PSS with its
parameters (RFC 8017 §9.1), and CKM_EDDSA over the whole message (RFC 8032: Ed25519 hashes itself).
Everything that would hand out the private key raises :class:`~chancery.errors.Forbidden`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import MGF, Mechanism

from chancery.errors import Forbidden, UnsupportedMechanism

TokenSign = Callable[[Mechanism, bytes, Any], bytes]
"""``sign(mechanism, data, mechanism_param)``: one C_Sign on the token with this key."""

# RFC 8017 §9.2, note 1: the DER DigestInfo that precedes the hash in EMSA-PKCS1-v1_5.
_DIGEST_INFO = {
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
_HASH_MECHANISM = {"sha256": (Mechanism.SHA256, MGF.SHA256), "sha384": (Mechanism.SHA384, MGF.SHA384)}
_HASH_MECHANISM["sha512"] = (Mechanism.SHA512, MGF.SHA512)


def _refuse(*_: object) -> NoReturn:
    raise Forbidden("a key in the HSM never leaves it")


def _digest(data: bytes, algorithm: object) -> tuple[bytes, str]:
    if not isinstance(algorithm, hashes.SHA256 | hashes.SHA384 | hashes.SHA512):
        raise UnsupportedMechanism(f"keys in the HSM sign with SHA-256, SHA-384 or SHA-512, not {algorithm!r}")
    digest = hashes.Hash(algorithm)
    digest.update(data)
    return digest.finalize(), algorithm.name


class TokenRsaKey(rsa.RSAPrivateKey):
    def __init__(self, public: rsa.RSAPublicKey, sign: TokenSign) -> None:
        self._public = public
        self._sign = sign

    def sign(self, data: bytes, padding: padding.AsymmetricPadding, algorithm: Any) -> bytes:  # type: ignore[override]
        digest, name = _digest(data, algorithm)
        if isinstance(padding, _PKCS1v15):
            return self._sign(Mechanism.RSA_PKCS, _DIGEST_INFO[name] + digest, None)
        if isinstance(padding, _PSS):
            mgf_hash = getattr(padding.mgf, "_algorithm", algorithm)  # MGF1 has no public accessor
            if getattr(mgf_hash, "name", None) != name:
                raise UnsupportedMechanism("keys in the HSM use MGF1 with the signature's own hash")
            hash_mechanism, mgf = _HASH_MECHANISM[name]
            salt = _salt_length(padding, self.key_size, len(digest))
            return self._sign(Mechanism.RSA_PKCS_PSS, digest, (hash_mechanism, mgf, salt))
        raise UnsupportedMechanism(f"keys in the HSM sign with PKCS#1 v1.5 or PSS, not {padding.name}")

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    @property
    def key_size(self) -> int:
        return self._public.key_size

    decrypt = private_numbers = private_bytes = _refuse  # type: ignore[assignment]

    def __copy__(self) -> TokenRsaKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> TokenRsaKey:
        return self


class TokenEcKey(ec.EllipticCurvePrivateKey):
    def __init__(self, public: ec.EllipticCurvePublicKey, sign: TokenSign) -> None:
        self._public = public
        self._sign = sign

    def sign(self, data: bytes, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        if not isinstance(signature_algorithm, ec.ECDSA):
            raise UnsupportedMechanism("keys in the HSM sign with ECDSA")
        digest, _ = _digest(data, signature_algorithm.algorithm)
        raw = self._sign(Mechanism.ECDSA, digest, None)
        half = len(raw) // 2
        return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    @property
    def key_size(self) -> int:
        return self._public.key_size

    exchange = private_numbers = private_bytes = _refuse  # type: ignore[assignment]

    def __copy__(self) -> TokenEcKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> TokenEcKey:
        return self


class TokenEd25519Key(ed25519.Ed25519PrivateKey):
    def __init__(self, public: ed25519.Ed25519PublicKey, sign: TokenSign) -> None:
        self._public = public
        self._sign = sign

    def sign(self, data: bytes) -> bytes:
        return self._sign(Mechanism.EDDSA, data, None)

    def public_key(self) -> ed25519.Ed25519PublicKey:
        return self._public

    private_bytes = private_bytes_raw = _refuse  # type: ignore[assignment]

    def __copy__(self) -> TokenEd25519Key:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> TokenEd25519Key:
        return self


_PKCS1v15 = padding.PKCS1v15
_PSS = padding.PSS


def _salt_length(pss: padding.PSS, key_bits: int, digest_length: int) -> int:
    """RFC 8017 §9.1.1: the salt is at most emLen - hLen - 2 bytes."""
    salt = getattr(pss, "_salt_length", None)
    if isinstance(salt, int):
        return salt
    if salt is padding.PSS.DIGEST_LENGTH:
        return digest_length
    if salt is padding.PSS.MAX_LENGTH:
        return (key_bits + 7) // 8 - digest_length - 2
    raise UnsupportedMechanism("give PSS a salt length (DIGEST_LENGTH, MAX_LENGTH or a number) to sign")


def stand_in(public: object, sign: TokenSign) -> TokenRsaKey | TokenEcKey | TokenEd25519Key:
    """The stand-in private key for ``public``."""
    if isinstance(public, rsa.RSAPublicKey):
        return TokenRsaKey(public, sign)
    if isinstance(public, ec.EllipticCurvePublicKey):
        return TokenEcKey(public, sign)
    if isinstance(public, ed25519.Ed25519PublicKey):
        return TokenEd25519Key(public, sign)
    raise UnsupportedMechanism(f"no token signing for {type(public).__name__}")
