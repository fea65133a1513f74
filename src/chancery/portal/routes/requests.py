"""A request's own page, for whoever holds its ID: where it stands, the certificate and chain to
download once issued (PEM, DER, P7B), and a generated key to collect once, as PKCS#12."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from chancery.domain.exports import ExportFormat
from chancery.domain.registration import RequestRecord
from chancery.errors import CAError, Malformed
from chancery.portal.forms import pages_of, see_other
from chancery.portal.viewer import CheckedDep, ViewerDep, services_of
from chancery.services.registration.delivery import Pickup

router = APIRouter()
DOWNLOADS = (ExportFormat.PEM, ExportFormat.DER, ExportFormat.P7B)
SecretField = Annotated[str, Form(max_length=1024)]


@router.get("/requests/{request_id}")
def show(request: Request, viewer: ViewerDep, request_id: str) -> Response:
    """The request page ("no such request", 404, for an ID nobody was given)."""
    record = services_of(request).ra_delivery.status(request_id)
    if record.request_id != request_id:  # typed in lower case, with O for 0...: the canonical URL
        return see_other(request, f"/requests/{record.request_id}")
    return _page(request, record)


@router.get("/requests/{request_id}/certificate.{extension}")
def download(request: Request, viewer: ViewerDep, request_id: str, extension: str) -> Response:
    """The issued certificate: PEM (with its chain), DER (the certificate) or P7B (with its chain)."""
    fmt = ExportFormat.parse(extension, DOWNLOADS)
    services = services_of(request)
    record = services.ra_delivery.status(request_id)
    data = services.ra_delivery.certificate(record.request_id, fmt)
    return _attachment(data, fmt.media_type, f"{record.request_id}.{fmt.extension}")


@router.post("/requests/{request_id}/pickup")
def pickup(
    request: Request,
    viewer: CheckedDep,
    request_id: str,
    pickup_token: SecretField = "",
    password: SecretField = "",
    password_again: SecretField = "",
) -> Response:
    """The generated key and its certificate as PKCS#12 under the password chosen here; once."""
    services = services_of(request)
    record = services.ra_delivery.status(request_id)
    try:
        if password != password_again:
            raise Malformed("the two passwords differ")
        data = services.ra_delivery.pickup_pkcs12(Pickup(record.request_id, pickup_token.strip(), password))
    except CAError as error:
        return _page(request, services.ra_delivery.status(record.request_id), error)
    return _attachment(data, ExportFormat.P12.media_type, f"{record.request_id}.p12")


def _page(request: Request, record: RequestRecord, error: CAError | None = None) -> Response:
    context = {
        "title": f"Request {record.request_id}",
        "req": record,
        "downloads": DOWNLOADS,
        "collectable": record.key_id is not None and record.picked_up_at is None,
    }
    if error is None:
        return pages_of(request).render(request, "request.html", **context)
    return pages_of(request).error(request, error, "request.html", **context)


def _attachment(data: bytes, media_type: str, filename: str) -> Response:
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
