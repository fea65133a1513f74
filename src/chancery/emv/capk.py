"""Certification Authority Public Keys (CAPK): a payment scheme's key as terminals load it.

A CA public key is named by the scheme's RID (5 bytes, ISO/IEC 7816-5) and a 1-byte index (the
card's '8F'), and carries a SHA-1 check value over RID || index || modulus || exponent (the
check sum of EMV Book 2 §11.2, with the exponent in its minimal big-endian form, '03' or '010001'), which
terminals verify when the key is loaded. The JSON form Chancery exports and reads is
``{"rid", "index", "modulus", "exponent", "check_value"}``, all upper-case hexadecimal.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

from chancery.emv import framing
from chancery.emv.errors import EmvError, Reason
from chancery.emv.fields import parse_hex, to_hex
from chancery.emv.rsa import MAX_MODULUS_LENGTH, EmvPublicKey, parse_exponent

RID_LENGTH = 5
MAX_JSON_LENGTH = 4096  # a 1984-bit key in this form is about 620 characters
_REQUIRED = ("rid", "index", "modulus", "exponent")


@dataclass(frozen=True)
class CaPublicKey:
    """A scheme CA's public key with its RID and index."""

    rid: bytes
    index: int
    key: EmvPublicKey

    def __post_init__(self) -> None:
        if not isinstance(self.rid, bytes) or len(self.rid) != RID_LENGTH:
            raise EmvError(Reason.BAD_FIELD, f"a RID is {RID_LENGTH} bytes")
        if not isinstance(self.index, int) or not 0 <= self.index <= 0xFF:
            raise EmvError(Reason.BAD_FIELD, "a CA public key index is one byte")

    @property
    def check_value(self) -> bytes:
        """SHA-1 of RID || index || modulus || exponent (Book 2 §11.2)."""
        return framing.digest(
            framing.HASH_SHA1, self.rid, bytes([self.index]), self.key.modulus, self.key.exponent_bytes
        )

    def to_json(self) -> dict[str, str]:
        return {
            "rid": to_hex(self.rid),
            "index": f"{self.index:02X}",
            "modulus": to_hex(self.key.modulus),
            "exponent": to_hex(self.key.exponent_bytes),
            "check_value": to_hex(self.check_value),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> CaPublicKey:
        """Parse and validate the JSON form; ``check_value``, if present, must match (``bad-check-value``).

        Unknown members, missing ones and values that are not hex of the right size are refused
        (``bad-field``, ``oversized``, ``bad-exponent``, ``bad-modulus``, ``modulus-too-long``).
        """
        if not isinstance(document, Mapping):
            raise EmvError(Reason.BAD_JSON, "a CA public key is a JSON object")
        unknown = set(document) - {*_REQUIRED, "check_value"}
        missing = [name for name in _REQUIRED if name not in document]
        if unknown or missing:
            raise EmvError(
                Reason.BAD_FIELD,
                f"a CA public key has members {', '.join(_REQUIRED)} and optionally check_value"
                f" (missing: {', '.join(missing) or 'none'}; unknown: {', '.join(sorted(map(str, unknown))) or 'none'})",
            )
        rid = parse_hex(document["rid"], "rid", max_bytes=RID_LENGTH)
        index = parse_hex(document["index"], "index", max_bytes=1)
        if len(index) != 1:
            raise EmvError(Reason.BAD_FIELD, "a CA public key index is one byte")
        modulus = parse_hex(document["modulus"], "modulus", max_bytes=MAX_MODULUS_LENGTH)
        exponent = parse_exponent(parse_hex(document["exponent"], "exponent", max_bytes=3))
        capk = cls(rid=rid, index=index[0], key=EmvPublicKey(modulus, exponent))
        if "check_value" in document:
            given = parse_hex(document["check_value"], "check_value", max_bytes=framing.HASH_LENGTH)
            if not hmac.compare_digest(given, capk.check_value):
                raise EmvError(Reason.BAD_CHECK_VALUE, "the check value does not match the CA public key")
        return capk


def parse_capk_json(text: str | bytes) -> CaPublicKey:
    """A :class:`CaPublicKey` from its JSON text (at most 4096 characters: ``oversized`` beyond)."""
    if len(text) > MAX_JSON_LENGTH:
        raise EmvError(Reason.OVERSIZED, f"a CA public key file has at most {MAX_JSON_LENGTH} characters")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise EmvError(Reason.BAD_JSON, "the CA public key is not valid JSON") from None
    return CaPublicKey.from_json(document)
