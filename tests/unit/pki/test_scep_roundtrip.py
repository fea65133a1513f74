"""SCEP codec round trips (RFC 8894): a client's pkiMessage parsed, verified and opened by
the RA; the RA's CertRep parsed, verified and opened by the client."""

from __future__ import annotations

import datetime as dt
import functools

import pytest
from asn1crypto import algos, cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from chancery.pki.scep import (
    CertRep,
    CipherPolicy,
    ClientRequest,
    FailInfo,
    MessageType,
    PkiStatus,
    PrivateKeySigner,
    build_cert_rep,
    build_pki_message,
    certificates_in,
    crls_in,
    envelope_cipher,
    issuer_and_serial,
    issuer_and_subject,
    open_envelope,
    parse_cert_rep,
    parse_issuer_and_serial,
    parse_issuer_and_subject,
    parse_pki_message,
    transaction_id_candidates,
    transaction_id_matches,
    transient_certificate,
)

NOW = dt.datetime(2026, 6, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
DIGESTS = ["sha1", "sha256", "sha512"]
CIPHERS = ["aes128", "aes256", "3des"]


@functools.cache
def rsa_key(label: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


@functools.cache
def ec_key(label: str) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@functools.cache
def ca_certificate(label: str = "ca") -> x509.Certificate:
    """A CA certificate with an RSA key (the RA certificate for these tests)."""
    key = rsa_key(label)
    return (
        x509.CertificateBuilder()
        .subject_name(name(f"SCEP {label}"))
        .issuer_name(name(f"SCEP {label}"))
        .public_key(key.public_key())
        .serial_number(0x1234 + len(label))
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


@functools.cache
def ec_ca_certificate() -> x509.Certificate:
    key = ec_key("ca")
    return transient_certificate(key, name("SCEP EC CA"), NOW)


def issued_for(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, cn: str) -> x509.Certificate:
    """A leaf that the test CA issued for ``key``."""
    return (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(ca_certificate().subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=30))
        .sign(rsa_key("ca"), hashes.SHA256())
    )


def csr_der(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, cn: str = "device-1") -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    csr = x509.CertificateSigningRequestBuilder().subject_name(name(cn)).sign(key, hashes.SHA256())
    return csr.public_bytes(Encoding.DER)


def rsa_decryptor(key: rsa.RSAPrivateKey):
    return lambda encrypted: key.decrypt(encrypted, padding.PKCS1v15())


def client_request(**overrides) -> ClientRequest:
    key = overrides.pop("signer_key", rsa_key("client"))
    fields = {
        "message_type": MessageType.PKCS_REQ,
        "content": csr_der(key),
        "signer_key": key,
        "signer_certificate": transient_certificate(key, name("device-1"), NOW),
        "recipient": ca_certificate(),
        "transaction_id": sorted(transaction_id_candidates(key.public_key()))[0],
        "sender_nonce": bytes(range(16)),
        "signed_at": NOW,
    }
    fields.update(overrides)
    return ClientRequest(**fields)


def ra_open(enveloped: bytes, policy: CipherPolicy | None = None) -> bytes:
    return open_envelope(enveloped, ca_certificate(), rsa_decryptor(rsa_key("ca")), policy or CipherPolicy())


@pytest.mark.parametrize("cipher", CIPHERS)
@pytest.mark.parametrize("digest", DIGESTS)
def test_pkcsreq_round_trip(digest: str, cipher: str) -> None:
    request = client_request(digest_algorithm=digest, cipher=cipher)
    message = parse_pki_message(build_pki_message(request))
    assert message.message_type is MessageType.PKCS_REQ
    assert message.transaction_id == request.transaction_id
    assert message.sender_nonce == request.sender_nonce
    assert message.digest_algorithm == digest
    assert message.signer_certificate == request.signer_certificate
    assert message.signed_at == NOW
    assert ra_open(message.enveloped_data) == request.content
    assert envelope_cipher(message.enveloped_data) == cipher
    assert transaction_id_matches(message.transaction_id, message.signer_certificate.public_key())


def test_ecdsa_signed_renewal_round_trip() -> None:
    key = ec_key("device")
    old = issued_for(key, "device-1")
    request = client_request(
        message_type=MessageType.RENEWAL_REQ, signer_key=key, signer_certificate=old, content=csr_der(key)
    )
    message = parse_pki_message(build_pki_message(request))
    assert message.message_type is MessageType.RENEWAL_REQ
    assert message.signer_certificate == old
    assert ra_open(message.enveloped_data) == request.content


def test_rsassa_pss_signature_verifies() -> None:
    """RFC 4055 §3.1: a SignerInfo signed with RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32)."""
    request = client_request()
    info = cms.ContentInfo.load(build_pki_message(request))
    signer_info = info["content"]["signer_infos"][0]
    params = algos.RSASSAPSSParams(
        {
            "hash_algorithm": {"algorithm": "sha256"},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
            "salt_length": 32,
        }
    )
    signer_info["signature_algorithm"] = algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": params})
    to_sign = signer_info["signed_attrs"].untag().dump(force=True)
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), 32)
    signer_info["signature"] = rsa_key("client").sign(to_sign, pss, hashes.SHA256())
    message = parse_pki_message(info.dump(force=True))
    assert ra_open(message.enveloped_data) == request.content


