"""SCEP message vocabulary (RFC 8894 §3.2.1): message types, statuses, failure codes, the
id-VeriSign attribute OIDs, the error that carries a failInfo, and the small request bodies
(IssuerAndSubject, IssuerAndSerialNumber) that CertPoll, GetCert and GetCRL envelope.

Importing this module registers the SCEP attributes with asn1crypto's CMS attribute
table, so ``CMSAttribute`` parses and builds them by name.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.name import _ASN1Type

from chancery.errors import Malformed


class MessageType(IntEnum):
    """RFC 8894 §3.2.1.2."""

    CERT_REP = 3
    RENEWAL_REQ = 17
    PKCS_REQ = 19
    CERT_POLL = 20
    GET_CERT = 21
    GET_CRL = 22


class PkiStatus(IntEnum):
    """RFC 8894 §3.2.1.3."""

    SUCCESS = 0
    FAILURE = 2
    PENDING = 3


class FailInfo(IntEnum):
    """RFC 8894 §3.2.1.4."""

    BAD_ALG = 0
    BAD_MESSAGE_CHECK = 1
    BAD_REQUEST = 2
    BAD_TIME = 3
    BAD_CERT_ID = 4


class ScepError(Malformed):
    """A pkiMessage that cannot be accepted; ``fail_info`` is what the CertRep answers with."""

    def __init__(self, fail_info: FailInfo, detail: str) -> None:
        super().__init__(detail)
        self.fail_info = fail_info

    def __repr__(self) -> str:
        return f"ScepError({self.fail_info.name}, {self.detail!r})"


# RFC 8894 §3.2.1: id-VeriSign 2.16.840.1.113733 . pki(1) . attributes(9)
_ID_ATTRIBUTES = "2.16.840.1.113733.1.9"
OID_MESSAGE_TYPE = f"{_ID_ATTRIBUTES}.2"
OID_PKI_STATUS = f"{_ID_ATTRIBUTES}.3"
OID_FAIL_INFO = f"{_ID_ATTRIBUTES}.4"
OID_SENDER_NONCE = f"{_ID_ATTRIBUTES}.5"
OID_RECIPIENT_NONCE = f"{_ID_ATTRIBUTES}.6"
OID_TRANSACTION_ID = f"{_ID_ATTRIBUTES}.7"

MESSAGE_TYPE = "scep_message_type"
PKI_STATUS = "scep_pki_status"
FAIL_INFO = "scep_fail_info"
SENDER_NONCE = "scep_sender_nonce"
RECIPIENT_NONCE = "scep_recipient_nonce"
TRANSACTION_ID = "scep_transaction_id"


class ScepString(core.Choice):
    """PrintableString (RFC 8894 §3.2.1); other string types read tolerantly, never written."""

    _alternatives = [
        ("printable_string", core.PrintableString),
        ("utf8_string", core.UTF8String),
        ("ia5_string", core.IA5String),
        ("teletex_string", core.TeletexString),
    ]


class _SetOfScepString(core.SetOf):
    _child_spec = ScepString


def _register() -> None:
    names = {
        OID_MESSAGE_TYPE: (MESSAGE_TYPE, _SetOfScepString),
        OID_PKI_STATUS: (PKI_STATUS, _SetOfScepString),
        OID_FAIL_INFO: (FAIL_INFO, _SetOfScepString),
        OID_SENDER_NONCE: (SENDER_NONCE, cms.SetOfOctetString),
        OID_RECIPIENT_NONCE: (RECIPIENT_NONCE, cms.SetOfOctetString),
        OID_TRANSACTION_ID: (TRANSACTION_ID, _SetOfScepString),
    }
    for dotted, (name, spec) in names.items():
        cms.CMSAttributeType._map[dotted] = name
        cms.CMSAttribute._oid_specs[name] = spec
    cms.CMSAttributeType._reverse_map = None  # rebuilt from _map on next use


_register()


def printable(value: str) -> ScepString:
    return ScepString(name="printable_string", value=value)


PARSE_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError, RecursionError)


@contextmanager
def guard(detail: str) -> Iterator[None]:
    """Run a parsing step; asn1crypto's (and cryptography's) parse errors become badRequest."""
    try:
        yield
    except PARSE_ERRORS as exc:
        raise ScepError(FailInfo.BAD_REQUEST, detail) from exc


# -- request bodies -----------------------------------------------------------------------


class IssuerAndSubject(core.Sequence):
    """RFC 8894 §3.3.3: the CertPoll (GetCertInitial) body."""

    _fields = [("issuer", asn1_x509.Name), ("subject", asn1_x509.Name)]


def name_from_der(der: bytes) -> x509.Name:
    """A cryptography Name from its DER, keeping each value's string type (pyca/cryptography
    has no Name parser of its own; ``_type`` is how it is told the type)."""
    parsed = asn1_x509.Name.load(der, strict=True)
    rdns = []
    for rdn in parsed.chosen:
        attributes = []
        for ava in rdn:
            value = core.load(ava["value"].dump())
            if not isinstance(value, core.AbstractString):
                raise ValueError("a name attribute that is not a string")
            attributes.append(
                x509.NameAttribute(x509.ObjectIdentifier(ava["type"].dotted), value.native, _type=_ASN1Type(value.tag))
            )
        rdns.append(x509.RelativeDistinguishedName(attributes))
    return x509.Name(rdns)


def _name(value: asn1_x509.Name) -> x509.Name:
    return name_from_der(value.dump(force=True))


def parse_issuer_and_subject(der: bytes) -> tuple[x509.Name, x509.Name]:
    """(issuer, subject) of a CertPoll's IssuerAndSubject (RFC 8894 §3.3.3)."""
    try:
        parsed = IssuerAndSubject.load(der, strict=True)
        return _name(parsed["issuer"]), _name(parsed["subject"])
    except PARSE_ERRORS as exc:
        raise ScepError(FailInfo.BAD_REQUEST, "the CertPoll body is not an IssuerAndSubject") from exc


