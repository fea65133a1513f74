"""The CA and certificate browser: the CAs, certificates searched and filtered, one certificate,
and revoking it with a reason (RFC 5280 §5.3.1)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from chancery.domain.names import ca_name
from chancery.domain.principals import Principal
from chancery.domain.queries import CertificateFilter, PageRequest
from chancery.domain.records import CertificateStatus
from chancery.domain.revocation import RevocationReason
from chancery.domain.serials import SerialNumber
from chancery.errors import CAError, Malformed
from chancery.portal.forms import pages_of, see_other
from chancery.portal.viewer import CheckedDep, ViewerDep, record_if_denied, services_of, staff
from chancery.services.certificates import RevokeRequest

router = APIRouter()
PAGE_SIZE = 50
REASONS = tuple(r for r in RevocationReason if r is not RevocationReason.removeFromCRL)
SearchField = Annotated[str, Query(max_length=200)]


@router.get("/cas")
def cas(request: Request, viewer: ViewerDep) -> Response:
    principal = staff(viewer)
    records = services_of(request).hierarchy.list(principal)
    return pages_of(request).render(request, "cas.html", title="Certificate authorities", cas=records)


@router.get("/certificates")
def certificates(
    request: Request,
    viewer: ViewerDep,
    ca: SearchField = "",
    status: SearchField = "",
    subject: SearchField = "",
    san: SearchField = "",
    profile: SearchField = "",
    expiring_days: SearchField = "",
    cursor: SearchField = "",
) -> Response:
    principal = staff(viewer)
    services = services_of(request)
    filters = {
        "ca": ca,
        "status": status,
        "subject": subject,
        "san": san,
        "profile": profile,
        "expiring_days": expiring_days,
    }
    query = _filter(filters)
    page = services.certificates.search(principal, query, PageRequest(PAGE_SIZE, cursor or None))
    return pages_of(request).render(
        request,
        "certificates.html",
        title="Certificates",
        page=page,
        now=services.clock.now(),
        filters=filters,
        statuses=tuple(s.value for s in CertificateStatus),
        cas=[record.name for record in services.hierarchy.list(principal)],
    )


@router.get("/certificates/{ca}/{serial}")
def certificate(request: Request, viewer: ViewerDep, ca: str, serial: str) -> Response:
    return _page(request, staff(viewer), ca, serial)


@router.post("/certificates/{ca}/{serial}/revoke")
def revoke(
    request: Request, viewer: CheckedDep, ca: str, serial: str, reason: Annotated[str, Form(max_length=40)] = ""
) -> Response:
    principal = staff(viewer)
    try:
        parsed = SerialNumber.from_hex(serial)
        revocation = RevokeRequest(ca_name(ca), parsed, RevocationReason.parse(reason))
        services_of(request).certificates.revoke(principal, revocation)
    except CAError as error:
        return _page(request, principal, ca, serial, error)
    return see_other(request, f"/certificates/{ca}/{parsed.hex}", "revoked")


def _page(request: Request, principal: Principal, ca: str, serial: str, error: CAError | None = None) -> Response:
    services = services_of(request)
    record = services.certificates.get(principal, ca_name(ca), SerialNumber.from_hex(serial))
    context = {
        "title": f"Certificate {record.serial.hex}",
        "cert": record,
        "cert_status": record.status(services.clock.now()),
        "reasons": REASONS,
    }
    if error is None:
        return pages_of(request).render(request, "certificate.html", **context)
    record_if_denied(request, error)
    return pages_of(request).error(request, error, "certificate.html", **context)


def _filter(filters: dict[str, str]) -> CertificateFilter:
    """The search form as a filter; :class:`Malformed` for a value the form cannot have sent."""
    status = filters["status"]
    if status and status not in {s.value for s in CertificateStatus}:
        raise Malformed(f"unknown status {status[:20]!r}")
    days = filters["expiring_days"].strip()
    if days and (not days.isdigit() or not 1 <= int(days) <= 3650):
        raise Malformed("expiring within: a number of days from 1 to 3650")
    return CertificateFilter(
        ca_name=ca_name(filters["ca"]) if filters["ca"] else None,
        status=CertificateStatus(status) if status else None,
        subject_contains=filters["subject"].strip() or None,
        san_contains=filters["san"].strip() or None,
        profile=filters["profile"].strip() or None,
        expiring_within=dt.timedelta(days=int(days)) if days else None,
    )
