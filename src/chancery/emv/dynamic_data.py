"""Signed Dynamic Application Data (format '05'): EMV Book 2 §6.5, Table 17 (DDA).

The card signs, with its ICC key, ``'6A' || '05' || hash algorithm || L_DD || ICC dynamic data
(L_DD bytes) || 'BB' pad (N_IC - L_DD - 25) || hash || 'BC'``; the hash also covers the terminal
dynamic data (the DDOL data, e.g. the unpredictable number '9F37'). The ICC dynamic data starts
with the ICC Dynamic Number ('9F4C'): its length (2 to 8) and its bytes. Verification is what
Chancery needs (to test cards it certified); building is for test tooling (a card emulator).
The CDA variant (§6.6, with cryptogram and transaction data hash code) is not covered here.
"""

from __future__ import annotations

from dataclasses import dataclass

from chancery.emv import framing
from chancery.emv.errors import EmvError, Reason
from chancery.emv.rsa import EmvPublicKey, RawSigner

FORMAT = 0x05
_WHAT = "signed dynamic application data"
_FIXED = 25  # header, format, hash algorithm, L_DD, hash result, trailer


@dataclass(frozen=True)
class SignedDynamicData:
    """What a verified SDAD says: the ICC dynamic data and the ICC Dynamic Number it begins with."""

    icc_dynamic_data: bytes
    icc_dynamic_number: bytes


def _check_number(number: bytes) -> None:
    if not isinstance(number, bytes) or not 2 <= len(number) <= 8:
        raise EmvError(Reason.BAD_FIELD, "an ICC dynamic number is 2 to 8 bytes (Book 2 §6.5.1)")


def build_signed_dynamic_data(icc: RawSigner, icc_dynamic_number: bytes, terminal_dynamic_data: bytes) -> bytes:
    """Tag '9F4B' as a card answers INTERNAL AUTHENTICATE: Table 17 signed by ``icc``."""
    _check_number(icc_dynamic_number)
    dynamic = bytes([len(icc_dynamic_number)]) + icc_dynamic_number
    if len(dynamic) > icc.modulus_length - _FIXED:
        raise EmvError(Reason.BAD_FIELD, "the ICC dynamic data does not fit the ICC key")
    pad = bytes([framing.PAD]) * (icc.modulus_length - _FIXED - len(dynamic))
    body = bytes([FORMAT, framing.HASH_SHA1, len(dynamic)]) + dynamic + pad
    return framing.sign_block(icc, framing.frame(body, terminal_dynamic_data))


def verify_signed_dynamic_data(icc_key: EmvPublicKey, signed: bytes, terminal_dynamic_data: bytes) -> SignedDynamicData:
    """Verify Signed Dynamic Application Data (Book 2 §6.5.2 steps 1 to 7) with the ICC key.

    Raises :class:`EmvError`: ``wrong-length`` (step 1), ``bad-trailer`` (2), ``bad-header`` (3),
    ``bad-format`` (4), ``unknown-hash-algorithm`` (6), ``bad-hash`` (7), and ``bad-field`` if
    the signed ICC dynamic data is not a length (at most N_IC - 25) holding an ICC Dynamic Number.
    """
    block = framing.recover_block(icc_key, signed, FORMAT, _WHAT)
    framing.check_hash(block, block[2], terminal_dynamic_data, what=_WHAT)
    length = block[3]
    if length > len(block) - _FIXED:
        raise EmvError(Reason.BAD_FIELD, f"the ICC dynamic data length {length} exceeds N_IC - 25")
    dynamic = block[4 : 4 + length]
    if not dynamic or len(dynamic) < 1 + dynamic[0]:
        raise EmvError(Reason.BAD_FIELD, "the ICC dynamic data does not hold an ICC dynamic number")
    number = dynamic[1 : 1 + dynamic[0]]
    _check_number(number)
    return SignedDynamicData(icc_dynamic_data=dynamic, icc_dynamic_number=number)
