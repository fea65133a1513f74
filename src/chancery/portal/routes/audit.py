"""The audit view for auditors: the newest entries first, filtered by action, actor, CA or target."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from chancery.domain.queries import AuditFilter
from chancery.errors import Malformed
from chancery.portal.forms import pages_of
from chancery.portal.viewer import ViewerDep, services_of, staff

router = APIRouter()
PAGE_SIZE = 100
SearchField = Annotated[str, Query(max_length=200)]


@router.get("/audit")
def audit(
    request: Request,
    viewer: ViewerDep,
    action: SearchField = "",
    actor: SearchField = "",
    ca: SearchField = "",
    target: SearchField = "",
    before: SearchField = "",
) -> Response:
    principal = staff(viewer)
    if before and not before.isdigit():
        raise Malformed("before: a sequence number")
    query = AuditFilter(
        action=action.strip() or None,
        actor=actor.strip() or None,
        ca=ca.strip() or None,
        target=target.strip() or None,
        before=int(before) if before else None,
    )
    entries = services_of(request).audit.search(principal, query, PAGE_SIZE)
    filters = {"action": action, "actor": actor, "ca": ca, "target": target}
    return pages_of(request).render(
        request,
        "audit.html",
        title="Audit log",
        entries=entries,
        filters=filters,
        older=entries[-1].sequence if len(entries) == PAGE_SIZE else None,
    )
