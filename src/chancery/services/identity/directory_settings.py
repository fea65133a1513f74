"""Configuring the LDAP / Active Directory connection, and checking it (``chancery ldap ...``).

The service account's password is sealed by the key store, never stored in
the clear and never shown again. Changing the directory settings is a
sensitive operation (dual control).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.identity import DirectoryGroupMapping, LdapSettings, dn_key
from chancery.domain.names import ca_name, profile_name
from chancery.domain.permissions import Permission
from chancery.domain.principals import Grant, Principal, Role
from chancery.errors import ConfigurationError, InternalError, Malformed
from chancery.keys.base import SecretSealer
from chancery.services.approvals import DualControl
from chancery.services.authorization import require
from chancery.services.identity.authentication import LDAP_BIND_LABEL
from chancery.services.identity.directory import Directory, DirectoryUser
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork

MAX_FIELD = 1000


@dataclass(frozen=True)
class LdapConfiguration:
    """What an administrator gives ``chancery ldap configure``."""

    url: str
    base_dn: str
    bind_dn: str
    bind_password: str = field(repr=False)
    user_filter: str = "(uid={username})"
    start_tls: bool = False
    ca_certificates_pem: str | None = None
    group_map: tuple[str, ...] = ()  # "<group DN>=<role>[@<ca>]"


@dataclass(frozen=True)
class DirectoryCheck:
    user: DirectoryUser | None
    grants: tuple[Grant, ...]


def parse_group_mapping(text: str) -> DirectoryGroupMapping:
    """``cn=ops,ou=groups,dc=example,dc=test=ra-officer@issuing`` (the last ``=`` splits DN from grant;
    the grant is ``role``, ``role@ca`` or ``role@ca/profile``)."""
    dn, sep, grant = text.rpartition("=")
    if not sep or "=" not in dn or not grant:
        raise Malformed(f"a group mapping is '<group DN>=<role>[@<CA>[/<profile>]]', not {text[:120]!r}")
    role_text, _, scope = grant.partition("@")
    try:
        role = Role(role_text.strip())
    except ValueError:
        raise Malformed(f"unknown role {role_text[:40]!r}; use one of: {', '.join(r.value for r in Role)}") from None
    ca, _, profile = scope.partition("/")
    return DirectoryGroupMapping(
        dn.strip(),
        Grant(
            role,
            ca_name(ca.strip()) if ca.strip() else None,
            profile_name(profile.strip()) if profile.strip() else None,
        ),
    )


class DirectorySettingsService:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        secrets: SecretSealer,
        directory: Directory,
        dual_control: DualControl,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._secrets = secrets
        self._directory = directory
        self._dual = dual_control

    def configure(self, principal: Principal, configuration: LdapConfiguration, verify: bool = True) -> LdapSettings:
        """Store the directory settings. With ``verify`` (the default) the service account first
        binds and searches once, so that a typo in the URL, DN or password is refused here, not at
        the first user's login; nothing is stored when it fails."""
        require(principal, Permission.USER_MANAGE)
        settings = self._settings(principal, configuration)
        if verify:
            try:
                self._directory.lookup(settings, configuration.bind_password, "chancery-connection-check")
            except InternalError as failure:
                raise Malformed(
                    f"the directory cannot be used: {failure.detail}; nothing was changed (--no-verify stores it anyway)"
                ) from None
        payload = {
            "url": configuration.url,
            "base_dn": configuration.base_dn,
            "bind_dn": configuration.bind_dn,
            "bind_password_sealed": settings.bind_password_sealed,
            "user_filter": configuration.user_filter,
            "start_tls": configuration.start_tls,
            "ca_certificates_pem": configuration.ca_certificates_pem,
            "group_map": list(configuration.group_map),
        }
        self._dual.guard(principal, "ldap.configure", payload, f"configure the LDAP directory {configuration.url}")
        return self._store(principal, settings)

    def apply_approved(self, principal: Principal, payload: dict[str, object]) -> LdapSettings:
        """Run an approved ``ldap.configure`` (the sealed password travels in the operation, never the clear one)."""
        mappings = tuple(parse_group_mapping(str(m)) for m in payload.get("group_map", []) or [])  # type: ignore[union-attr]
        settings = LdapSettings(
            url=str(payload["url"]),
            base_dn=str(payload["base_dn"]),
            bind_dn=str(payload["bind_dn"]),
            bind_password_sealed=str(payload["bind_password_sealed"]),
            user_filter=str(payload["user_filter"]),
            start_tls=bool(payload["start_tls"]),
            ca_certificates_pem=payload.get("ca_certificates_pem") or None,  # type: ignore[arg-type]
            group_mappings=mappings,
            updated_at=self._clock.now(),
            updated_by=principal.name,
        )
        return self._store(principal, settings)

    def current(self, principal: Principal) -> LdapSettings | None:
        require(principal, Permission.USER_READ)
        with self._tx.read() as uow:
            return uow.ldap.get()

    def check(self, principal: Principal, username: str) -> DirectoryCheck:
        """Look ``username`` up with the service account: the entry, its groups, the roles they map to."""
        require(principal, Permission.USER_READ)
        with self._tx.read() as uow:
            settings = uow.ldap.get()
        if settings is None:
            raise ConfigurationError("no LDAP directory configured; run `chancery ldap configure`")
        bind_password = self._secrets.open_secret(LDAP_BIND_LABEL, settings.bind_password_sealed).decode("utf-8")
        user = self._directory.lookup(settings, bind_password, username)
        groups = {dn_key(dn) for dn in user.groups} if user else set()
        grants = tuple(m.grant for m in settings.group_mappings if dn_key(m.group_dn) in groups)
        return DirectoryCheck(user=user, grants=grants)

    def _settings(self, principal: Principal, configuration: LdapConfiguration) -> LdapSettings:
        url = configuration.url.strip()
        if not url.lower().startswith(("ldap://", "ldaps://")) or len(url) > MAX_FIELD:
            raise Malformed("the LDAP URL must start with ldap:// or ldaps://")
        if url.lower().startswith("ldaps://") and configuration.start_tls:
            raise Malformed("StartTLS is for ldap:// URLs; ldaps:// is TLS already")
        if "{username}" not in configuration.user_filter or not configuration.user_filter.startswith("("):
            raise Malformed("the user filter must be an LDAP filter containing {username}, e.g. (uid={username})")
        for label, value in (("base DN", configuration.base_dn), ("bind DN", configuration.bind_dn)):
            if not value.strip() or "=" not in value or len(value) > MAX_FIELD:
                raise Malformed(f"the {label} must be a distinguished name such as dc=example,dc=com")
        if not configuration.bind_password:
            raise Malformed("the service account needs a password (an empty one is an anonymous bind)")
        pem = configuration.ca_certificates_pem
        if pem is not None and "-----BEGIN CERTIFICATE-----" not in pem:
            raise Malformed("the CA certificates must be PEM")
        return LdapSettings(
            url=url,
            base_dn=configuration.base_dn.strip(),
            bind_dn=configuration.bind_dn.strip(),
            bind_password_sealed=self._secrets.seal_secret(
                LDAP_BIND_LABEL, configuration.bind_password.encode("utf-8")
            ),
            user_filter=configuration.user_filter,
            start_tls=configuration.start_tls,
            ca_certificates_pem=pem,
            group_mappings=tuple(parse_group_mapping(m) for m in configuration.group_map),
            updated_at=self._clock.now(),
            updated_by=principal.name,
        )

    def _store(self, principal: Principal, settings: LdapSettings) -> LdapSettings:
        now = self._clock.now()

        def work(uow: UnitOfWork) -> None:
            uow.ldap.put(settings)
            details = {
                "url": settings.url,
                "base_dn": settings.base_dn,
                "bind_dn": settings.bind_dn,
                "start_tls": settings.start_tls,
                "group_map": [f"{m.group_dn}={m.grant}" for m in settings.group_mappings],
            }
            uow.audit.append([AuditEvent("ldap.configured", principal.name, details=details)], now)

        self._writer.run(work)
        return settings
