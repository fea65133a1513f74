"""Regenerate tests/vectors/csr/*. Run: .venv/bin/python tests/vectors/make_csr_vectors.py

Every file name says what the CSR is (ok_*) or what is wrong with it.
The keys are thrown away; only the CSRs are kept.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

OUT = Path(__file__).with_name("csr")


def csr(key, cn: str = "vector.example.com", algorithm=hashes.SHA256()) -> x509.CertificateSigningRequest:  # type: ignore[no-untyped-def]
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
        .sign(key, algorithm)
    )


def main() -> None:
    OUT.mkdir(exist_ok=True)
    ok_ec = csr(ec.generate_private_key(ec.SECP256R1()))
    files = {
        "ok_ec_p256.pem.csr": ok_ec.public_bytes(Encoding.PEM),
        "ok_rsa_2048.der.csr": csr(rsa.generate_private_key(65537, 2048)).public_bytes(Encoding.DER),
        "ok_ed25519.der.csr": csr(ed25519.Ed25519PrivateKey.generate(), algorithm=None).public_bytes(Encoding.DER),
        "ok_new_certificate_request_header.pem.csr": ok_ec.public_bytes(Encoding.PEM).replace(
            b"CERTIFICATE REQUEST", b"NEW CERTIFICATE REQUEST"
        ),
        "short_rsa_key.der.csr": csr(rsa.generate_private_key(65537, 1024)).public_bytes(Encoding.DER),
        "rsa_exponent_3.der.csr": csr(rsa.generate_private_key(3, 2048)).public_bytes(Encoding.DER),
        "secp256k1_key.der.csr": csr(ec.generate_private_key(ec.SECP256K1())).public_bytes(Encoding.DER),
        "dsa_key.der.csr": csr(dsa.generate_private_key(2048)).public_bytes(Encoding.DER),
    }
    good = ok_ec.public_bytes(Encoding.DER)
    bad_signature = bytearray(good)
    bad_signature[-5] ^= 0x01  # inside the ECDSA signature's last INTEGER
    files["bad_signature.der.csr"] = bytes(bad_signature)
    files["truncated.der.csr"] = good[: len(good) // 2]
    files["trailing_garbage.der.csr"] = good + b"\x00\x01garbage"
    files["random_bytes.der.csr"] = bytes(range(256)) * 2
    files["pem_with_broken_base64.pem.csr"] = (
        b"-----BEGIN CERTIFICATE REQUEST-----\n!!!not base64!!!\n-----END CERTIFICATE REQUEST-----\n"
    )
    for name, data in files.items():
        (OUT / name).write_bytes(data)
        print(name, len(data))


if __name__ == "__main__":
    main()
