"""Turning what a client sends (a CSR, days of validity) into a :class:`CertificateRequest`."""

from __future__ import annotations

import datetime as dt

from chancery.errors import Malformed
from chancery.pki.csr import load_csr
from chancery.pki.issuer import CertificateRequest
from chancery.pki.profiles import Profile

MAX_VALIDITY_DAYS = 100 * 366


def request_from_csr(
    csr: bytes, profile: Profile, validity_days: int | None = None, path_length: int | None = None
) -> CertificateRequest:
    """Verify the CSR (proof of possession, well-formed names) and ask for what it asks for, under ``profile``."""
    verified = load_csr(csr)
    return CertificateRequest(
        subject=verified.subject,
        public_key=verified.public_key,
        profile=profile,
        sans=verified.sans,
        validity=validity(validity_days),
        path_length=path_length,
        extensions=tuple(verified.csr.extensions),
    )


def validity(days: int | None) -> dt.timedelta | None:
    """``days`` as a validity period; ``None`` means the profile's default."""
    if days is None:
        return None
    if days < 1 or days > MAX_VALIDITY_DAYS:
        raise Malformed(f"validity must be between 1 and {MAX_VALIDITY_DAYS} days")
    return dt.timedelta(days=days)
