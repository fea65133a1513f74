"""Reading a client's pkiMessage (RFC 8894 §3.2): a CMS SignedData whose signed attributes
say what is asked, and whose content is the EnvelopedData holding the request."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from chancery.pki.scep.messages import FailInfo, MessageType, ScepError
from chancery.pki.scep.signed import verify

MAX_BYTES = 256 * 1024
NONCE_SIZES = range(8, 65)  # RFC 8894 §3.2.1.5 says 16 octets; accept what real clients send
MAX_TRANSACTION_ID = 256

_REQUESTS = frozenset(MessageType) - {MessageType.CERT_REP}


@dataclass(frozen=True)
class PkiMessage:
    """A verified request: who signed it, what it asks, and the (still encrypted) envelope."""

    message_type: MessageType
    transaction_id: str
    sender_nonce: bytes
    signer_certificate: x509.Certificate
    digest_algorithm: str
    enveloped_data: bytes
    signed_at: dt.datetime | None


def parse_pki_message(body: bytes, max_bytes: int = MAX_BYTES) -> PkiMessage:
    """Parse and verify a pkiMessage; raise :class:`ScepError` with the failInfo to answer.

    RFC 8894 §3.2.1: the signed attributes must hold messageType, transactionID and
    senderNonce (besides CMS's contentType and messageDigest); the signature is checked with
    the signer certificate carried in the message (self-signed for PKCSReq).
    """
    verified = verify(body, max_bytes, require_content=True)
    attributes = verified.attributes
    message_type = _message_type(attributes.get("scep_message_type"))
    transaction_id = _transaction_id(attributes.get("scep_transaction_id"))
    nonce = attributes.get("scep_sender_nonce")
    if not isinstance(nonce, bytes) or len(nonce) not in NONCE_SIZES:
        raise ScepError(FailInfo.BAD_REQUEST, "the senderNonce attribute is missing or not 8 to 64 octets")
    assert verified.content is not None
    signed_at = attributes.get("signing_time")
    return PkiMessage(
        message_type=message_type,
        transaction_id=transaction_id,
        sender_nonce=nonce,
        signer_certificate=verified.signer_certificate,
        digest_algorithm=verified.digest,
        enveloped_data=verified.content,
        signed_at=signed_at if isinstance(signed_at, dt.datetime) else None,
    )


def _message_type(value: Any) -> MessageType:
    """RFC 8894 §3.2.1.2: a PrintableString holding the decimal type."""
    if not isinstance(value, str):
        raise ScepError(FailInfo.BAD_REQUEST, "the messageType attribute is missing")
    if not value.isdigit() or len(value) > 3 or int(value) not in _REQUESTS:
        raise ScepError(FailInfo.BAD_REQUEST, f"messageType {value[:8]!r} is not a request SCEP knows")
    return MessageType(int(value))


def _transaction_id(value: Any) -> str:
    """RFC 8894 §3.2.1.1: a PrintableString the client chose (commonly a hash of its key)."""
    if not isinstance(value, str) or not value:
        raise ScepError(FailInfo.BAD_REQUEST, "the transactionID attribute is missing")
    if len(value) > MAX_TRANSACTION_ID or not value.isprintable():
        raise ScepError(FailInfo.BAD_REQUEST, "the transactionID is too long or not printable")
    return value
