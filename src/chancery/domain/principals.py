"""Who is acting: the authenticated principal every service call carries, and the roles it holds."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    CA_OPERATOR = "ca-operator"
    RA_OFFICER = "ra-officer"
    AUDITOR = "auditor"
    REQUESTER = "requester"


@dataclass(frozen=True)
class Grant:
    """A role held on a scope: a CA, a profile, an RA, any combination; ``None`` is "any".

    ``Grant(Role.RA_OFFICER, ca="issuing-1")`` acts on CA issuing-1 only.
    """

    role: Role
    ca: str | None = None
    profile: str | None = None
    ra: str | None = None

    @property
    def scoped(self) -> bool:
        return self.ca is not None or self.profile is not None or self.ra is not None

    def covers(self, ca: str | None, profile: str | None, ra: str | None) -> bool:
        """Whether an action on (``ca``, ``profile``, ``ra``) is inside this grant's scope.

        A scoped grant never covers an action whose scope is not named: an officer of one
        CA cannot act "on every CA".
        """
        return (
            (self.ca is None or self.ca == ca)
            and (self.profile is None or self.profile == profile)
            and (self.ra is None or self.ra == ra)
        )

    def narrowed_to(self, ca: str | None) -> Grant | None:
        """This grant as seen through a credential limited to ``ca`` (``None``: no limit)."""
        if ca is None:
            return self
        if self.ca is None:
            return Grant(self.role, ca, self.profile, self.ra)
        return self if self.ca == ca else None

    def __str__(self) -> str:
        scope = "".join(
            f"{sep}{value}" for sep, value in (("@", self.ca), ("/profile=", self.profile), ("/ra=", self.ra)) if value
        )
        return f"{self.role.value}{scope}"


@dataclass(frozen=True)
class Principal:
    """An authenticated actor: ``name`` for the audit trail, its roles for authorisation.

    ``roles`` are held everywhere; ``grants`` are held on a scope. ``kind`` says how it
    authenticated: ``user`` (a login), ``token`` (a user's API token), ``session`` (a
    portal session), ``service`` (a service token bound to no user), ``cli`` (the operator
    on the CA host), ``system``.
    """

    name: str
    roles: frozenset[Role] = frozenset()
    grants: frozenset[Grant] = frozenset()
    kind: str = "user"

    @property
    def all_grants(self) -> frozenset[Grant]:
        return self.grants | {Grant(role) for role in self.roles}

    @property
    def is_person(self) -> bool:
        """A user account acting (logged in, or through one of its tokens): who can count as a
        second person under dual control. Service tokens and the CA host's operator cannot."""
        return self.kind in ("user", "token", "session")

    def has(self, role: Role) -> bool:
        """Holds ``role`` everywhere (not only on some scope)."""
        return role in self.roles or Grant(role) in self.grants


def local_operator(user: str) -> Principal:
    """The operator running the ``chancery`` command on the CA host.

    Shell access to the data directory plus the key passphrase is full control
    of the CA, so the CLI acts as an administrator (still audited, and still
    subject to dual control).
    """
    return Principal(name=f"cli:{user}", roles=frozenset({Role.ADMINISTRATOR}), kind="cli")


SYSTEM = Principal(name="chancery", roles=frozenset({Role.ADMINISTRATOR}), kind="system")
"""Chancery itself, for work nobody asked for (maintenance, built-in profiles)."""
