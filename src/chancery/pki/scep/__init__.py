"""SCEP (RFC 8894) message codec: pure CMS in and out, no I/O and no key material.

The RA key reaches :func:`build_cert_rep` as a :class:`CmsSigner` and :func:`open_envelope`
as a decryption callable, so a key held in an HSM works unchanged.
"""

from chancery.pki.scep.certrep import CertRep, build_cert_rep, degenerate_certs
from chancery.pki.scep.client import (
    ClientRequest,
    ParsedCertRep,
    PrivateKeySigner,
    build_pki_message,
    certificates_in,
    crls_in,
    parse_cert_rep,
    transient_certificate,
)
from chancery.pki.scep.cms import CmsSigner
from chancery.pki.scep.envelope import CipherPolicy, envelope_cipher, open_envelope, seal_envelope
from chancery.pki.scep.messages import (
    FailInfo,
    MessageType,
    PkiStatus,
    ScepError,
    issuer_and_serial,
    issuer_and_subject,
    parse_issuer_and_serial,
    parse_issuer_and_subject,
    transaction_id_candidates,
    transaction_id_matches,
)
from chancery.pki.scep.pkimessage import PkiMessage, parse_pki_message

__all__ = [
    "CertRep",
    "CipherPolicy",
    "ClientRequest",
    "CmsSigner",
    "FailInfo",
    "MessageType",
    "ParsedCertRep",
    "PkiMessage",
    "PkiStatus",
    "PrivateKeySigner",
    "ScepError",
    "build_cert_rep",
    "build_pki_message",
    "certificates_in",
    "crls_in",
    "degenerate_certs",
    "envelope_cipher",
    "issuer_and_serial",
    "issuer_and_subject",
    "open_envelope",
    "parse_cert_rep",
    "parse_issuer_and_serial",
    "parse_issuer_and_subject",
    "parse_pki_message",
    "seal_envelope",
    "transaction_id_candidates",
    "transaction_id_matches",
    "transient_certificate",
]
