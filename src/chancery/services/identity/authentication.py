"""Logging in: local passwords (Argon2id, lockout, optional TOTP), the LDAP directory, client certificates.

Every attempt is audited, successful or not, with the reason a failure had;
the caller only ever hears "login failed" (what failed is for the audit log,
not for whoever is guessing). A wrong password costs the same whether the
user exists or not.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import unicodedata
from dataclasses import dataclass, replace
from typing import NoReturn

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent, Outcome
from chancery.domain.identity import LdapSettings, UserRecord, UserSource
from chancery.domain.principals import Principal
from chancery.errors import Unauthorized
from chancery.keys.base import SecretSealer
from chancery.pki.names import format_name
from chancery.pki.sans import format_san
from chancery.services.identity import totp
from chancery.services.identity.directory import Directory
from chancery.services.identity.passwords import MAX_LENGTH, Passwords
from chancery.services.identity.principals import principal_for
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork

LOCKOUT_THRESHOLD_POLICY = "lockout.threshold"
LOCKOUT_MINUTES_POLICY = "lockout.minutes"
DEFAULT_LOCKOUT_THRESHOLD = 5
DEFAULT_LOCKOUT_MINUTES = 15
LDAP_BIND_LABEL = "ldap-bind"
_FAILED = "login failed: wrong user name, password or one-time code, or the account is locked"


@dataclass(frozen=True)
class Login:
    """A user who proved who they are, and the principal it acts as now."""

    user: UserRecord
    principal: Principal


class SecondFactorRequired(Unauthorized):
    """The password was right; a one-time code must come with it."""


class Authenticator:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        passwords: Passwords,
        secrets: SecretSealer,
        directory: Directory | None = None,
        cache_seconds: float = 5.0,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._passwords = passwords
        self._secrets = secrets
        self._directory = directory
        self._cache_seconds = cache_seconds
        self._certificates: dict[bytes, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def password_login(self, username: str, password: str, code: str | None = None, source: str = "") -> Login:
        """Check a user name and password (and a TOTP code when the user has one)."""
        now = self._clock.now()
        if not username or len(username) > 128 or len(password) > MAX_LENGTH or (code is not None and len(code) > 10):
            self._refuse(_storable(username[:128]), "malformed request", source, now)
        if _storable(username) != username or _storable(password) != password:
            # NUL or a lone surrogate: no user has one, and the database cannot store one (a 500 otherwise)
            self._refuse(_storable(username), "unstorable characters in the user name or password", source, now)
        with self._tx.read() as uow:
            user = uow.users.get(username)
            settings = uow.ldap.get()
        if user is not None and user.source is UserSource.LOCAL:
            return self._local(user, password, code, source, now)
        if settings is not None and self._directory is not None:
            return self._from_directory(settings, directory_account_name(username), password, source, now)
        self._passwords.verify(None, password)  # as long as a real check
        self._refuse(username, "unknown user", source, now)

    def certificate_login(self, certificate: x509.Certificate, source: str = "") -> Login:
        """The user a TLS client certificate (already verified by the TLS layer) is mapped to."""
        now = self._clock.now()
        candidates = [f"subject:{format_name(certificate.subject)}"]
        try:
            names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            candidates += [f"san:{format_san(name)}" for name in names]
        except x509.ExtensionNotFound:
            pass
        subject = _storable(candidates[0][len("subject:") :])
        candidates = [c for c in candidates if _storable(c) == c]  # a NUL in a name matches no mapping
        with self._tx.read() as uow:
            user = next((u for u in (uow.users.by_certificate(c) for c in candidates) if u is not None), None)
        if user is None:
            self._refuse(subject[:128], "certificate matches no user", source, now, method="certificate")
        if user.disabled:
            self._refuse(user.name, "user disabled", source, now, method="certificate")
        return self._succeed(
            user, source, now, "certificate", {"certificate_serial": format(certificate.serial_number, "x")}
        )

    def certificate_principal(self, certificate: x509.Certificate, source: str = "") -> Principal:
        """:meth:`certificate_login` for a request: the answer is reused for ``cache_seconds``,
        so a client sending many requests over TLS is not one audited login per request."""
        fingerprint = certificate.fingerprint(hashes.SHA256())
        moment = time.monotonic()
        with self._lock:
            cached = self._certificates.get(fingerprint)
        if cached is not None and moment - cached[0] < self._cache_seconds:
            return cached[1]
        principal = self.certificate_login(certificate, source).principal
        with self._lock:
            if len(self._certificates) >= 10_000:
                self._certificates.clear()
            self._certificates[fingerprint] = (moment, principal)
        return principal

    def forget_cached(self) -> None:
        """Drop the cached certificate logins (users, groups or grants changed)."""
        with self._lock:
            self._certificates.clear()

    # -- local users -------------------------------------------------------------------------

    def _local(self, user: UserRecord, password: str, code: str | None, source: str, now: dt.datetime) -> Login:
        correct = self._passwords.verify(user.password_hash, password)
        if user.disabled:
            self._refuse(user.name, "user disabled", source, now)
        if user.locked_at(now):
            self._refuse(user.name, "account locked", source, now)
        if not correct:
            self._count_failure(user.name, "wrong password", source, now)
        if user.totp_sealed is not None:
            self._second_factor(user, code, source, now)
        if user.password_hash is not None and self._passwords.needs_rehash(user.password_hash):
            new_hash = self._passwords.hash(password)

            def rehash(uow: UnitOfWork) -> None:
                # Change the hash only: ``user`` was read before this login used a TOTP step.
                current = uow.users.get(user.name)
                if current is not None:
                    uow.users.save(replace(current, password_hash=new_hash))

            self._writer.run(rehash)
        return self._succeed(user, source, now, "password")

    def _second_factor(self, user: UserRecord, code: str | None, source: str, now: dt.datetime) -> None:
        if code is None or not code.strip():
            self._audit(
                AuditEvent(
                    "login.failed",
                    user.name,
                    Outcome.FAILURE,
                    target=user.name,
                    details={"reason": "one-time code required", "source": source},
                ),
                now,
            )
            raise SecondFactorRequired("a one-time code (TOTP) is required")
        assert user.totp_sealed is not None
        secret = self._secrets.open_secret(f"totp:{user.name}", user.totp_sealed)
        step = totp.matching_step(secret, code.strip(), now.timestamp())

        def use(uow: UnitOfWork) -> bool:
            return step is not None and uow.users.use_totp_step(user.name, step)

        if not self._writer.run(use):
            self._count_failure(user.name, "wrong or reused one-time code", source, now)

    # -- the directory -----------------------------------------------------------------------

    def _from_directory(
        self, settings: LdapSettings, username: str, password: str, source: str, now: dt.datetime
    ) -> Login:
        with self._tx.read() as uow:
            user = uow.users.get(username) if username else None
        if not username or (user is not None and user.source is not UserSource.LDAP):
            # "Alice" for local user "alice": the name is taken, the directory's entry does not get it
            self._passwords.verify(None, password)  # as long as a real check
            self._refuse(username or "-", "not a directory user name", source, now, method="ldap")
        if user is not None and (user.disabled or user.locked_at(now)):
            self._refuse(user.name, "user disabled" if user.disabled else "account locked", source, now, method="ldap")
        assert self._directory is not None
        bind_password = self._secrets.open_secret(LDAP_BIND_LABEL, settings.bind_password_sealed).decode("utf-8")
        found = self._directory.authenticate(settings, bind_password, username, password)
        if found is None:
            if user is not None:
                self._count_failure(user.name, "directory refused the password", source, now, method="ldap")
            self._refuse(username, "unknown user or wrong password (directory)", source, now, method="ldap")

        def upsert(uow: UnitOfWork) -> UserRecord:
            current = uow.users.get(username)
            if current is None:
                current = UserRecord(username, UserSource.LDAP, now, display_name=found.display_name[:200])
                uow.users.add(current)
                uow.audit.append([AuditEvent("user.created", "ldap", target=username, details={"dn": found.dn})], now)
            return replace(current, directory_groups=found.groups)

        user = self._writer.run(upsert)
        return self._succeed(user, source, now, "ldap", {"dn": found.dn, "groups": list(found.groups)})

    # -- outcomes ----------------------------------------------------------------------------

    def _succeed(
        self, user: UserRecord, source: str, now: dt.datetime, method: str, extra: dict[str, object] | None = None
    ) -> Login:
        def work(uow: UnitOfWork) -> Login:
            uow.users.record_success(user.name, now, user.directory_groups if user.source is UserSource.LDAP else None)
            fresh = uow.users.get(user.name)
            assert fresh is not None
            details = {"method": method, "source": source, **(extra or {})}
            uow.audit.append([AuditEvent("login.succeeded", user.name, target=user.name, details=details)], now)
            return Login(user=fresh, principal=principal_for(uow, fresh))

        return self._writer.run(work)

    def _count_failure(
        self, name: str, reason: str, source: str, now: dt.datetime, method: str = "password"
    ) -> NoReturn:
        """One more failed attempt on an existing account; lock it at the threshold. Always raises."""

        def work(uow: UnitOfWork) -> None:
            threshold = int(uow.policies.get(LOCKOUT_THRESHOLD_POLICY) or DEFAULT_LOCKOUT_THRESHOLD)
            minutes = int(uow.policies.get(LOCKOUT_MINUTES_POLICY) or DEFAULT_LOCKOUT_MINUTES)
            until = now + dt.timedelta(minutes=minutes)
            count = uow.users.record_failure(name, until if threshold > 0 else None, threshold)
            details = {"reason": reason, "source": source, "method": method, "failures": count}
            events = [AuditEvent("login.failed", name, Outcome.FAILURE, target=name, details=details)]
            if threshold > 0 and count >= threshold:  # locked again by a failure after a lock ran out
                events.append(
                    AuditEvent(
                        "account.locked",
                        name,
                        Outcome.SUCCESS,
                        target=name,
                        details={"until": until.isoformat(), "failures": count},
                    )
                )
            uow.audit.append(events, now)

        self._writer.run(work)
        raise Unauthorized(_FAILED)

    def _refuse(self, name: str, reason: str, source: str, now: dt.datetime, method: str = "password") -> NoReturn:
        details = {"reason": reason, "source": source, "method": method}
        self._audit(AuditEvent("login.failed", name or "-", Outcome.FAILURE, target=name or "-", details=details), now)
        raise Unauthorized(_FAILED)

    def _audit(self, event: AuditEvent, now: dt.datetime) -> None:
        self._writer.run(lambda uow: uow.audit.append([event], now))


def _storable(text: str) -> str:
    """``text`` with what neither UTF-8 nor PostgreSQL text can hold (lone surrogates, NUL) escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def directory_account_name(username: str) -> str:
    """The one Chancery account every spelling of a directory user name logs in to.

    Directories compare login names (``uid``, ``sAMAccountName``, ``mail``) with caseIgnoreMatch, which
    prepares both sides as RFC 4518 §2 says: case folded, NFKC, spaces at either end dropped and inner
    runs squeezed. ``ALICE`` and `` alice`` find alice's entry; they must find alice's account too (her
    disabled flag, her lockout count, her name in the audit trail), not make a fresh one.
    """
    return " ".join(unicodedata.normalize("NFKC", username.casefold()).split())
