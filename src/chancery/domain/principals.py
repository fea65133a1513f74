"""Who is acting: the authenticated principal every service call carries."""

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
class Principal:
    """An authenticated actor: ``name`` for the audit trail, ``roles`` for authorisation."""

    name: str
    roles: frozenset[Role]

    def has(self, role: Role) -> bool:
        return role in self.roles


def local_operator(user: str) -> Principal:
    """The operator running the ``chancery`` command on the CA host.

    Shell access to the data directory plus the key passphrase is full control
    of the CA, so the CLI acts as an administrator.
    """
    return Principal(name=f"cli:{user}", roles=frozenset({Role.ADMINISTRATOR}))
