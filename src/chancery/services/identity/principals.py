"""From a user to the principal it acts as: its own grants, its groups', and its directory groups'."""

from __future__ import annotations

from chancery.domain.identity import UserRecord, UserSource, dn_key
from chancery.domain.principals import Grant, Principal
from chancery.services.ports import UnitOfWork


def principal_for(uow: UnitOfWork, user: UserRecord, kind: str = "user") -> Principal:
    """The roles ``user`` holds now: granted to it, to its Chancery groups, or to its LDAP groups."""
    groups = uow.groups.of_user(user.name)
    grants: set[Grant] = {record.grant for record in uow.grants.for_grantees(user.name, groups)}
    if user.source is UserSource.LDAP and user.directory_groups:
        settings = uow.ldap.get()
        if settings is not None:
            member_of = {dn_key(dn) for dn in user.directory_groups}
            grants.update(m.grant for m in settings.group_mappings if dn_key(m.group_dn) in member_of)
    return Principal(name=user.name, grants=frozenset(grants), kind=kind)


def narrowed(principal: Principal, ca: str | None) -> Principal:
    """``principal`` through a credential limited to CA ``ca`` (``None``: unchanged)."""
    if ca is None:
        return principal
    grants = frozenset(g for g in (grant.narrowed_to(ca) for grant in principal.all_grants) if g is not None)
    return Principal(name=principal.name, grants=grants, kind=principal.kind)
