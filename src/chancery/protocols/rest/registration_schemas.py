"""Wire models of the registration authority's REST API (``XCreate`` in, ``XPublic`` out)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Role
from chancery.domain.registration import (
    MAX_APPROVALS,
    MAX_LIFETIME_HOURS,
    ProfilePolicy,
    RaRecord,
    RequestKind,
    RequestRecord,
    RequestState,
)

_STRICT = ConfigDict(extra="forbid")
_NOTE = Field(default="", max_length=1000, description="for the officers (kept with the request)")
REQUESTS_PATH = "/api/v1/requests"


class RequestCreate(BaseModel):
    """A request to an RA: ``csr`` (you hold the key), or ``subject`` with ``key_type`` and ``sans``
    (the CA generates the key; collect it once with the ``pickup_token`` the answer carries)."""

    model_config = _STRICT
    profile: str = Field(max_length=64)
    csr: str | None = Field(default=None, max_length=64 * 1024, description="PKCS#10, PEM or base64 DER")
    subject: str | None = Field(default=None, max_length=4096, description="e.g. CN=alice,O=Example")
    key_type: KeyType | None = None
    sans: list[str] | None = Field(default=None, max_length=100, description="e.g. DNS:host.example.com")
    email: str | None = Field(default=None, max_length=254, description="told when the request is decided")
    note: str = _NOTE

    @model_validator(mode="after")
    def _one_kind(self) -> RequestCreate:
        if (self.csr is None) == (self.subject is None):
            raise ValueError('send either "csr" (your own key) or "subject" (the CA generates the key)')
        if self.csr is not None and (self.key_type is not None or self.sans is not None):
            raise ValueError('"key_type" and "sans" go with "subject"; a CSR carries its own key and names')
        return self


class RenewalCreate(BaseModel):
    model_config = _STRICT
    serial: str = Field(max_length=64, description="hex serial of a certificate the RA's CA issued")
    note: str = _NOTE


class RevocationCreate(RenewalCreate):
    reason: str = Field(max_length=40, description="an RFC 5280 §5.3.1 reason, e.g. keyCompromise")


class DecisionCreate(BaseModel):
    model_config = _STRICT
    comment: str = Field(default="", max_length=1000)


class ClosingCreate(BaseModel):
    model_config = _STRICT
    reason: str = Field(default="", max_length=1000)


class PickupCreate(BaseModel):
    model_config = _STRICT
    pickup_token: str = Field(max_length=128)
    password: str = Field(max_length=1024, description="protects the PKCS#12 (at least 8 characters)")


class ApprovalPublic(BaseModel):
    """An approval; who gave it and why only for those who may read the RA's queue."""

    approved_at: dt.datetime
    approver: str | None = None
    comment: str | None = None


class RequestPublic(BaseModel):
    """Where a request stands. Fields that do not apply (or that the caller may not see) are left out."""

    id: str
    status: RequestState
    kind: RequestKind
    ra: str
    ca: str
    profile: str
    subject: str
    sans: list[str]
    key: str = Field(description='e.g. "EC P-256"')
    submitted_at: dt.datetime
    expires_at: dt.datetime
    approvals_required: int
    approvals: list[ApprovalPublic]
    decided_at: dt.datetime | None = None
    reason: str | None = Field(default=None, description="the requester's note, then why it was denied or cancelled")
    serial: str | None = Field(default=None, description="the certificate issued (or revoked)")
    certificate_url: str | None = None
    error: str | None = Field(default=None, description="why the CA refused an approved request")
    target_serial: str | None = Field(default=None, description="renewals and revocations: the certificate")
    revocation_reason: str | None = None
    key_collected: bool | None = Field(default=None, description="server-side key generation: the PKCS#12 was taken")
    requester: str | None = None
    contact_email: str | None = None
    decided_by: str | None = None

    @classmethod
    def of(cls, record: RequestRecord, now: dt.datetime, *, officer: bool) -> RequestPublic:
        """``officer``: the caller may read the RA's queue and sees who did what."""
        status = RequestState.EXPIRED if record.expired_at(now) else record.state
        issued = status is RequestState.ISSUED and record.serial is not None
        keygen = record.kind is RequestKind.KEYGEN
        return cls(
            id=record.request_id,
            status=status,
            kind=record.kind,
            ra=record.ra,
            ca=record.ca,
            profile=record.profile,
            subject=record.subject,
            sans=list(record.sans),
            key=record.key_summary,
            submitted_at=record.submitted_at,
            expires_at=record.expires_at,
            approvals_required=record.approvals_required,
            approvals=[
                ApprovalPublic(approved_at=a.approved_at, approver=a.approver, comment=a.comment)
                if officer
                else ApprovalPublic(approved_at=a.approved_at)
                for a in record.approvals
            ],
            decided_at=record.decided_at,
            reason=record.reason or None,
            serial=record.serial,
            certificate_url=f"{REQUESTS_PATH}/{record.request_id}/certificate" if issued else None,
            error=record.error or None,
            target_serial=record.target_serial,
            revocation_reason=record.revocation_reason,
            key_collected=(record.picked_up_at is not None) if keygen and issued else None,
            requester=record.requester if officer else None,
            contact_email=record.contact_email if officer else None,
            decided_by=record.decided_by if officer else None,
        )


