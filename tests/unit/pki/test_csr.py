from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chancery.errors import BadCSR, BadPublicKey, CAError, Malformed, PayloadTooLarge
from chancery.pki.csr import load_csr
from tests.support.csrs import make_csr, make_key

VECTORS = Path(__file__).parents[2] / "vectors" / "csr"


@pytest.mark.parametrize("name", sorted(p.name for p in VECTORS.glob("ok_*")))
def test_ok_vectors_load(name: str) -> None:
    csr = load_csr((VECTORS / name).read_bytes())
    assert csr.sans == (x509.DNSName("vector.example.com"),)
    assert csr.public_key == csr.csr.public_key()


@pytest.mark.parametrize(
    ("name", "error"),
    [
        pytest.param("short_rsa_key.der.csr", BadPublicKey, id="fail/short-rsa"),
        pytest.param("rsa_exponent_3.der.csr", BadPublicKey, id="fail/rsa-e3"),
        pytest.param("secp256k1_key.der.csr", BadPublicKey, id="fail/secp256k1"),
        pytest.param("dsa_key.der.csr", BadPublicKey, id="fail/dsa"),
        pytest.param("bad_signature.der.csr", BadCSR, id="fail/bad-signature"),
        pytest.param("truncated.der.csr", Malformed, id="fail/truncated"),
        pytest.param("trailing_garbage.der.csr", Malformed, id="fail/trailing-garbage"),
        pytest.param("random_bytes.der.csr", Malformed, id="fail/random-bytes"),
        pytest.param("pem_with_broken_base64.pem.csr", Malformed, id="fail/broken-pem"),
    ],
)
def test_bad_vectors_are_refused_with_the_right_error(name: str, error: type[CAError]) -> None:
    with pytest.raises(error) as info:
        load_csr((VECTORS / name).read_bytes())
    assert info.value.detail  # a clear reason for the user


@pytest.mark.parametrize(
    ("data", "error"),
    [
        pytest.param(b"", Malformed, id="fail/empty"),
        pytest.param(b"   \n", Malformed, id="fail/whitespace"),
        pytest.param(
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", Malformed, id="fail/wrong-pem-label"
        ),
        pytest.param(b"0" * (256 * 1024 + 1), PayloadTooLarge, id="fail/oversized"),
        pytest.param(b"\x30\x84\xff\xff\xff\xff", Malformed, id="fail/hostile-length"),
        pytest.param(b"\x30" + b"\x80" * 1000, Malformed, id="fail/indefinite-nesting"),
    ],
)
def test_hostile_input(data: bytes, error: type[CAError]) -> None:
    with pytest.raises(error):
        load_csr(data)


def test_ten_thousand_sans_are_refused() -> None:
    sans = tuple(f"DNS:h{i}.example.com" for i in range(10_000))
    _, pem = make_csr(sans=sans)
    with pytest.raises(BadCSR, match="10000 subject alternative names"):
        load_csr(pem)


def test_invalid_dns_name_in_csr_is_refused() -> None:
    builder = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("bad_name.example.com")]), critical=False)
    )
    with pytest.raises(BadCSR, match="bad_name"):
        load_csr(builder.sign(make_key(), hashes.SHA256()).public_bytes(Encoding.PEM))  # type: ignore[arg-type]


def test_der_ending_in_whitespace_bytes_is_not_stripped() -> None:
    """DER is binary: a signature may well end in 0x0a or 0x20."""
    for _ in range(400):
        _, pem = make_csr()
        der = x509.load_pem_x509_csr(pem).public_bytes(Encoding.DER)
        if der[-1:] in (b" ", b"\n", b"\t", b"\r"):
            assert load_csr(der).csr.public_bytes(Encoding.DER) == der
            return
    pytest.fail("no CSR ending in a whitespace byte was drawn")


@pytest.mark.parametrize("key_type", ["rsa-2048", "ec-p384", "ed25519"])
def test_proof_of_possession_for_each_algorithm(key_type: str) -> None:
    """A CSR signed by another key than the one it carries is refused, whatever the algorithm."""
    key, pem = make_csr(key_type=key_type)
    assert load_csr(pem).public_key == key.public_key()
    csr = x509.load_pem_x509_csr(pem)
    other = make_key(key_type)
    forged = x509.CertificateSigningRequestBuilder().subject_name(csr.subject)
    # sign with `other`, then splice `key`'s SubjectPublicKeyInfo in: the signature no longer matches the key
    forged_csr = forged.sign(other, None if key_type == "ed25519" else hashes.SHA256())  # type: ignore[arg-type]
    der = forged_csr.public_bytes(Encoding.DER)
    own_spki = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    other_spki = other.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert len(own_spki) == len(other_spki) and other_spki in der
    with pytest.raises(BadCSR, match="does not verify"):
        load_csr(der.replace(other_spki, own_spki))
