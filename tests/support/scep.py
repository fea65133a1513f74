"""A small SCEP client for tests and benchmarks: builds pkiMessages with ``chancery.pki.scep`` and
reads the CertReps, the way a device would."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import AttributeOID, NameOID

from chancery.pki.scep import (
    CipherPolicy,
    ClientRequest,
    MessageType,
    ParsedCertRep,
    build_pki_message,
    certificates_in,
    open_envelope,
    parse_cert_rep,
    transient_certificate,
)


def device_csr(key: rsa.RSAPrivateKey, cn: str, challenge: str | None, sans: tuple[str, ...] = ()) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    if challenge is not None:
        builder = builder.add_attribute(AttributeOID.CHALLENGE_PASSWORD, challenge.encode())
    return builder.sign(key, hashes.SHA256()).public_bytes(Encoding.DER)


def key_transaction_id(key: rsa.RSAPrivateKey) -> str:
    """RFC 8894 §3.2.1.1.1: a hash of the public key."""
    spki = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


@dataclass
class Device:
    """A device with an RSA key and the self-signed certificate it signs its first messages with."""

    cn: str
    now: dt.datetime
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    certificate: x509.Certificate | None = None

    def __post_init__(self) -> None:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.cn)])
        self.certificate = transient_certificate(self.key, name, self.now)

    def message(
        self,
        ra_certificate: x509.Certificate,
        content: bytes,
        kind: MessageType = MessageType.PKCS_REQ,
        **options: object,
    ) -> bytes:
        assert self.certificate is not None
        request = ClientRequest(
            message_type=kind,
            content=content,
            signer_key=self.key,
            signer_certificate=self.certificate,
            recipient=ra_certificate,
            transaction_id=str(options.pop("transaction_id", key_transaction_id(self.key))),
            **options,  # type: ignore[arg-type]
        )
        return build_pki_message(request)

    def enrollment(self, ra_certificate: x509.Certificate, challenge: str | None, **options: object) -> bytes:
        return self.message(ra_certificate, device_csr(self.key, self.cn, challenge), **options)

    def opened(self, reply: ParsedCertRep) -> bytes:
        """The degenerate PKCS#7 a SUCCESS CertRep carries, decrypted with this device's key."""
        assert reply.enveloped_data is not None and self.certificate is not None
        return open_envelope(
            reply.enveloped_data,
            self.certificate,
            lambda encrypted: self.key.decrypt(encrypted, padding.PKCS1v15()),
            CipherPolicy(),
        )

    def certificates(self, reply: ParsedCertRep) -> list[x509.Certificate]:
        """The certificates a SUCCESS CertRep carries."""
        return certificates_in(self.opened(reply))


def read_reply(body: bytes) -> ParsedCertRep:
    return parse_cert_rep(body)
