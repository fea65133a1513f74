"""The port to a user directory (LDAP / Active Directory), implemented by :mod:`.ldap`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chancery.domain.identity import LdapSettings


@dataclass(frozen=True)
class DirectoryUser:
    """A user the directory knows: its entry's DN, display name and the DNs of its groups."""

    dn: str
    display_name: str
    groups: tuple[str, ...]


class Directory(Protocol):
    def authenticate(
        self, settings: LdapSettings, bind_password: str, username: str, password: str
    ) -> DirectoryUser | None:
        """Search for ``username`` with the service account, then bind as the entry found with
        ``password`` (search-then-bind). ``None``: unknown user or wrong password. Raises
        :class:`~chancery.errors.InternalError` (never a credential) when the directory is unreachable."""
        ...

    def lookup(self, settings: LdapSettings, bind_password: str, username: str) -> DirectoryUser | None:
        """Find ``username`` and its groups with the service account (``chancery ldap test``)."""
        ...
