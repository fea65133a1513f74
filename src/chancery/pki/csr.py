"""Certificate signing requests (RFC 2986): loading, proof of possession, requested names."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding

from chancery.errors import BadCSR, Malformed, PayloadTooLarge, RejectedIdentifier
from chancery.keys.base import KeyHandle
from chancery.pki.keypolicy import check_public_key, signature_hash
from chancery.pki.sans import check_dns_name

MAX_CSR_BYTES = 256 * 1024
MAX_REQUESTED_SANS = 1000
_PEM_MARKERS = (b"-----BEGIN CERTIFICATE REQUEST-----", b"-----BEGIN NEW CERTIFICATE REQUEST-----")


@dataclass(frozen=True)
class VerifiedCsr:
    """A CSR whose signature verified (proof of possession), with its key and requested names."""

    csr: x509.CertificateSigningRequest
    public_key: PublicKeyTypes
    sans: tuple[x509.GeneralName, ...]

    @property
    def subject(self) -> x509.Name:
        return self.csr.subject


def load_csr(data: bytes, max_sans: int = MAX_REQUESTED_SANS) -> VerifiedCsr:
    """Parse a PEM or DER CSR, check its key, signature and requested names.

    Raises :class:`PayloadTooLarge` over 256 KiB, :class:`Malformed` when the
    bytes are not a CSR, :class:`BadPublicKey` for a key the policy refuses,
    :class:`BadCSR` when the signature does not verify (no proof of
    possession, RFC 2986 §3) or the requested names are unreadable or too many.
    """
    csr = _parse(data)
    try:
        public_key = csr.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:  # keys we cannot even read
        raise BadCSR(f"CSR public key cannot be read: {_reason(exc)}") from None
    check_public_key(public_key)
    _verify_signature(csr, public_key)
    return VerifiedCsr(csr=csr, public_key=public_key, sans=_requested_sans(csr, max_sans))


def _parse(data: bytes) -> x509.CertificateSigningRequest:
    if len(data) > MAX_CSR_BYTES:
        raise PayloadTooLarge(f"CSR larger than {MAX_CSR_BYTES // 1024} KiB")
    text = data.strip()
    if not text:
        raise Malformed("empty CSR")
    try:
        if text.startswith(b"-----"):
            if not text.startswith(_PEM_MARKERS):
                raise Malformed("PEM block is not a CERTIFICATE REQUEST")
            return x509.load_pem_x509_csr(text.replace(b"NEW CERTIFICATE REQUEST", b"CERTIFICATE REQUEST"))
        return x509.load_der_x509_csr(data)  # DER is binary: never strip it
    except ValueError as exc:
        raise Malformed(f"not a valid CSR: {_reason(exc)}") from None


def _verify_signature(csr: x509.CertificateSigningRequest, public_key: PublicKeyTypes) -> None:
    """Proof of possession: the CSR is signed by the key it carries (RFC 2986 §3)."""
    try:
        parameters = csr.signature_algorithm_parameters
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(csr.signature, csr.tbs_certrequest_bytes, parameters, csr.signature_hash_algorithm)  # type: ignore[arg-type]
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(csr.signature, csr.tbs_certrequest_bytes, parameters)  # type: ignore[arg-type]
        else:
            public_key.verify(csr.signature, csr.tbs_certrequest_bytes)  # type: ignore[union-attr, call-arg]
    except InvalidSignature:
        raise BadCSR("CSR signature does not verify: no proof of possession of the private key") from None
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # unsupported or mismatched algorithm
        raise BadCSR(f"CSR signature cannot be checked: {_reason(exc)}") from None


def _requested_sans(csr: x509.CertificateSigningRequest, limit: int) -> tuple[x509.GeneralName, ...]:
    """The subjectAltName the CSR asks for (PKCS#9 extensionRequest), checked for syntax."""
    try:
        ext = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
        raise BadCSR(f"CSR extensions cannot be read: {_reason(exc)}") from None
    names = tuple(ext.value)
    if len(names) > limit:
        raise BadCSR(f"CSR requests {len(names)} subject alternative names; at most {limit} allowed")
    for name in names:
        if isinstance(name, x509.DNSName):
            try:
                check_dns_name(name.value)
            except RejectedIdentifier as exc:
                raise BadCSR(exc.detail) from None
    return names


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text[:200] if text else type(exc).__name__


def build_csr(subject: x509.Name, key: KeyHandle) -> x509.CertificateSigningRequest:
    """A CSR for a CA key waiting for its certificate (RFC 2986), signed through the key store."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    return key.sign_builder(builder, signature_hash(key.public_key()))


def csr_to_der(csr: x509.CertificateSigningRequest) -> bytes:
    return csr.public_bytes(Encoding.DER)


def csr_to_pem(csr: x509.CertificateSigningRequest) -> str:
    return csr.public_bytes(Encoding.PEM).decode("ascii")
