"""Authorisation, checked inside services (a route that forgets a check is still refused).

Roles map to permissions here. A grant may be scoped to a CA, a profile or an RA
(:class:`~chancery.domain.principals.Grant`); a check names the scope of the
action and only grants covering it count.
"""

from __future__ import annotations

from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal, Role
from chancery.errors import PermissionDenied

_READ = frozenset({Permission.CA_READ, Permission.CERT_READ, Permission.PROFILE_READ})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMINISTRATOR: frozenset(Permission),
    Role.CA_OPERATOR: _READ
    | {
        Permission.CA_MANAGE,
        Permission.CERT_ISSUE,
        Permission.CERT_REVOKE,
        Permission.PROFILE_MANAGE,
        Permission.RA_MANAGE,
        Permission.ACME_MANAGE,
        Permission.REQUEST_SUBMIT,
        Permission.REQUEST_READ,
        Permission.REQUEST_APPROVE,
    },
    Role.RA_OFFICER: _READ
    | {
        Permission.CERT_ISSUE,
        Permission.CERT_REVOKE,
        Permission.REQUEST_SUBMIT,
        Permission.REQUEST_READ,
        Permission.REQUEST_APPROVE,
    },
    # Auditors read everything and change nothing.
    Role.AUDITOR: _READ | {Permission.AUDIT_READ, Permission.USER_READ, Permission.REQUEST_READ},
    Role.REQUESTER: frozenset({Permission.REQUEST_SUBMIT}),
}


def allows(
    principal: Principal,
    permission: Permission,
    ca: str | None = None,
    profile: str | None = None,
    ra: str | None = None,
) -> bool:
    """Whether one of ``principal``'s grants gives ``permission`` on this scope."""
    return any(
        permission in ROLE_PERMISSIONS.get(grant.role, frozenset()) and grant.covers(ca, profile, ra)
        for grant in principal.all_grants
    )


def require(
    principal: Principal,
    permission: Permission,
    ca: str | None = None,
    profile: str | None = None,
    ra: str | None = None,
) -> None:
    """Raise :class:`Forbidden` unless one of ``principal``'s grants gives ``permission`` here."""
    if not allows(principal, permission, ca, profile, ra):
        where = "".join(
            f" {label} {value}" for label, value in (("on CA", ca), ("under profile", profile), ("in RA", ra)) if value
        )
        raise PermissionDenied(
            f"{principal.name} may not {permission.value}{where}",
            actor=principal.name,
            permission=permission.value,
            ca=ca,
        )


def permitted_cas(principal: Principal, permission: Permission) -> frozenset[str] | None:
    """The CAs on which ``principal`` has ``permission``; ``None`` when it has it on every CA."""
    cas: set[str] = set()
    for grant in principal.all_grants:
        if permission not in ROLE_PERMISSIONS.get(grant.role, frozenset()):
            continue
        if grant.ca is None and grant.profile is None and grant.ra is None:
            return None
        if grant.ca is not None:
            cas.add(grant.ca)
    return frozenset(cas)


def require_on_ca(principal: Principal, permission: Permission, ca: str) -> None:
    """A first check before the profile is known: some grant gives ``permission`` on ``ca``,
    whatever profile it is limited to. The full check follows once the profile is known."""
    if not any(
        permission in ROLE_PERMISSIONS.get(grant.role, frozenset()) and grant.ca in (None, ca)
        for grant in principal.all_grants
    ):
        raise PermissionDenied(
            f"{principal.name} may not {permission.value} on CA {ca}",
            actor=principal.name,
            permission=permission.value,
            ca=ca,
        )
