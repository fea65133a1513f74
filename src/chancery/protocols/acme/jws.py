"""Flattened JWS as ACME uses it (RFC 8555 §6.2, RFC 7515): parsing, the algorithm allowlist,
public JWKs and signature verification with pyca/cryptography."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chancery.domain.acme import b64url_decode, canonical_jwk, jwk_thumbprint
from chancery.errors import CAError, Malformed
from chancery.services.acme.accounts import SignedKey
from chancery.services.acme.errors import BadSignatureAlgorithm

ALGORITHMS = ("ES256", "ES384", "RS256", "EdDSA")
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192  # and a public exponent of at most 32 bits: a huge key or exponent is a way to burn CPU
_CURVES = {
    "ES256": ("P-256", ec.SECP256R1(), hashes.SHA256(), 32),
    "ES384": ("P-384", ec.SECP384R1(), hashes.SHA384(), 48),
}

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True)
class Jws:
    protected: dict[str, Any]
    protected_b64: str
    payload_b64: str
    payload: bytes
    signature: bytes

    @property
    def signing_input(self) -> bytes:
        return f"{self.protected_b64}.{self.payload_b64}".encode("ascii")

    def payload_json(self) -> dict[str, Any]:
        """The payload as a JSON object; POST-as-GET (empty payload) is ``{}`` only where allowed."""
        value = _json(self.payload, "the JWS payload")
        if not isinstance(value, dict):
            raise Malformed("the JWS payload must be a JSON object")
        return value

    @property
    def post_as_get(self) -> bool:
        return self.payload_b64 == ""


def parse(body: bytes) -> Jws:
    """A flattened JWS (RFC 7515 §7.2.2) with a protected header only (RFC 8555 §6.2)."""
    document = _json(body, "the request body")
    if not isinstance(document, dict) or set(document) != {"protected", "payload", "signature"}:
        raise Malformed("the body must be a flattened JWS with exactly protected, payload and signature")
    if not all(isinstance(document[k], str) for k in document):
        raise Malformed("protected, payload and signature must be strings")
    protected = _json(b64url_decode(document["protected"]), "the protected header")
    if not isinstance(protected, dict):
        raise Malformed("the protected header must be a JSON object")
    return Jws(
        protected=protected,
        protected_b64=document["protected"],
        payload_b64=document["payload"],
        payload=b64url_decode(document["payload"]),
        signature=b64url_decode(document["signature"]),
    )


def check_algorithm(header: dict[str, Any]) -> str:
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise BadSignatureAlgorithm(
            f"the signature algorithm {str(algorithm)[:20]!r} is not accepted; use one of {', '.join(ALGORITHMS)}"
        )
    return str(algorithm)


def load_jwk(jwk: Any, algorithm: str) -> tuple[PublicKey, SignedKey]:
    """The public key a JWK describes, fit for ``algorithm``; raises Malformed / badSignatureAlgorithm."""
    canonical = canonical_jwk(jwk)
    try:
        key = _key(jwk, algorithm)
    except (ValueError, TypeError, CAError) as bad:
        if isinstance(bad, BadSignatureAlgorithm):
            raise
        raise Malformed("the JWK is not a valid public key") from None
    return key, SignedKey(canonical, jwk_thumbprint(jwk))


def load_stored(jwk_text: str, algorithm: str) -> PublicKey:
    key, _ = load_jwk(json.loads(jwk_text), algorithm)
    return key


def verify(key: PublicKey, algorithm: str, jws: Jws) -> None:
    """Raises Malformed when the signature does not verify (RFC 8555 §6.2)."""
    try:
        if algorithm in _CURVES:
            size = _CURVES[algorithm][3]
            if len(jws.signature) != 2 * size or not isinstance(key, ec.EllipticCurvePublicKey):
                raise InvalidSignature
            r, s = int.from_bytes(jws.signature[:size], "big"), int.from_bytes(jws.signature[size:], "big")
            key.verify(encode_dss_signature(r, s), jws.signing_input, ec.ECDSA(_CURVES[algorithm][2]))
        elif algorithm == "RS256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(jws.signature, jws.signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif algorithm == "EdDSA" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(jws.signature, jws.signing_input)
        else:
            raise InvalidSignature
    except InvalidSignature:
        raise Malformed("the JWS signature does not verify") from None


def spki(key: PublicKey) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _key(jwk: dict[str, Any], algorithm: str) -> PublicKey:
    kty = jwk["kty"]
    if algorithm in _CURVES:
        name, curve, _, size = _CURVES[algorithm]
        if kty != "EC" or jwk["crv"] != name:
            raise BadSignatureAlgorithm(f"{algorithm} needs an EC key on {name}")
        x, y = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
        if len(x) != size or len(y) != size:
            raise ValueError("bad point")
        return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve).public_key()
    if algorithm == "RS256":
        if kty != "RSA":
            raise BadSignatureAlgorithm("RS256 needs an RSA key")
        n = int.from_bytes(b64url_decode(jwk["n"]), "big")
        e = int.from_bytes(b64url_decode(jwk["e"]), "big")
        if not MIN_RSA_BITS <= n.bit_length() <= MAX_RSA_BITS or not 3 <= e < 2**32:
            raise Malformed(f"RSA account keys have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits and a 32-bit exponent")
        return rsa.RSAPublicNumbers(e, n).public_key()
    if kty != "OKP" or jwk["crv"] != "Ed25519":
        raise BadSignatureAlgorithm("EdDSA needs an Ed25519 key")
    return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise Malformed(f"{what} is not JSON") from None