def test_certpoll_getcert_getcrl_bodies() -> None:
    issuer, subject = ca_certificate().subject, name("device-1")
    poll = client_request(message_type=MessageType.CERT_POLL, content=issuer_and_subject(issuer, subject))
    message = parse_pki_message(build_pki_message(poll))
    assert message.message_type is MessageType.CERT_POLL
    assert parse_issuer_and_subject(ra_open(message.enveloped_data)) == (issuer, subject)
    for kind in (MessageType.GET_CERT, MessageType.GET_CRL):
        get = client_request(message_type=kind, content=issuer_and_serial(issuer, 2**100 + 7))
        message = parse_pki_message(build_pki_message(get))
        assert message.message_type is kind
        assert parse_issuer_and_serial(ra_open(message.enveloped_data)) == (issuer, 2**100 + 7)


def test_parsed_names_keep_string_types() -> None:
    issuer = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ünïcode GmbH"),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "pki@example.com"),
        ]
    )
    parsed, serial = parse_issuer_and_serial(issuer_and_serial(issuer, 1))
    assert parsed.public_bytes() == issuer.public_bytes() and serial == 1


def cert_rep(status: PkiStatus, **overrides) -> CertRep:
    fields = {
        "transaction_id": "tid-1",
        "recipient_nonce": bytes(range(16)),
        "status": status,
        "recipient": transient_certificate(rsa_key("client"), name("device-1"), NOW),
    }
    fields.update(overrides)
    return CertRep(**fields)


@pytest.mark.parametrize("cipher", CIPHERS)
@pytest.mark.parametrize("digest", DIGESTS)
def test_certrep_success_round_trip(digest: str, cipher: str) -> None:
    leaf = issued_for(rsa_key("client"), "device-1")
    rep = cert_rep(PkiStatus.SUCCESS, certificates=(leaf, ca_certificate()), digest_algorithm=digest, cipher=cipher)
    body = build_cert_rep(rep, PrivateKeySigner(rsa_key("ca")), ca_certificate(), sender_nonce=b"\x01" * 16)
    parsed = parse_cert_rep(body)
    assert (parsed.status, parsed.fail_info, parsed.transaction_id) == (PkiStatus.SUCCESS, None, "tid-1")
    assert parsed.recipient_nonce == rep.recipient_nonce and parsed.sender_nonce == b"\x01" * 16
    assert parsed.digest_algorithm == digest and parsed.signer_certificate == ca_certificate()
    assert parsed.enveloped_data is not None
    inner = open_envelope(parsed.enveloped_data, rep.recipient, rsa_decryptor(rsa_key("client")), CipherPolicy())
    assert certificates_in(inner) == [leaf, ca_certificate()]


