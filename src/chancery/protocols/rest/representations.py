"""Choosing how a certificate or chain is returned: ``?format=`` first, then ``Accept``."""

from __future__ import annotations

from fastapi.responses import Response

from chancery.domain.exports import ExportFormat
from chancery.errors import NotAcceptable
from chancery.protocols._common import wants

JSON = "json"
_ACCEPT = {
    "application/json": JSON,
    "application/pem-certificate-chain": ExportFormat.PEM,
    "application/x-pem-file": ExportFormat.PEM,
    "application/pkix-cert": ExportFormat.DER,
    "application/pkcs7-mime": ExportFormat.P7B,
    "application/x-pkcs7-certificates": ExportFormat.P7B,
}


def negotiate(format_param: str | None, accept: str | None, default: str | ExportFormat) -> str | ExportFormat:
    """The representation asked for; raise :class:`NotAcceptable` for none we offer."""
    if format_param:
        choice = format_param.strip().lower()
        if choice == JSON:
            return JSON
        try:
            return ExportFormat(choice)
        except ValueError:
            raise NotAcceptable(f"unknown format {format_param[:20]!r}; use json, pem, der or p7b") from None
    for media_type, choice in _ACCEPT.items():
        if wants(accept, media_type):
            return choice
    if accept and not any(p.split(";")[0].strip() in ("*/*", "application/*") for p in accept.split(",")):
        raise NotAcceptable("cannot produce any media type in Accept; offered: " + ", ".join(_ACCEPT))
    return default


def binary(content: bytes, fmt: ExportFormat, filename: str) -> Response:
    media_type = fmt.media_type
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}.{fmt.extension}"'},
    )
