"""The officers' approval queue: requests they may see, each with its parsed details, the
approvals so far and the linter's preview of the certificate; approve or deny with a comment."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from chancery.domain.principals import Principal
from chancery.domain.registration import RequestState
from chancery.errors import CAError, Malformed
from chancery.portal.forms import pages_of, see_other
from chancery.portal.viewer import CheckedDep, ViewerDep, record_if_denied, services_of, staff
from chancery.services.profiles.preview import Preview
from chancery.services.registration.decisions import Decision

router = APIRouter()
CommentField = Annotated[str, Form(max_length=2000)]
STATES = tuple(state.value for state in RequestState)


@router.get("/queue")
def queue(request: Request, viewer: ViewerDep, state: str = "pending", ra: str = "") -> Response:
    principal = staff(viewer)
    services = services_of(request)
    if state != "all" and state not in STATES:
        raise Malformed(f"unknown state {state[:20]!r}")
    states = tuple(RequestState) if state == "all" else (RequestState(state),)
    records = services.ra_decisions.queue(principal, states, ra or None)
    return pages_of(request).render(
        request,
        "queue.html",
        title="Approval queue",
        records=records,
        ras=[record.name for record in services.ras.list()],
        states=STATES,
        chosen={"state": state, "ra": ra},
    )


@router.get("/queue/{request_id}")
def decision_page(request: Request, viewer: ViewerDep, request_id: str) -> Response:
    principal = staff(viewer)
    record = services_of(request).ra_decisions.details(principal, request_id)
    if record.request_id != request_id:
        return see_other(request, f"/queue/{record.request_id}")
    return _page(request, principal, request_id)


@router.post("/queue/{request_id}/approve")
def approve(request: Request, viewer: CheckedDep, request_id: str, comment: CommentField = "") -> Response:
    principal = staff(viewer)
    try:
        result = services_of(request).ra_decisions.approve(principal, Decision(request_id, comment))
    except CAError as error:
        return _page(request, principal, request_id, error)
    notice = "issued" if result.state is RequestState.ISSUED else "approved"
    return see_other(request, f"/queue/{result.request_id}", notice)


@router.post("/queue/{request_id}/deny")
def deny(request: Request, viewer: CheckedDep, request_id: str, comment: CommentField = "") -> Response:
    principal = staff(viewer)
    try:
        result = services_of(request).ra_decisions.deny(principal, Decision(request_id, comment))
    except CAError as error:
        return _page(request, principal, request_id, error)
    return see_other(request, f"/queue/{result.request_id}", "denied")


def _page(request: Request, principal: Principal, request_id: str, error: CAError | None = None) -> Response:
    services = services_of(request)
    record = services.ra_decisions.details(principal, request_id)
    preview: Preview | None = None
    preview_problem = ""
    if record.csr is not None:
        try:
            preview = services.ra_decisions.lint_preview(principal, record.request_id)
        except CAError as failure:
            preview_problem = failure.detail
    context = {
        "title": f"Request {record.request_id}",
        "req": record,
        "preview": preview,
        "preview_problem": preview_problem,
        "decidable": record.state is RequestState.PENDING,
    }
    if error is None:
        return pages_of(request).render(request, "decision.html", **context)
    record_if_denied(request, error)
    return pages_of(request).error(request, error, "decision.html", **context)