class SubmittedPublic(RequestPublic):
    pickup_token: str | None = Field(
        default=None, description="server-side key generation: shown once, needed to collect the key"
    )


class RequestList(BaseModel):
    items: list[RequestPublic]


class PolicyCreate(BaseModel):
    """How an RA handles one profile's requests."""

    model_config = _STRICT
    approvals: int = Field(default=1, ge=0, le=MAX_APPROVALS, description="distinct approvers needed (0: at once)")
    approver_role: Role = Role.RA_OFFICER
    approver_group: str | None = Field(default=None, max_length=128)
    allow_anonymous: bool = False
    lifetime_hours: int = Field(default=24 * 7, ge=1, le=MAX_LIFETIME_HOURS)
    deny_needs_reason: bool = True

    @model_validator(mode="after")
    def _valid(self) -> PolicyCreate:
        self.policy()  # ProfilePolicy's own rules (requesters cannot approve)
        return self

    def policy(self) -> ProfilePolicy:
        return ProfilePolicy(
            approvals=self.approvals,
            approver_role=self.approver_role,
            approver_group=self.approver_group or None,
            allow_anonymous=self.allow_anonymous,
            lifetime_hours=self.lifetime_hours,
            deny_needs_reason=self.deny_needs_reason,
        )


class RaCreate(BaseModel):
    model_config = _STRICT
    name: str = Field(max_length=63)
    ca: str = Field(max_length=63)
    profiles: list[str] = Field(min_length=1, max_length=50)
    policy: PolicyCreate = Field(default_factory=PolicyCreate, description="for every profile; change with PUT")
    revocation_approvals: int = Field(default=0, ge=0, le=MAX_APPROVALS)
    description: str = Field(default="", max_length=500)
    notify_emails: list[str] = Field(default_factory=list, max_length=20)


class ProfilePolicyPublic(BaseModel):
    profile: str
    approvals: int
    allow_anonymous: bool
    lifetime_hours: int
    deny_needs_reason: bool
    approver_role: Role | None = None
    approver_group: str | None = None


class RaPublic(BaseModel):
    """An RA as anyone may see it; its managers also see who approves and who is told."""

    name: str
    ca: str
    description: str
    allows_anonymous: bool
    profiles: list[ProfilePolicyPublic]
    revocation_approvals: int | None = None
    notify_emails: list[str] | None = None
    created_at: dt.datetime | None = None
    created_by: str | None = None

    @classmethod
    def of(cls, record: RaRecord, *, manager: bool) -> RaPublic:
        return cls(
            name=record.name,
            ca=record.ca,
            description=record.description,
            allows_anonymous=record.allows_anonymous,
            profiles=[
                ProfilePolicyPublic(
                    profile=profile,
                    approvals=policy.approvals,
                    allow_anonymous=policy.allow_anonymous,
                    lifetime_hours=policy.lifetime_hours,
                    deny_needs_reason=policy.deny_needs_reason,
                    approver_role=policy.approver_role if manager else None,
                    approver_group=policy.approver_group if manager else None,
                )
                for profile, policy in record.policies
            ],
            revocation_approvals=record.revocation_approvals if manager else None,
            notify_emails=list(record.notify_emails) if manager else None,
            created_at=record.created_at if manager else None,
            created_by=record.created_by if manager else None,
        )


class RaList(BaseModel):
    items: list[RaPublic]