def parse_issuer_and_serial(der: bytes) -> tuple[x509.Name, int]:
    """(issuer, serial) of a GetCert or GetCRL IssuerAndSerialNumber (RFC 8894 §3.3.4, §3.3.5)."""
    try:
        parsed = cms.IssuerAndSerialNumber.load(der, strict=True)
        serial = parsed["serial_number"].native
        if not isinstance(serial, int):
            raise TypeError("serial missing")
        return _name(parsed["issuer"]), serial
    except PARSE_ERRORS as exc:
        raise ScepError(FailInfo.BAD_REQUEST, "the body is not an IssuerAndSerialNumber") from exc


def issuer_and_subject(issuer: x509.Name, subject: x509.Name) -> bytes:
    """DER IssuerAndSubject (RFC 8894 §3.3.3)."""
    return IssuerAndSubject(
        {"issuer": asn1_x509.Name.load(issuer.public_bytes()), "subject": asn1_x509.Name.load(subject.public_bytes())}
    ).dump()


def issuer_and_serial(issuer: x509.Name, serial: int) -> bytes:
    """DER IssuerAndSerialNumber (RFC 5652 §10.2.4)."""
    return cms.IssuerAndSerialNumber(
        {"issuer": asn1_x509.Name.load(issuer.public_bytes()), "serial_number": serial}
    ).dump()


# -- transaction IDs ----------------------------------------------------------------------


def transaction_id_candidates(public_key: PublicKeyTypes) -> set[str]:
    """The transactionIDs clients derive from their key (RFC 8894 §3.2.1.1 says a hash of it,
    without fixing the encoding): SHA-1/-256/-512 of the SubjectPublicKeyInfo or of its key bits,
    and SHA-256 cut to 160 bits (RFC 7093 §2 method 1: micromdm), as hex (either case), decimal
    (certmonger) or base64 (micromdm)."""
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    bits = asn1_x509.PublicKeyInfo.load(spki)["public_key"].contents[1:]
    found: set[str] = set()
    for data in (spki, bits):
        sha256 = hashlib.sha256(data).digest()
        sha1 = hashlib.sha1(data, usedforsecurity=False).digest()  # an identifier, not a security check
        for digest in (sha1, sha256, sha256[:20], hashlib.sha512(data).digest()):
            found.update(
                (
                    digest.hex(),
                    digest.hex().upper(),
                    str(int.from_bytes(digest, "big")),
                    base64.b64encode(digest).decode(),
                )
            )
    return found


def transaction_id_matches(transaction_id: str, public_key: PublicKeyTypes) -> bool:
    """Whether ``transaction_id`` is one of :func:`transaction_id_candidates` for the key."""
    return transaction_id in transaction_id_candidates(public_key)
