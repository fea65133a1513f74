"""Making CSRs and keys for tests (pyca/cryptography; interop tests use openssl)."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID

from chancery.pki.sans import parse_san


def make_key(key_type: str = "ec-p256") -> PrivateKeyTypes:
    if key_type.startswith("rsa-"):
        return rsa.generate_private_key(65537, int(key_type.split("-")[1]))
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    curves = {
        "ec-p256": ec.SECP256R1(),
        "ec-p384": ec.SECP384R1(),
        "ec-p521": ec.SECP521R1(),
        "secp256k1": ec.SECP256K1(),
    }
    return ec.generate_private_key(curves[key_type])


def make_csr(
    cn: str | None = "www.example.com",
    sans: tuple[str, ...] = ("DNS:www.example.com",),
    key: PrivateKeyTypes | None = None,
    key_type: str = "ec-p256",
) -> tuple[PrivateKeyTypes, bytes]:
    """A PEM CSR signed by ``key`` (generated when not given)."""
    key = key or make_key(key_type)
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else []
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attrs))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([parse_san(s) for s in sans]), critical=False)
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    csr = builder.sign(key, algorithm)  # type: ignore[arg-type]
    return key, csr.public_bytes(serialization.Encoding.PEM)


def der(pem_csr: bytes) -> bytes:
    return x509.load_pem_x509_csr(pem_csr).public_bytes(serialization.Encoding.DER)
