"""ACME's JWS layer on hostile keys and signatures (RFC 8555 §6.2, RFC 7515, RFC 7518 §6)."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from chancery.errors import Malformed
from chancery.protocols.acme.jws import load_jwk, parse, verify
from chancery.services.acme.errors import BadSignatureAlgorithm


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rsa_jwk(n: int, e: int) -> dict[str, str]:
    return {
        "kty": "RSA",
        "n": b64(n.to_bytes((n.bit_length() + 7) // 8, "big")),
        "e": b64(e.to_bytes(16, "big").lstrip(b"\0")),
    }


def test_an_rs256_signature_verifies_and_a_tampered_one_does_not() -> None:
    key = rsa.generate_private_key(65537, 2048)
    numbers = key.public_key().public_numbers()
    public, _ = load_jwk(rsa_jwk(numbers.n, numbers.e), "RS256")
    protected = b64(json.dumps({"alg": "RS256", "nonce": "x", "url": "https://ca/acme/x"}).encode())
    payload = b64(b"{}")
    signature = key.sign(f"{protected}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    body = json.dumps({"protected": protected, "payload": payload, "signature": b64(signature)}).encode()
    verify(public, "RS256", parse(body))
    tampered = json.dumps({"protected": protected, "payload": b64(b'{"a":1}'), "signature": b64(signature)}).encode()
    with pytest.raises(Malformed, match="does not verify"):
        verify(public, "RS256", parse(tampered))


@pytest.mark.parametrize(
    ("bits", "exponent"),
    [(1024, 65537), (8200, 65537), (2048, 2**64 + 1), (2048, 1)],
    ids=["fail/short", "fail/oversized", "fail/huge-exponent", "fail/exponent-1"],
)
def test_rsa_account_keys_out_of_bounds(bits: int, exponent: int) -> None:
    n = (1 << (bits - 1)) | 1
    with pytest.raises(Malformed):
        load_jwk(rsa_jwk(n, exponent), "RS256")


@pytest.mark.parametrize(
    ("jwk", "algorithm", "error"),
    [
        ({"kty": "EC", "crv": "P-384", "x": b64(b"\1" * 48), "y": b64(b"\1" * 48)}, "ES256", BadSignatureAlgorithm),
        (
            {"kty": "EC", "crv": "P-256", "x": b64(b"\1" * 32), "y": b64(b"\1" * 32)},
            "ES256",
            Malformed,
        ),  # not on the curve
        ({"kty": "EC", "crv": "P-256", "x": b64(b"\1" * 31), "y": b64(b"\1" * 32)}, "ES256", Malformed),
        ({"kty": "oct", "k": b64(b"secret")}, "EdDSA", Malformed),
        ({"kty": "RSA"}, "RS256", Malformed),
    ],
    ids=["fail/wrong-curve", "fail/off-curve", "fail/short-coordinate", "fail/symmetric", "fail/no-modulus"],
)
def test_hostile_jwks(jwk: dict[str, str], algorithm: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        load_jwk(jwk, algorithm)


@pytest.mark.parametrize(
    "body",
    [b"", b"[]", b'{"protected": "", "payload": ""}', b'{"protected": 1, "payload": "", "signature": ""}', b"\xff"],
    ids=["fail/empty", "fail/array", "fail/missing-signature", "fail/not-strings", "fail/not-utf8"],
)
def test_bodies_that_are_no_flattened_jws(body: bytes) -> None:
    with pytest.raises(Malformed):
        parse(body)


def test_an_es256_signature_of_the_wrong_length() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.x.to_bytes(32, "big")),
        "y": b64(numbers.y.to_bytes(32, "big")),
    }
    public, _ = load_jwk(jwk, "ES256")
    body = json.dumps({"protected": b64(b'{"alg":"ES256"}'), "payload": "", "signature": b64(b"\1" * 63)}).encode()
    with pytest.raises(Malformed):
        verify(public, "ES256", parse(body))
