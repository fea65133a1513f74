"""The operators' ACME pages (RFC 8555): directories with their policy, a directory's accounts and
external account binding keys (§7.3.4), an account's orders and certificates; deactivating an
account, revoking every certificate it obtained (RFC 5280 §5.3.1 reason), creating an EAB key (its
HMAC shown once) and revoking one. The ACME services decide who may do what."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from chancery.domain.acme import AccountRecord, EabKeyRecord
from chancery.domain.principals import Principal
from chancery.domain.revocation import RevocationReason
from chancery.errors import CAError, PermissionDenied
from chancery.portal.forms import pages_of, see_other
from chancery.portal.viewer import CheckedDep, ViewerDep, record_if_denied, services_of, staff

router = APIRouter()
REASONS = tuple(r for r in RevocationReason if r is not RevocationReason.removeFromCRL)
ReasonField = Annotated[str, Form(max_length=40)]


@router.get("/acme")
def directories(request: Request, viewer: ViewerDep) -> Response:
    principal = staff(viewer)
    records = services_of(request).acme.directories.list(principal)
    return pages_of(request).render(request, "acme-directories.html", title="ACME directories", directories=records)


@router.get("/acme/directories/{name}")
def directory(request: Request, viewer: ViewerDep, name: str) -> Response:
    return _directory_page(request, staff(viewer), name)


@router.post("/acme/directories/{name}/eab-keys")
def create_eab_key(request: Request, viewer: CheckedDep, name: str) -> Response:
    """The new key's HMAC is on this response only (never stored in the clear, no redirect)."""
    principal = staff(viewer)
    try:
        created = services_of(request).acme.eab.create(principal, name)
    except CAError as error:
        return _directory_page(request, principal, name, error)
    context = {"title": "New external account key", "directory": name, "created": created}
    return pages_of(request).render(request, "acme-eab-created.html", **context)


@router.post("/acme/eab-keys/{kid}/revoke")
def revoke_eab_key(request: Request, viewer: CheckedDep, kid: str, directory: Annotated[str, Form()] = "") -> Response:
    principal = staff(viewer)
    try:
        revoked = services_of(request).acme.eab.revoke(principal, kid)
    except CAError as error:
        if not directory:
            raise
        return _directory_page(request, principal, directory, error)
    return see_other(request, f"/acme/directories/{revoked.directory}", "eab-revoked")


@router.get("/acme/accounts/{account_id}")
def account(request: Request, viewer: ViewerDep, account_id: str) -> Response:
    return _account_page(request, staff(viewer), account_id)


@router.post("/acme/accounts/{account_id}/deactivate")
def deactivate(request: Request, viewer: CheckedDep, account_id: str) -> Response:
    principal = staff(viewer)
    try:
        services_of(request).acme.operators.deactivate(principal, account_id)
    except CAError as error:
        return _account_page(request, principal, account_id, error)
    return see_other(request, f"/acme/accounts/{account_id}", "account-deactivated")


@router.post("/acme/accounts/{account_id}/revoke-certificates")
def revoke_certificates(request: Request, viewer: CheckedDep, account_id: str, reason: ReasonField = "") -> Response:
    principal = staff(viewer)
    try:
        services_of(request).acme.operators.revoke_all(principal, account_id, RevocationReason.parse(reason))
    except CAError as error:
        return _account_page(request, principal, account_id, error)
    return see_other(request, f"/acme/accounts/{account_id}", "account-revoked")


def _directory_page(request: Request, principal: Principal, name: str, error: CAError | None = None) -> Response:
    acme = services_of(request).acme
    record = acme.directories.show(principal, name)
    accounts = acme.operators.accounts(principal, name)
    orders = {a.account_id: len(acme.operators.orders(principal, a.account_id)) for a in accounts}
    context = {
        "title": f"ACME directory {record.name}",
        "directory": record,
        "accounts": accounts,
        "orders": orders,
        "eab_keys": _eab_keys(request, principal, name),
    }
    return _render(request, "acme-directory.html", context, error)


def _account_page(request: Request, principal: Principal, account_id: str, error: CAError | None = None) -> Response:
    acme = services_of(request).acme
    record: AccountRecord = acme.operators.account(principal, account_id)
    context = {
        "title": f"ACME account {record.account_id}",
        "account": record,
        "orders": acme.operators.orders(principal, account_id),
        "reasons": REASONS,
    }
    return _render(request, "acme-account.html", context, error)


def _eab_keys(request: Request, principal: Principal, directory: str) -> tuple[EabKeyRecord, ...] | None:
    """The directory's EAB keys, or None for a viewer who may not manage them (the list is hidden)."""
    try:
        return services_of(request).acme.eab.list(principal, directory)
    except PermissionDenied:
        return None


def _render(request: Request, template: str, context: dict[str, object], error: CAError | None) -> Response:
    if error is None:
        return pages_of(request).render(request, template, **context)
    record_if_denied(request, error)
    return pages_of(request).error(request, error, template, **context)
