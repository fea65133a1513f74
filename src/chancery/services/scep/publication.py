"""What a SCEP RA publishes without a request: GetCACaps, GetCACert and GetNextCACert (RFC 8894 §3.5, §4.2, §4.7)."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from chancery.errors import NotFound
from chancery.pki.scep import degenerate_certs
from chancery.pki.scep.cms import SignedContent, sign
from chancery.services.certificates import CertificateService
from chancery.services.scep.directory import ScepDirectory
from chancery.services.scep.enrollment import EnvelopeKeys

# RFC 8894 §3.5.2. No "DES": single DES is never offered, even where an administrator accepts it.
_CAPABILITIES = ("POSTPKIOperation", "SHA-256", "SHA-512", "AES", "SCEPStandard", "Renewal")


@dataclass(frozen=True)
class Published:
    body: bytes
    content_type: str


class ScepPublication:
    def __init__(self, directory: ScepDirectory, certificates: CertificateService, keys: EnvelopeKeys) -> None:
        self._directory = directory
        self._certificates = certificates
        self._keys = keys

    def capabilities(self, ra: str | None) -> str:
        service = self._directory.service(ra)
        capabilities = list(_CAPABILITIES)
        if service.allow_3des:
            capabilities.append("DES3")
        if service.next_ca:
            capabilities.append("GetNextCACert")
        return "\n".join(capabilities) + "\n"

    def ca_certificates(self, ra: str | None) -> Published:
        """The RA certificate and its CA chain as a degenerate certs-only PKCS#7 (§4.2.1.2).

        Clients built on micromdm's library encrypt to every certificate listed, and fail on one
        with an EC key; so unless the RA is set to ``full_chain``, CA certificates that cannot
        receive an RSA envelope are left out (the chain still comes with every issued certificate).
        """
        service = self._directory.service(ra)
        chain = self._certificates.chain(self._directory.ra_of(service).ca)
        if not service.full_chain:
            chain = tuple(c for c in chain if isinstance(c.public_key(), rsa.RSAPublicKey))
        body = degenerate_certs([x509.load_der_x509_certificate(service.certificate), *chain])
        return Published(body, "application/x-x509-ca-ra-cert")

    def next_ca_certificates(self, ra: str | None) -> Published:
        """During a rollover: the next CA's chain, signed by the current RA key (§4.7.1)."""
        service = self._directory.service(ra)
        if service.next_ca is None:
            raise NotFound("no CA rollover is in progress for this SCEP RA")
        ra_certificate = x509.load_der_x509_certificate(service.certificate)
        content = SignedContent(
            content=degenerate_certs(self._certificates.chain(service.next_ca)),
            attributes=[],
            certificates=[ra_certificate],
        )
        return Published(
            sign(content, self._keys.load(service.key_id), ra_certificate), "application/x-x509-next-ca-cert"
        )
