"""Certificate signing requests (RFC 2986): loading, proof of possession, requested names."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from chancery.errors import BadCSR, Malformed, PayloadTooLarge, RejectedIdentifier
from chancery.keys.base import KeyHandle
from chancery.pki.keypolicy import check_public_key, signature_hash
from chancery.pki.sans import check_dns_name

MAX_CSR_BYTES = 256 * 1024
MAX_REQUESTED_SANS = 1000
_PEM_MARKERS = (b"-----BEGIN CERTIFICATE REQUEST-----", b"-----BEGIN NEW CERTIFICATE REQUEST-----")


def load_csr(data: bytes) -> x509.CertificateSigningRequest:
    """Parse a PEM or DER CSR and check its signature and key.

    Raises :class:`PayloadTooLarge` over 256 KiB, :class:`Malformed` when the
    bytes are not a CSR, :class:`BadCSR` when the signature does not verify
    (no proof of possession, RFC 2986 §3) and :class:`BadPublicKey` for a key
    the policy refuses.
    """
    if len(data) > MAX_CSR_BYTES:
        raise PayloadTooLarge(f"CSR larger than {MAX_CSR_BYTES // 1024} KiB")
    text = data.strip()
    if not text:
        raise Malformed("empty CSR")
    try:
        if text.startswith(b"-----"):
            if not text.startswith(_PEM_MARKERS):
                raise Malformed("PEM block is not a CERTIFICATE REQUEST")
            csr = x509.load_pem_x509_csr(text.replace(b"NEW CERTIFICATE REQUEST", b"CERTIFICATE REQUEST"))
        else:
            csr = x509.load_der_x509_csr(data)  # DER is binary: never strip it
    except ValueError as exc:
        raise Malformed(f"not a valid CSR: {_reason(exc)}") from None
    try:
        public_key = csr.public_key()
    except (ValueError, x509.UnsupportedGeneralNameType) as exc:
        raise BadCSR(f"CSR public key cannot be read: {_reason(exc)}") from None
    except Exception as exc:  # cryptography raises UnsupportedAlgorithm for e.g. DSA-less builds
        raise BadCSR(f"CSR public key is not supported: {_reason(exc)}") from None
    check_public_key(public_key)
    try:
        valid = csr.is_signature_valid
    except Exception as exc:  # unsupported signature algorithm
        raise BadCSR(f"CSR signature cannot be checked: {_reason(exc)}") from None
    if not valid:
        raise BadCSR("CSR signature does not verify: no proof of possession of the private key")
    return csr


def requested_sans(csr: x509.CertificateSigningRequest, limit: int = MAX_REQUESTED_SANS) -> tuple[x509.GeneralName, ...]:
    """The subjectAltName the CSR asks for (PKCS#9 extensionRequest), checked for syntax.

    Raises :class:`BadCSR` for an unreadable extension or more than ``limit`` names.
    """
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
