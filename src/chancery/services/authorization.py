"""Authorisation, checked inside services.

Roles map to permissions here; later scopes (per CA, per profile) narrow them.
"""

from __future__ import annotations

from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal, Role
from chancery.errors import Forbidden

_READ = frozenset({Permission.CA_READ, Permission.CERT_READ, Permission.PROFILE_READ})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMINISTRATOR: frozenset(Permission),
    Role.CA_OPERATOR: _READ
    | {Permission.CA_MANAGE, Permission.CERT_ISSUE, Permission.CERT_REVOKE, Permission.PROFILE_MANAGE},
    Role.RA_OFFICER: _READ | {Permission.CERT_ISSUE, Permission.CERT_REVOKE},
    Role.AUDITOR: _READ,
    Role.REQUESTER: frozenset(),
}


def require(principal: Principal, permission: Permission, ca: str | None = None) -> None:
    """Raise :class:`Forbidden` unless one of ``principal``'s roles grants ``permission``."""
    for role in principal.roles:
        if permission in ROLE_PERMISSIONS.get(role, frozenset()):
            return
    where = f" on CA {ca}" if ca else ""
    raise Forbidden(f"{principal.name} may not {permission.value}{where}")
