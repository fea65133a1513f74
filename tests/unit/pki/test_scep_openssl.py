"""What the SCEP codec writes, read by OpenSSL (`openssl cms`, `openssl pkcs7`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from chancery.pki.scep import (
    CertRep,
    MessageType,
    PkiStatus,
    PrivateKeySigner,
    build_cert_rep,
    build_pki_message,
    degenerate_certs,
    seal_envelope,
)
from tests.unit.pki.test_scep_roundtrip import (
    NOW,
    ca_certificate,
    client_request,
    ec_ca_certificate,
    ec_key,
    issued_for,
    name,
    rsa_key,
    transient_certificate,
)

pytestmark = pytest.mark.interop


def openssl(*args: str, data: bytes | None = None) -> bytes:
    result = subprocess.run(["openssl", *args], input=data, capture_output=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def write_key(path: Path, key) -> Path:
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return path


def write_cert(path: Path, cert) -> Path:
    path.write_bytes(cert.public_bytes(Encoding.PEM))
    return path


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_openssl_verifies_a_certrep(tmp_path: Path, digest: str) -> None:
    client = transient_certificate(rsa_key("client"), name("device-1"), NOW)
    rep = CertRep(
        "tid",
        b"\x05" * 16,
        PkiStatus.SUCCESS,
        certificates=(issued_for(rsa_key("client"), "d"),),
        recipient=client,
        digest_algorithm=digest,
        signed_at=NOW,
    )
    body = build_cert_rep(rep, PrivateKeySigner(rsa_key("ca")), ca_certificate())
    (tmp_path / "rep.der").write_bytes(body)
    envelope = openssl("cms", "-verify", "-noverify", "-inform", "DER", "-in", str(tmp_path / "rep.der"))
    # The verified content is the envelope: OpenSSL opens it with the requester's key.
    (tmp_path / "env.der").write_bytes(envelope)
    inner = openssl(
        "cms",
        "-decrypt",
        "-inform",
        "DER",
        "-in",
        str(tmp_path / "env.der"),
        "-recip",
        str(write_cert(tmp_path / "client.pem", client)),
        "-inkey",
        str(write_key(tmp_path / "client.key", rsa_key("client"))),
    )
    (tmp_path / "inner.der").write_bytes(inner)
    printed = openssl("pkcs7", "-print_certs", "-inform", "DER", "-in", str(tmp_path / "inner.der"))
    assert b"subject=CN = d" in printed


def test_openssl_verifies_failure_and_ec_signed_certreps(tmp_path: Path) -> None:
    for i, (signer, cert, status) in enumerate(
        [(rsa_key("ca"), ca_certificate(), PkiStatus.FAILURE), (ec_key("ca"), ec_ca_certificate(), PkiStatus.PENDING)]
    ):
        body = build_cert_rep(CertRep("tid", b"\x05" * 16, status), PrivateKeySigner(signer), cert)
        (tmp_path / f"rep{i}.der").write_bytes(body)
        openssl("cms", "-verify", "-noverify", "-inform", "DER", "-in", str(tmp_path / f"rep{i}.der"))


@pytest.mark.parametrize("cipher", ["aes128", "aes256", "3des"])
def test_openssl_decrypts_a_sealed_envelope(tmp_path: Path, cipher: str) -> None:
    (tmp_path / "env.der").write_bytes(seal_envelope(b"\x30\x03\x02\x01\x2a", ca_certificate(), cipher))
    plain = openssl(
        "cms",
        "-decrypt",
        "-inform",
        "DER",
        "-in",
        str(tmp_path / "env.der"),
        "-recip",
        str(write_cert(tmp_path / "ca.pem", ca_certificate())),
        "-inkey",
        str(write_key(tmp_path / "ca.key", rsa_key("ca"))),
    )
    assert plain == b"\x30\x03\x02\x01\x2a"


def test_openssl_reads_a_pki_message(tmp_path: Path) -> None:
    """A client message (what the benchmark's client sends) verifies in OpenSSL too."""
    (tmp_path / "req.der").write_bytes(build_pki_message(client_request(message_type=MessageType.PKCS_REQ)))
    openssl("cms", "-verify", "-noverify", "-inform", "DER", "-in", str(tmp_path / "req.der"))


def test_openssl_prints_degenerate_certs(tmp_path: Path) -> None:
    leaf = issued_for(rsa_key("client"), "device-9")
    (tmp_path / "certs.p7b").write_bytes(degenerate_certs([ca_certificate(), leaf]))
    printed = openssl("pkcs7", "-print_certs", "-inform", "DER", "-in", str(tmp_path / "certs.p7b")).decode()
    assert "subject=CN = SCEP ca" in printed and "subject=CN = device-9" in printed
    assert printed.count("BEGIN CERTIFICATE") == 2
