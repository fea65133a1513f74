"""Where keys live: the software store or a PKCS#11 token, and how the token is reached.

A key id says which store holds the key: ``pkcs11:<hex CKA_ID>`` for a key in the
token, anything else for the software store. The PKCS#11 configuration names the
module, the token and where the PIN comes from, never the PIN itself.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from chancery.errors import Malformed

PKCS11_PREFIX = "pkcs11:"
_LABEL = re.compile(r"^[\x20-\x7e]{1,32}$")  # CK_TOKEN_INFO.label is 32 bytes; we keep to printable ASCII
_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class KeyLocation(StrEnum):
    """The key store a new key goes to (``--key-store``)."""

    SOFTWARE = "software"
    PKCS11 = "pkcs11"

    @classmethod
    def parse(cls, text: str) -> KeyLocation:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise Malformed(f"unknown key store {text[:40]!r}; use software or pkcs11") from None


def location_of(key_id: str) -> KeyLocation:
    """Which store holds ``key_id``."""
    return KeyLocation.PKCS11 if key_id.startswith(PKCS11_PREFIX) else KeyLocation.SOFTWARE


def pkcs11_key_id(cka_id: bytes) -> str:
    return PKCS11_PREFIX + cka_id.hex()


def cka_id_of(key_id: str) -> bytes:
    """The CKA_ID in a ``pkcs11:<hex>`` key id (:class:`Malformed` for anything else)."""
    if not key_id.startswith(PKCS11_PREFIX):
        raise Malformed(f"{key_id[:80]!r} is not a PKCS#11 key id")
    try:
        value = bytes.fromhex(key_id[len(PKCS11_PREFIX) :])
    except ValueError:
        raise Malformed(f"{key_id[:80]!r} is not a PKCS#11 key id") from None
    if not value:
        raise Malformed("a PKCS#11 key id needs a CKA_ID")
    return value


class PinKind(StrEnum):
    ENV = "env"
    FILE = "file"
    PROMPT = "prompt"


@dataclass(frozen=True)
class PinSource:
    """Where the token's user PIN is read when Chancery logs in: an environment variable,
    a file (first line), or a prompt on the terminal. The PIN itself is never stored."""

    kind: PinKind
    reference: str = ""  # the variable name or the file path; empty for a prompt

    def __post_init__(self) -> None:
        if self.kind is PinKind.ENV and not _ENV_VAR.fullmatch(self.reference):
            raise Malformed(f"{self.reference[:60]!r} is not an environment variable name")
        if self.kind is PinKind.FILE and not self.reference.startswith("/"):
            raise Malformed("give the PIN file as an absolute path")
        if self.kind is PinKind.PROMPT and self.reference:
            raise Malformed("a prompted PIN has no reference")

    def describe(self) -> str:
        if self.kind is PinKind.ENV:
            return f"environment variable {self.reference}"
        if self.kind is PinKind.FILE:
            return f"file {self.reference}"
        return "a prompt on the terminal"


@dataclass(frozen=True)
class Pkcs11Config:
    """How to reach the token: module path, the token by label (or slot id), and the PIN source."""

    module: str
    pin: PinSource
    token_label: str | None = None
    slot: int | None = None

    def __post_init__(self) -> None:
        if not self.module.startswith("/"):
            raise Malformed("give the PKCS#11 module as an absolute path")
        if (self.token_label is None) == (self.slot is None):
            raise Malformed("name the token by exactly one of its label and its slot")
        if self.token_label is not None and not _LABEL.fullmatch(self.token_label):
            raise Malformed("a token label has 1 to 32 printable ASCII characters")
        if self.slot is not None and self.slot < 0:
            raise Malformed("a slot id is not negative")

    def describe_token(self) -> str:
        return f"token {self.token_label!r}" if self.token_label is not None else f"token in slot {self.slot}"


@dataclass(frozen=True)
class Pkcs11Settings:
    """The stored configuration and who set it when."""

    config: Pkcs11Config
    updated_at: dt.datetime
    updated_by: str


@dataclass(frozen=True)
class TokenInfo:
    """What a token says about itself (shown by ``chancery keys show``)."""

    label: str
    serial: str
    manufacturer: str
    model: str
    key_types: tuple[str, ...]  # the key types Chancery can generate there (KeyType values)


@dataclass(frozen=True)
class HsmKeyRecord:
    """A key in the token that Chancery uses: found by ``key_id`` (its CKA_ID), checked against
    ``public_key_der`` (SubjectPublicKeyInfo) every time it is opened."""

    key_id: str
    label: str
    key_type: str  # a KeyType value, or "rsa-raw" for an EMV key
    purpose: str
    public_key_der: bytes
    adopted: bool = False
    created_at: dt.datetime | None = None
