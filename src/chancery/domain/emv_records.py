"""What Chancery keeps about its EMV CAs and issuers (EMV Book 2): records, not formats (see ``emv/``)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from chancery.errors import Malformed

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def emv_name(value: str) -> str:
    """An EMV CA's or issuer's short name (lower case letters, digits, ``.``, ``_``, ``-``)."""
    name = value.strip().lower()
    if not _NAME.fullmatch(name):
        raise Malformed(f"{value[:64]!r} is not a name: use 1 to 63 lower-case letters, digits, '.', '_' or '-'")
    return name


@dataclass(frozen=True)
class EmvCaRecord:
    """A scheme CA key (RID and index) held in the key store."""

    name: str
    rid: str  # 10 hex digits, upper case
    index: int  # 0-255, the CA public key index (tag 8F)
    key_id: str
    modulus: int
    exponent: int
    created_at: dt.datetime
    created_by: str
    next_serial: int = 1  # issuer certificate serial numbers this CA gives out (3 bytes)


@dataclass(frozen=True)
class IssuerCertification:
    """The issuer public key certificate a scheme CA signed, as the card carries it."""

    ca_rid: str
    ca_index: int  # tag 8F
    certificate: bytes  # tag 90
    remainder: bytes  # tag 92
    exponent: bytes  # tag 9F32
    expiry: str  # MMYY
    serial: bytes  # 3 bytes
    certified_at: dt.datetime


@dataclass(frozen=True)
class EmvIssuerRecord:
    """An issuer key pair (held in the key store) and, once certified, its certificate."""

    name: str
    issuer_identifier: str  # the BIN: leftmost 3 to 8 PAN digits
    key_id: str
    modulus: int
    exponent: int
    created_at: dt.datetime
    created_by: str
    certification: IssuerCertification | None = None
    next_serial: int = 1  # ICC certificate serial numbers this issuer gives out (3 bytes)
