"""Wire models of the REST API (``XCreate`` in, ``XPublic`` out)."""

from __future__ import annotations

import datetime as dt
import json

from pydantic import BaseModel, ConfigDict, Field

from chancery.domain.keystores import KeyLocation, location_of
from chancery.domain.keytypes import KeyType
from chancery.domain.records import CertificateAuthorityRecord, CertificateRecord, CertificateStatus
from chancery.pki.encoding import der_to_pem
from chancery.services.authority.cycle import Issued

_STRICT = ConfigDict(extra="forbid")


class CertificateCreate(BaseModel):
    model_config = _STRICT
    csr: str = Field(description="PKCS#10 request, PEM (or base64 DER)", max_length=512 * 1024)
    profile: str = Field(default="tls-server", max_length=64)
    validity_days: int | None = Field(default=None, ge=1, le=36600)
    path_length: int | None = Field(default=None, ge=0, le=16, description="sub-ca profile only")


class CertificateGenerate(BaseModel):
    """Server-side key generation: the key comes back once, inside a PKCS#12."""

    model_config = _STRICT
    subject: str = Field(max_length=4096)
    sans: list[str] = Field(default_factory=list, max_length=100)
    profile: str = Field(default="tls-client", max_length=64)
    key_type: KeyType = KeyType.EC_P256
    password: str = Field(min_length=8, max_length=1024, description="protects the PKCS#12")
    validity_days: int | None = Field(default=None, ge=1, le=36600)


class RevocationCreate(BaseModel):
    model_config = _STRICT
    reason: str = Field(default="unspecified", max_length=40)
    invalidity_date: dt.datetime | None = None


class RenewalCreate(BaseModel):
    model_config = _STRICT
    validity_days: int | None = Field(default=None, ge=1, le=36600)


class RekeyCreate(BaseModel):
    model_config = _STRICT
    csr: str = Field(max_length=512 * 1024)
    validity_days: int | None = Field(default=None, ge=1, le=36600)


class CACreate(BaseModel):
    """An intermediate CA under a CA of this installation."""

    model_config = _STRICT
    name: str = Field(max_length=63)
    parent: str = Field(max_length=63)
    subject: str = Field(max_length=4096)
    key_type: KeyType = KeyType.EC_P256
    validity_days: int | None = Field(default=None, ge=1, le=36600)
    path_length: int | None = Field(default=None, ge=0, le=16)
    key_store: KeyLocation = Field(
        default=KeyLocation.SOFTWARE, description="where the key is generated: software, or pkcs11 (the HSM token)"
    )
    existing_key_label: str | None = Field(
        default=None, min_length=1, max_length=256, description="adopt this key already in the HSM (implies pkcs11)"
    )


class CertificateQuery(BaseModel):
    """Filters of certificate listings (query parameters)."""

    model_config = _STRICT
    ca: str | None = Field(default=None, max_length=64)
    status: CertificateStatus | None = None
    subject: str | None = Field(default=None, max_length=256, description="substring of the subject DN")
    san: str | None = Field(default=None, max_length=256, description="substring of a SAN, e.g. example.com")
    profile: str | None = Field(default=None, max_length=64)
    expiring_within_days: int | None = Field(default=None, ge=0, le=36600)
    limit: int = Field(default=100, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=64)


class CertificatePublic(BaseModel):
    ca: str
    serial_number: str
    status: str
    profile: str
    profile_version: int | None = Field(default=None, description="the profile version it was issued under")
    subject: str
    sans: list[str]
    not_before: dt.datetime
    not_after: dt.datetime
    revoked_at: dt.datetime | None = None
    revocation_reason: str | None = None
    renewal_of: str | None = None
    certificate: str | None = None

    @classmethod
    def of(cls, record: CertificateRecord, now: dt.datetime) -> CertificatePublic:
        revocation = record.revocation
        return cls(
            ca=record.ca_name,
            serial_number=record.serial.hex,
            status=record.status(now).value,
            profile=record.profile,
            profile_version=record.profile_version,
            subject=record.subject,
            sans=list(record.sans),
            not_before=record.not_before,
            not_after=record.not_after,
            revoked_at=revocation.revoked_at if revocation else None,
            revocation_reason=revocation.reason.name if revocation else None,
            renewal_of=record.renewal_of.hex if record.renewal_of else None,
            certificate=der_to_pem(record.der) if record.der else None,
        )


class IssuedPublic(CertificatePublic):
    chain: list[str] = Field(description="the issuing CA first, the root last (PEM)")

    @classmethod
    def of(cls, issued: Issued, now: dt.datetime) -> IssuedPublic:  # type: ignore[override]
        return cls.model_validate_json(issued_json(issued, now))


def issued_json(issued: Issued, now: dt.datetime) -> bytes:
    """The IssuedPublic document, built directly (the issuance hot path skips model validation)."""
    record = issued.record
    return json.dumps(
        {
            "ca": record.ca_name,
            "serial_number": record.serial.hex,
            "status": record.status(now).value,
            "profile": record.profile,
            "profile_version": record.profile_version,
            "subject": record.subject,
            "sans": list(record.sans),
            "not_before": record.not_before.isoformat(),
            "not_after": record.not_after.isoformat(),
            "revoked_at": None,
            "revocation_reason": None,
            "renewal_of": record.renewal_of.hex if record.renewal_of else None,
            "certificate": issued.certificate_pem,
            "chain": list(issued.chain_pem),
        },
        separators=(",", ":"),
    ).encode()


class GeneratedPublic(IssuedPublic):
    pkcs12: str = Field(description="base64 PKCS#12 with the key, certificate and chain")


class CertificatePage(BaseModel):
    items: list[CertificatePublic]
    next_cursor: str | None


class CAPublic(BaseModel):
    name: str
    status: str
    subject: str
    key_type: str
    key_store: str
    parent: str | None
    path_length: int | None
    not_after: dt.datetime | None
    crl_url: str
    ocsp_url: str
    ca_issuers_url: str
    certificate: str | None

    @classmethod
    def of(cls, record: CertificateAuthorityRecord) -> CAPublic:
        return cls(
            name=record.name,
            status=record.status.value,
            subject=record.subject,
            key_type=record.key_type.value,
            key_store=location_of(record.key_id).value,
            parent=record.parent,
            path_length=record.path_length,
            not_after=record.not_after,
            crl_url=record.urls.crl,
            ocsp_url=record.urls.ocsp,
            ca_issuers_url=record.urls.ca_issuers,
            certificate=der_to_pem(record.certificate) if record.certificate else None,
        )


class CAList(BaseModel):
    items: list[CAPublic]
