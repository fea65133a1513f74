"""Names operators use in profile files for OIDs: EKUs, subject attributes, key usages."""

from __future__ import annotations

import re

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

EXTENDED_KEY_USAGES = {
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "time_stamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
    "any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    "document_signing": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36"),  # RFC 9336
    "smartcard_logon": x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.2"),  # Microsoft
    "kdc_authentication": x509.ObjectIdentifier("1.3.6.1.5.2.3.5"),  # RFC 4556 id-pkinit-KPKdc
    "ipsec_ike": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.17"),  # RFC 4945
}

ATTRIBUTES = {
    "C": NameOID.COUNTRY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "L": NameOID.LOCALITY_NAME,
    "STREET": NameOID.STREET_ADDRESS,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "CN": NameOID.COMMON_NAME,
    "DC": NameOID.DOMAIN_COMPONENT,
    "UID": NameOID.USER_ID,
    "EMAIL": NameOID.EMAIL_ADDRESS,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
    "TITLE": NameOID.TITLE,
    "GN": NameOID.GIVEN_NAME,
    "SN": NameOID.SURNAME,
    "PSEUDONYM": NameOID.PSEUDONYM,
    "ORGANIZATIONIDENTIFIER": NameOID.ORGANIZATION_IDENTIFIER,
    "POSTALCODE": NameOID.POSTAL_CODE,
    "BUSINESSCATEGORY": NameOID.BUSINESS_CATEGORY,
    "JURISDICTIONC": NameOID.JURISDICTION_COUNTRY_NAME,
}
_LABELS = {oid.dotted_string: label for label, oid in ATTRIBUTES.items()}

# RFC 5280 Appendix A upper bounds (ub-*), in characters; X.520 for the street address.
UPPER_BOUNDS = {
    NameOID.COMMON_NAME: 64,
    NameOID.ORGANIZATION_NAME: 64,
    NameOID.ORGANIZATIONAL_UNIT_NAME: 64,
    NameOID.LOCALITY_NAME: 128,
    NameOID.STATE_OR_PROVINCE_NAME: 128,
    NameOID.STREET_ADDRESS: 128,
    NameOID.TITLE: 64,
    NameOID.SERIAL_NUMBER: 64,
    NameOID.PSEUDONYM: 128,
    NameOID.EMAIL_ADDRESS: 255,
    NameOID.POSTAL_CODE: 40,
    NameOID.COUNTRY_NAME: 2,
    NameOID.JURISDICTION_COUNTRY_NAME: 2,
}
# X.520 / RFC 5280 Appendix A: these are PrintableString, and emailAddress and DC IA5String,
# whatever a profile says.
REQUIRED_SYNTAX = {
    NameOID.COUNTRY_NAME: "printable",
    NameOID.SERIAL_NUMBER: "printable",
    NameOID.JURISDICTION_COUNTRY_NAME: "printable",
    NameOID.DOMAIN_COMPONENT: "ia5",
    NameOID.EMAIL_ADDRESS: "ia5",
}

# keyUsage bits by name, in the order of RFC 5280 §4.2.1.3 (encipherOnly and decipherOnly are not offered).
KEY_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)
SAN_KINDS = ("DNS", "IP", "email", "URI", "UPN")
UPN = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")  # Microsoft User Principal Name (otherName)

_DOTTED = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")


def oid(text: str) -> x509.ObjectIdentifier:
    """A dotted OID; raise ``ValueError`` naming the problem."""
    if not _DOTTED.fullmatch(text):
        raise ValueError(f"{text!r} is not a dotted OID")
    return x509.ObjectIdentifier(text)


def extended_key_usage(text: str) -> x509.ObjectIdentifier:
    """An EKU by name (``server_auth``) or dotted OID."""
    return EXTENDED_KEY_USAGES[text] if text in EXTENDED_KEY_USAGES else oid(text)


def label(identifier: x509.ObjectIdentifier) -> str:
    """How errors name a subject attribute: ``CN``, ``UID``..., else the dotted OID."""
    return _LABELS.get(identifier.dotted_string, identifier.dotted_string)


def attribute(text: str) -> tuple[x509.ObjectIdentifier, str]:
    """(OID, label) of a subject attribute given by name (``CN``) or dotted OID."""
    found = ATTRIBUTES.get(text.upper().replace("_", ""))
    if found is not None:
        return found, text.upper()
    identifier = oid(text)
    return identifier, _LABELS.get(identifier.dotted_string, text)
