"""Reading the portal's form fields: RA and profile choices, uploaded CSRs, redirects."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from fastapi import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse

from chancery.domain.registration import ProfilePolicy, RaRecord
from chancery.errors import Malformed, PayloadTooLarge
from chancery.portal.rendering import Pages

MAX_CSR_UPLOAD = 256 * 1024  # the CSR parser's own limit (pki.csr.MAX_CSR_BYTES)
MAX_FORM_BYTES = 640 * 1024  # a CSR file, the same CSR pasted, and the other fields


@dataclass(frozen=True)
class Target:
    """One choice of the "where to" list: a profile at an RA, with its policy."""

    ra: RaRecord
    profile: str
    policy: ProfilePolicy

    @property
    def value(self) -> str:
        return f"{self.ra.name}/{self.profile}"


def targets(ras: tuple[RaRecord, ...]) -> list[Target]:
    return [Target(ra, profile, policy) for ra in ras for profile, policy in ra.policies]


def parse_target(text: str) -> tuple[str, str]:
    """``"ra/profile"`` -> (ra, profile); :class:`Malformed` when no choice was made."""
    ra, sep, profile = text.partition("/")
    if not sep or not ra or not profile:
        raise Malformed("choose a registration authority and profile")
    return ra, profile


def csr_bytes(upload: UploadFile | None, pasted: str) -> bytes:
    """The CSR of a form: the uploaded file when one was chosen, otherwise the pasted text."""
    if upload is not None and upload.filename:
        data = upload.file.read(MAX_CSR_UPLOAD + 1)
        if len(data) > MAX_CSR_UPLOAD:
            raise PayloadTooLarge(f"the CSR file is larger than {MAX_CSR_UPLOAD // 1024} KiB")
        if data.strip():
            return data
    if pasted.strip():
        return pasted.encode("utf-8", "replace")
    raise Malformed("choose a CSR file or paste a PEM CSR")


def carry(data: bytes) -> str:
    """Bytes to carry from the check page to the submission (a hidden field)."""
    return base64.b64encode(data).decode("ascii")


def carried(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise Malformed("the checked CSR did not come back intact: start again") from None


def lines(text: str) -> tuple[str, ...]:
    """The non-empty lines of a text area."""
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def see_other(request: Request, path: str, notice: str | None = None) -> RedirectResponse:
    """303 to a portal path (PRG: a reload does not post again)."""
    url = request.scope.get("root_path", "") + path + (f"?notice={notice}" if notice else "")
    return RedirectResponse(url, status_code=303)


def pages_of(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages
