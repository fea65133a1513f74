"""EMV test keys: generated once per session (prime search is the slow part), shared by all tests."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib

import pytest

from chancery.emv.fields import Expiry
from chancery.emv.rsa import EmvPublicKey
from tests.support.emv_keygen import SoftwareRawSigner

TODAY = dt.date(2026, 3, 15)
EXPIRY = Expiry(2030, 6)
PAN = "4761739001010119"


@functools.cache
def signer(bits: int, exponent: int) -> SoftwareRawSigner:
    """A real key pair (our own prime search), one per size and exponent for the whole session."""
    return SoftwareRawSigner.generate(bits, exponent)


def public_key(length: int, exponent: int, label: str = "") -> EmvPublicKey:
    """A deterministic, well-formed public key of ``length`` bytes (top bit set, odd) for a key
    that is only certified, never used to sign: certificates carry public keys only."""
    body = bytearray(hashlib.shake_256(f"{length}/{exponent}/{label}".encode()).digest(length))
    body[0] |= 0xC0
    body[-1] |= 1
    return EmvPublicKey(bytes(body), exponent)


@pytest.fixture(scope="session")
def ca_1984() -> SoftwareRawSigner:
    return signer(1984, 3)


@pytest.fixture(scope="session")
def issuer_1408() -> SoftwareRawSigner:
    return signer(1408, 65537)


@pytest.fixture(scope="session")
def icc_1024() -> SoftwareRawSigner:
    return signer(1024, 3)
