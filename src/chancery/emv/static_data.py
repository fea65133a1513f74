"""Signed Static Application Data (format '03'): EMV Book 2 §5.4, Table 7 (SDA).

The issuer signs a 2-byte Data Authentication Code and, through the hash, the card's static
data to be authenticated (Book 3 §10.3): ``'6A' || '03' || hash algorithm || DAC || 'BB' pad
(N_I - 26) || hash || 'BC'``. The card carries it as tag '93'. Building is for test tooling
(an issuer's personalisation signs it; Chancery issues certificates).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chancery.emv import framing
from chancery.emv.errors import EmvError, Reason
from chancery.emv.rsa import EmvPublicKey, RawSigner

FORMAT = 0x03
DAC_LENGTH = 2
_WHAT = "signed static application data"


def build_signed_static_data(issuer: RawSigner, data_authentication_code: bytes, static_data: bytes) -> bytes:
    """Tag '93' for ``static_data``: Table 7 signed by ``issuer``'s raw private operation."""
    if not isinstance(data_authentication_code, bytes) or len(data_authentication_code) != DAC_LENGTH:
        raise EmvError(Reason.BAD_FIELD, f"a data authentication code is {DAC_LENGTH} bytes")
    pad = bytes([framing.PAD]) * (issuer.modulus_length - 26)
    body = bytes([FORMAT, framing.HASH_SHA1]) + data_authentication_code + pad
    return framing.sign_block(issuer, framing.frame(body, static_data))


@dataclass(frozen=True)
class RecoveredStaticData:
    """Table 7 fields after Book 2 §5.4 steps 1 to 4 only: not trusted (hash unchecked)."""

    hash_algorithm: int
    data_authentication_code: bytes
    hash_result: bytes
    block: bytes = field(repr=False)


def recover_signed_static_data(issuer_key: EmvPublicKey, signed: bytes) -> RecoveredStaticData:
    """Steps 1 to 4 of Book 2 §5.4 (length, trailer, header, format '03') and the Table 7 fields."""
    block = framing.recover_block(issuer_key, signed, FORMAT, _WHAT)
    return RecoveredStaticData(
        hash_algorithm=block[2],
        data_authentication_code=block[3:5],
        hash_result=block[-1 - framing.HASH_LENGTH : -1],
        block=block,
    )


def verify_signed_static_data(issuer_key: EmvPublicKey, signed: bytes, static_data: bytes) -> bytes:
    """Verify Signed Static Application Data (Book 2 §5.4 steps 1 to 7); return the Data
    Authentication Code (which the terminal keeps as '9F45').

    Raises :class:`EmvError`: ``wrong-length`` (step 1), ``bad-trailer`` (2), ``bad-header`` (3),
    ``bad-format`` (4), ``unknown-hash-algorithm`` (6), ``bad-hash`` (7).
    """
    recovered = recover_signed_static_data(issuer_key, signed)
    framing.check_hash(recovered.block, recovered.hash_algorithm, static_data, what=_WHAT)
    return recovered.data_authentication_code
