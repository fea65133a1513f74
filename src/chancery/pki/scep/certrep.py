"""The RA's answers: CertRep (RFC 8894 §3.3.2) and the degenerate certs-only SignedData that
carries certificates and CRLs (RFC 8894 §3.4, §4.2.1.2)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509

from chancery.pki import der
from chancery.pki.scep.cms import CmsSigner, SignedContent, attribute, certs_only, scep_string, sign, signing_time
from chancery.pki.scep.envelope import seal_envelope
from chancery.pki.scep.messages import (
    OID_FAIL_INFO,
    OID_MESSAGE_TYPE,
    OID_PKI_STATUS,
    OID_RECIPIENT_NONCE,
    OID_SENDER_NONCE,
    OID_TRANSACTION_ID,
    FailInfo,
    MessageType,
    PkiStatus,
)


@dataclass(frozen=True)
class CertRep:
    """What to answer a pkiMessage with.

    SUCCESS carries ``certificates`` (issued certificate first, then its chain) or ``crl``, in a
    degenerate SignedData enveloped to ``recipient`` with ``cipher``; FAILURE carries
    ``fail_info``; PENDING carries neither. ``signed_at`` adds a signingTime attribute.
    """

    transaction_id: str
    recipient_nonce: bytes
    status: PkiStatus
    fail_info: FailInfo | None = None
    certificates: tuple[x509.Certificate, ...] = ()
    crl: bytes | None = None
    recipient: x509.Certificate | None = None
    digest_algorithm: str = "sha256"
    cipher: str = "aes256"
    signed_at: dt.datetime | None = None


def _attributes(rep: CertRep, sender_nonce: bytes) -> list[bytes]:
    """RFC 8894 §3.3.2: messageType, pkiStatus, failInfo (on FAILURE only), transactionID and
    recipientNonce echoed from the request (§3.2.1.6), a fresh senderNonce."""
    attributes = [
        attribute(OID_MESSAGE_TYPE, scep_string(str(int(MessageType.CERT_REP)))),
        attribute(OID_PKI_STATUS, scep_string(str(int(rep.status)))),
        attribute(OID_TRANSACTION_ID, scep_string(rep.transaction_id)),
        attribute(OID_RECIPIENT_NONCE, der.octet_string(rep.recipient_nonce)),
        attribute(OID_SENDER_NONCE, der.octet_string(sender_nonce)),
    ]
    if rep.status is PkiStatus.FAILURE:
        fail_info = rep.fail_info if rep.fail_info is not None else FailInfo.BAD_REQUEST
        attributes.append(attribute(OID_FAIL_INFO, scep_string(str(int(fail_info)))))
    if rep.signed_at is not None:
        attributes.append(signing_time(rep.signed_at))
    return attributes


def build_cert_rep(
    rep: CertRep,
    signer: CmsSigner,
    signer_certificate: x509.Certificate,
    sender_nonce: bytes | None = None,
) -> bytes:
    """A CertRep pkiMessage, DER, signed by ``signer`` (the RA or CA key) with the digest the
    request used; ``signer_certificate`` travels in the certificates field."""
    content: bytes | None = b""
    if rep.status is PkiStatus.SUCCESS:
        if rep.recipient is None:
            raise ValueError("a SUCCESS CertRep needs the requester's certificate to envelope to")
        inner = degenerate_certs(rep.certificates, (rep.crl,) if rep.crl is not None else ())
        content = seal_envelope(inner, rep.recipient, rep.cipher)
    what = SignedContent(
        content=content,
        attributes=_attributes(rep, sender_nonce if sender_nonce is not None else os.urandom(16)),
        certificates=(signer_certificate,),
        digest=rep.digest_algorithm,
    )
    return sign(what, signer, signer_certificate)


def degenerate_certs(certificates: Sequence[x509.Certificate], crls: Sequence[bytes] = ()) -> bytes:
    """A certs-only ContentInfo(SignedData), DER: no content, no signers (RFC 5652 §5.2,
    RFC 8894 §4.2.1.2); certificates in the order given, CRLs (DER) as given."""
    return certs_only(certificates, crls)
