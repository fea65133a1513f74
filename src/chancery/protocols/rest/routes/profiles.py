"""Certificate and subject-DN profiles over REST: list, show/export, create, edit, versions, preview.

Create and edit take the profile document as JSON (``application/json``) or
YAML (``application/yaml``), the same document ``chancery profile import``
reads; ``?comment=`` is kept with the new version.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from chancery.domain.records import ProfileRecord
from chancery.errors import Malformed, PayloadTooLarge, UnsupportedMediaType
from chancery.pki.describe import describe_certificate
from chancery.pki.profiles import parse_profile_text
from chancery.pki.profiles.files import MAX_PROFILE_BYTES
from chancery.protocols._common import wants
from chancery.protocols.rest.deps import PrincipalDep, ServicesDep
from chancery.services.profiles.preview import Preview
from chancery.services.profiles.service import SavedProfile

router = APIRouter(tags=["profiles"])
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
_DOCUMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object", "description": "a profile document (see README)"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}
CommentQuery = Annotated[str, Query(max_length=500, description="why this version; kept with it")]


class ProfileSummary(BaseModel):
    name: str
    kind: str = Field(description="certificate or subject (a subject-DN profile)")
    version: int
    description: str
    created_at: dt.datetime
    created_by: str
    comment: str
    subject_profile: str | None = None
    subject_version: int | None = None

    @classmethod
    def of(cls, record: ProfileRecord) -> ProfileSummary:
        document = json.loads(record.document_json)
        return cls(
            name=record.name,
            kind=record.kind.value,
            version=record.version,
            description=str(document.get("description", "")),
            created_at=record.created_at,
            created_by=record.created_by,
            comment=record.comment,
            subject_profile=record.subject_profile,
            subject_version=record.subject_version,
        )


class ProfilePublic(ProfileSummary):
    document: dict[str, Any]

    @classmethod
    def of(cls, record: ProfileRecord) -> ProfilePublic:
        return cls(**ProfileSummary.of(record).model_dump(), document=json.loads(record.document_json))


class SavedPublic(ProfilePublic):
    created: bool = Field(description="false when the document equals the newest version (nothing stored)")
    dependents: list[ProfileSummary] = Field(
        default_factory=list, description="certificate profiles re-versioned to use this subject-DN profile version"
    )

    @classmethod
    def of_saved(cls, saved: SavedProfile) -> SavedPublic:
        return cls(
            **ProfilePublic.of(saved.record).model_dump(),
            created=saved.created,
            dependents=[ProfileSummary.of(d) for d in saved.dependents],
        )


class ProfileList(BaseModel):
    items: list[ProfileSummary]


class PreviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    csr: str = Field(max_length=64 * 1024, description="PEM (or base64 DER) PKCS#10 request")
    ca: str = Field(max_length=64, description="the CA that would issue")
    validity_days: int | None = Field(default=None, ge=1, le=36600)
    version: int | None = Field(default=None, ge=1, description="a stored version; default the newest")


class FindingPublic(BaseModel):
    code: str
    severity: str
    message: str
    node: str
    accepted: bool = Field(description="the profile accepts this finding (lint.accept), with a reason")


class LintPublic(BaseModel):
    validators: list[str]
    passed: bool = Field(description="no ERROR or FATAL finding the profile has not accepted")
    findings: list[FindingPublic]


class PreviewPublic(BaseModel):
    profile: str
    version: int
    ca: str
    certificate: dict[str, Any] = Field(description="the fields and extensions that would be issued (unsigned)")
    lint: LintPublic

    @classmethod
    def of(cls, preview: Preview) -> PreviewPublic:
        report = preview.report
        return cls(
            profile=preview.profile.name,
            version=preview.profile.version,
            ca=preview.ca,
            certificate=describe_certificate(preview.certificate),
            lint=LintPublic(
                validators=[s.value for s in preview.profile.lint.sets],
                passed=not report.blocking,
                findings=[
                    FindingPublic(
                        code=f.code, severity=f.severity, message=f.message, node=f.node, accepted=report.accepted(f)
                    )
                    for f in report.findings
                ],
            ),
        )


@router.get("/profiles", response_model=ProfileList)
def list_profiles(principal: PrincipalDep, services: ServicesDep) -> ProfileList:
    """The newest version of every certificate and subject-DN profile."""
    return ProfileList(items=[ProfileSummary.of(r) for r in services.profiles.list(principal)])


@router.post("/profiles", status_code=201, response_model=SavedPublic, openapi_extra=_DOCUMENT_BODY)
async def create_profile(
    request: Request, principal: PrincipalDep, services: ServicesDep, comment: CommentQuery = ""
) -> SavedPublic:
    """Create a profile (version 1); 409 if the name exists (edit it with PUT)."""
    document = await _document(request)
    return SavedPublic.of_saved(services.profiles.save(principal, document, comment, create=True))


@router.put("/profiles/{name}", response_model=SavedPublic, openapi_extra=_DOCUMENT_BODY)
async def edit_profile(
    name: str, request: Request, principal: PrincipalDep, services: ServicesDep, comment: CommentQuery = ""
) -> SavedPublic:
    """Store the document as the next version of ``name`` (``created: false`` if it is unchanged)."""
    document = await _document(request)
    return SavedPublic.of_saved(services.profiles.save(principal, document, comment, name=name, create=False))


@router.get("/profiles/{name}", response_model=ProfilePublic, responses={200: {"content": {"application/yaml": {}}}})
def get_profile(
    name: str,
    principal: PrincipalDep,
    services: ServicesDep,
    version: Annotated[int | None, Query(ge=1)] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    """One profile version (default the newest); ``Accept: application/yaml`` exports it as YAML."""
    if any(wants(accept, media_type) for media_type in YAML_TYPES):
        text = services.profiles.export(principal, name, version)
        return Response(text, media_type="application/yaml")
    return ProfilePublic.of(services.profiles.get(principal, name, version))


@router.get("/profiles/{name}/versions", response_model=ProfileList)
def profile_versions(name: str, principal: PrincipalDep, services: ServicesDep) -> ProfileList:
    """Every version of a profile, oldest first: who changed it, when and why."""
    return ProfileList(items=[ProfileSummary.of(r) for r in services.profiles.versions(principal, name)])


@router.post("/profiles/{name}/preview", response_model=PreviewPublic)
def preview_profile(name: str, body: PreviewCreate, principal: PrincipalDep, services: ServicesDep) -> PreviewPublic:
    """The certificate the profile would issue for the CSR (unsigned fields and extensions) and
    every lint finding, without issuing anything. Refusals come back as issuance would return them."""
    preview = services.previews.preview(
        principal, name, body.ca, body.csr.encode(), validity_days=body.validity_days, version=body.version
    )
    return PreviewPublic.of(preview)


async def _document(request: Request) -> Any:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if media_type in YAML_TYPES:
        return parse_profile_text(body)
    if media_type == "application/json":
        if len(body) > MAX_PROFILE_BYTES:
            raise PayloadTooLarge(f"a profile document is at most {MAX_PROFILE_BYTES // 1024} KiB")
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise Malformed("the body is not valid JSON") from None
    raise UnsupportedMediaType("send the profile as application/json or application/yaml")