def test_certrep_signed_with_ec_key() -> None:
    rep = cert_rep(PkiStatus.PENDING)
    parsed = parse_cert_rep(build_cert_rep(rep, PrivateKeySigner(ec_key("ca")), ec_ca_certificate()))
    assert parsed.status is PkiStatus.PENDING and parsed.enveloped_data is None
    assert len(parsed.sender_nonce) == 16


@pytest.mark.parametrize("fail_info", list(FailInfo))
def test_certrep_failure_carries_fail_info(fail_info: FailInfo) -> None:
    rep = cert_rep(PkiStatus.FAILURE, fail_info=fail_info, recipient=None, signed_at=NOW)
    parsed = parse_cert_rep(build_cert_rep(rep, PrivateKeySigner(rsa_key("ca")), ca_certificate()))
    assert (parsed.status, parsed.fail_info, parsed.enveloped_data) == (PkiStatus.FAILURE, fail_info, None)


def test_certrep_getcrl_carries_the_crl() -> None:
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_certificate().subject)
        .last_update(NOW)
        .next_update(NOW + dt.timedelta(days=1))
        .sign(rsa_key("ca"), hashes.SHA256())
    )
    from cryptography.hazmat.primitives.serialization import Encoding

    rep = cert_rep(PkiStatus.SUCCESS, crl=crl.public_bytes(Encoding.DER))
    parsed = parse_cert_rep(build_cert_rep(rep, PrivateKeySigner(rsa_key("ca")), ca_certificate()))
    assert parsed.enveloped_data is not None
    inner = open_envelope(parsed.enveloped_data, rep.recipient, rsa_decryptor(rsa_key("client")), CipherPolicy())
    assert crls_in(inner) == [crl]


def test_success_without_recipient_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="requester"):
        build_cert_rep(cert_rep(PkiStatus.SUCCESS, recipient=None), PrivateKeySigner(rsa_key("ca")), ca_certificate())


def test_envelope_found_by_subject_key_identifier() -> None:
    """RFC 5652 §6.2.1: rid may be the recipient's subjectKeyIdentifier."""
    request = client_request()
    message = parse_pki_message(build_pki_message(request))
    info = cms.ContentInfo.load(message.enveloped_data)
    ktri = info["content"]["recipient_infos"][0].chosen
    ski = ca_certificate().extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    ktri["rid"] = cms.RecipientIdentifier(name="subject_key_identifier", value=ski)
    assert ra_open(info.dump(force=True)) == request.content
    assert ra_open(info["content"].untag().dump(force=True)) == request.content  # a bare EnvelopedData too


def test_random_nonces_differ() -> None:
    rep = cert_rep(PkiStatus.PENDING)
    one = parse_cert_rep(build_cert_rep(rep, PrivateKeySigner(rsa_key("ca")), ca_certificate()))
    two = parse_cert_rep(build_cert_rep(rep, PrivateKeySigner(rsa_key("ca")), ca_certificate()))
    assert one.sender_nonce != two.sender_nonce


def test_envelope_cipher_of_garbage_is_none() -> None:
    assert envelope_cipher(b"") is None
    assert envelope_cipher(b"\x30\x03\x02\x01\x00") is None


def test_transaction_ids_of_real_clients() -> None:
    """micromdm: base64 of SHA-256 over the PKCS#1 key cut to 160 bits; certmonger: decimal SHA-256
    of the SubjectPublicKeyInfo (see test_scep_vectors); others: hex SHA-1."""
    import base64
    import hashlib

    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = rsa_key("client").public_key()
    pkcs1 = public.public_bytes(Encoding.DER, PublicFormat.PKCS1)
    assert transaction_id_matches(base64.b64encode(hashlib.sha256(pkcs1).digest()[:20]).decode(), public)
    assert transaction_id_matches(hashlib.sha1(pkcs1).hexdigest().upper(), public)
    assert not transaction_id_matches("not-a-hash", public)
    assert not transaction_id_matches(hashlib.sha1(pkcs1).hexdigest(), rsa_key("other").public_key())
