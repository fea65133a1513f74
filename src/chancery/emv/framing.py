"""The signed block every EMV Book 2 structure shares (ISO/IEC 9796-2 scheme 1, Book 2 Annex A2.1).

A block is ``'6A' || format || fields || hash || 'BC'``, exactly as long as the signer's modulus.
The hash (SHA-1, Book 2 Annex B3.1) covers everything between header and hash (format and
fields) followed by data that the block does not carry (a key remainder and exponent, static
data, terminal dynamic data). Recovery checks steps 1 to 4 common to Book 2 §5.3, §5.4, §6.4 and
§6.5.2 (length, trailer, header, format), in that order; the hash (steps 5 to 7) is checked by
:func:`check_hash` once the caller has gathered the data the block does not carry.
"""

from __future__ import annotations

import hashlib
import hmac

from chancery.emv.errors import EmvError, Reason
from chancery.emv.rsa import EmvPublicKey, RawSigner, recover
from chancery.errors import InternalError

HEADER = 0x6A  # Recovered Data Header
TRAILER = 0xBC  # Recovered Data Trailer
PAD = 0xBB  # pad bytes (Book 2 Tables 6, 7, 14, 17)
HASH_SHA1 = 0x01  # Hash Algorithm Indicator, Book 2 Annex B3.1
PK_RSA = 0x01  # Public Key Algorithm Indicator, Book 2 Annex B2.1
HASH_LENGTH = 20


def digest(indicator: int, *parts: bytes) -> bytes:
    """The hash the Hash Algorithm Indicator names; ``unknown-hash-algorithm`` for anything but SHA-1."""
    if indicator != HASH_SHA1:
        raise EmvError(Reason.UNKNOWN_HASH_ALGORITHM, f"hash algorithm indicator {indicator:02X} is not SHA-1 (01)")
    h = hashlib.sha1()  # noqa: S324 - EMV Book 2 Annex B3.1 mandates SHA-1 for these structures
    for part in parts:
        h.update(part)
    return h.digest()


def frame(body: bytes, *unsigned: bytes) -> bytes:
    """``'6A' || body || SHA-1(body || unsigned...) || 'BC'``; ``body`` starts with the format byte."""
    return bytes([HEADER]) + body + digest(HASH_SHA1, body, *unsigned) + bytes([TRAILER])


def sign_block(signer: RawSigner, block: bytes) -> bytes:
    """The block signed by ``signer``'s raw private operation, checked with the public operation.

    A signer whose result does not recover to ``block`` (a fault, or the wrong key) raises
    :class:`~chancery.errors.InternalError`: the value is never released (a faulty CRT signature
    would reveal a factor of the modulus).
    """
    if len(block) != signer.modulus_length:
        raise ValueError("the block is not as long as the signer's modulus")
    signed = signer.sign_raw(block)
    n = signer.modulus
    if len(signed) != len(block) or pow(int.from_bytes(signed, "big"), signer.public_exponent, n) != int.from_bytes(
        block, "big"
    ):
        raise InternalError("the raw RSA signature does not verify with the signer's public key")
    return signed


def recover_block(key: EmvPublicKey, signed: bytes, expected_format: int, what: str) -> bytes:
    """Steps 1 to 4 of recovery: length, recovery and trailer, header, format.

    Returns the recovered block (not yet trusted: its hash is unchecked). Raises ``wrong-length``
    (step 1), ``out-of-range``, ``bad-trailer`` (step 2), ``bad-header`` (step 3) or ``bad-format``
    (step 4); ``what`` names the structure in the message.
    """
    if len(signed) != key.length:
        raise EmvError(
            Reason.WRONG_LENGTH,
            f"the {what} has {len(signed)} bytes; the key that signed it has a {key.length}-byte modulus",
        )
    block = recover(key, signed)
    if block[-1] != TRAILER:
        raise EmvError(Reason.BAD_TRAILER, f"the {what} recovers with trailer {block[-1]:02X}, not BC")
    if block[0] != HEADER:
        raise EmvError(Reason.BAD_HEADER, f"the {what} recovers with header {block[0]:02X}, not 6A")
    if block[1] != expected_format:
        raise EmvError(Reason.BAD_FORMAT, f"the {what} has format {block[1]:02X}, not {expected_format:02X}")
    return block


def check_hash(block: bytes, indicator: int, *unsigned: bytes, what: str) -> None:
    """Steps 5 to 7: hash the block's fields (format to pad) and ``unsigned`` with the indicated
    algorithm, compare with the recovered hash result; ``bad-hash`` if they differ."""
    body, hash_result = block[1 : -1 - HASH_LENGTH], block[-1 - HASH_LENGTH : -1]
    if not hmac.compare_digest(digest(indicator, body, *unsigned), hash_result):
        raise EmvError(Reason.BAD_HASH, f"the {what}'s hash result does not match its data")
