"""Pages anyone may use: the home page, submitting a CSR (check, then submit), asking for a
server-generated key, and looking a request up by its ID."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import Response

from chancery.domain.keytypes import KeyType
from chancery.domain.registration import normalise_request_id
from chancery.errors import CAError, NotFound
from chancery.portal.forms import carried, carry, csr_bytes, lines, pages_of, parse_target, see_other, targets
from chancery.portal.viewer import CheckedDep, ViewerDep, record_if_denied, services_of
from chancery.services.registration.intake import CsrSubmission, KeygenSubmission

router = APIRouter()
TextField = Annotated[str, Form(max_length=20_000)]
KEY_TYPES = tuple(KeyType)


@router.get("/")
def home(request: Request, viewer: ViewerDep) -> Response:
    """The portal's home page (issue 8's contract: ``GET /portal/``)."""
    return pages_of(request).render(request, "home.html", title="Certificates for everyone")


# -- submitting a CSR ------------------------------------------------------------------------------


@router.get("/submit")
def submit_form(request: Request, viewer: ViewerDep) -> Response:
    return _submit_page(request, {})


@router.post("/submit/check")
def check(
    request: Request,
    viewer: CheckedDep,
    target: TextField = "",
    csr_text: TextField = "",
    csr_file: Annotated[UploadFile | None, File()] = None,
    contact_email: TextField = "",
    note: TextField = "",
) -> Response:
    """Parse the CSR and show what it asks for; nothing is recorded until "Submit"."""
    values = {"target": target, "csr_text": csr_text, "contact_email": contact_email, "note": note}
    services = services_of(request)
    try:
        ra_name, profile = parse_target(target)
        data = csr_bytes(csr_file, csr_text)
        summary = services.ra_intake.summarise(ra_name, profile, data)
        ra = services.ras.get(ra_name)
    except CAError as error:
        return _submit_page(request, values, error)
    policy = ra.policy(profile)
    return pages_of(request).render(
        request,
        "check.html",
        title="Check your request",
        summary=summary,
        ra=ra,
        profile=profile,
        policy=policy,
        csr=carry(data),
        values=values,
        needs_login=viewer.principal is None and policy is not None and not policy.allow_anonymous,
    )


@router.post("/submit")
def submit(
    request: Request,
    viewer: CheckedDep,
    target: TextField = "",
    csr: Annotated[str, Form(max_length=400_000)] = "",
    contact_email: TextField = "",
    note: TextField = "",
) -> Response:
    values = {"target": target, "csr_text": "", "contact_email": contact_email, "note": note}
    try:
        ra, profile = parse_target(target)
        submission = CsrSubmission(ra, profile, carried(csr), contact_email.strip() or None, note.strip())
        submitted = services_of(request).ra_intake.submit_csr(viewer.principal, submission)
    except CAError as error:
        return _submit_page(request, values, error)
    return see_other(request, f"/requests/{submitted.request.request_id}", "submitted")


def _submit_page(request: Request, values: dict[str, str], error: CAError | None = None) -> Response:
    context: dict[str, Any] = {
        "title": "Submit a certificate signing request",
        "targets": targets(services_of(request).ras.list()),
        "values": values,
    }
    if error is None:
        return pages_of(request).render(request, "submit.html", **context)
    record_if_denied(request, error)
    return pages_of(request).error(request, error, "submit.html", **context)


# -- server-side key generation -------------------------------------------------------------------


@router.get("/keygen")
def keygen_form(request: Request, viewer: ViewerDep) -> Response:
    return _keygen_page(request, {"key_type": KeyType.EC_P256.value})


@router.post("/keygen")
def keygen(
    request: Request,
    viewer: CheckedDep,
    target: TextField = "",
    subject: TextField = "",
    sans: TextField = "",
    key_type: TextField = "",
    contact_email: TextField = "",
    note: TextField = "",
) -> Response:
    """Record the request and show its pickup token, once: it is in this response only (not in a
    URL, not stored), which is why this post answers with a page instead of a redirect."""
    values = {
        "target": target,
        "subject": subject,
        "sans": sans,
        "key_type": key_type,
        "contact_email": contact_email,
        "note": note,
    }
    try:
        ra, profile = parse_target(target)
        submission = KeygenSubmission(
            ra=ra,
            profile=profile,
            subject=subject.strip(),
            key_type=KeyType.parse(key_type),
            sans=lines(sans),
            contact_email=contact_email.strip() or None,
            note=note.strip(),
        )
        submitted = services_of(request).ra_intake.submit_keygen(viewer.principal, submission)
    except CAError as error:
        return _keygen_page(request, values, error)
    return pages_of(request).render(
        request,
        "keygen-done.html",
        status=201,
        title="Your key will be generated",
        req=submitted.request,
        pickup_token=submitted.pickup_token,
    )


def _keygen_page(request: Request, values: dict[str, str], error: CAError | None = None) -> Response:
    context: dict[str, Any] = {
        "title": "Request a key and certificate",
        "targets": targets(services_of(request).ras.list()),
        "key_types": KEY_TYPES,
        "values": values,
    }
    if error is None:
        return pages_of(request).render(request, "keygen.html", **context)
    record_if_denied(request, error)
    return pages_of(request).error(request, error, "keygen.html", **context)


# -- finding a request ----------------------------------------------------------------------------


@router.get("/status")
def status(request: Request, viewer: ViewerDep, id: str = "") -> Response:  # noqa: A002 - the form's field
    """The lookup form; with an ID, the request's page (or "no such request")."""
    if not id.strip():
        return pages_of(request).render(request, "status.html", title="Check a request", lookup="")
    canonical = normalise_request_id(id)
    if canonical is None:
        error = NotFound("no such request: check the ID (16 letters and digits, like 7K2M-9QXR-3VTD-H8PA)")
        return pages_of(request).error(request, error, "status.html", title="Check a request", lookup=id[:40])
    return see_other(request, f"/requests/{canonical}")
