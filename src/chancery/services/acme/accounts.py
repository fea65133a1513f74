"""ACME accounts (RFC 8555 §7.3): creation with external account binding, lookup by key,
contact updates, deactivation and key rollover."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from chancery.clock import Clock
from chancery.domain.acme import MAX_CONTACTS, AccountRecord, AccountStatus, DirectoryRecord, jwk_thumbprint, new_id
from chancery.domain.audit import AuditEvent
from chancery.errors import Malformed
from chancery.services.acme.directories import AcmeDirectories
from chancery.services.acme.eab import EabKeys
from chancery.services.acme.errors import (
    AccountDoesNotExist,
    AccountUnauthorized,
    AcmeConflict,
    ExternalAccountRequired,
    InvalidContact,
    UnsupportedContact,
)
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork

_MAILTO = re.compile(r"^mailto:[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


@dataclass(frozen=True)
class SignedKey:
    """A public key the protocol edge verified a JWS with: its JWK (public members, canonical JSON
    text) and RFC 7638 thumbprint."""

    jwk: str
    thumbprint: str

    @property
    def members(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.jwk)
        return value


@dataclass(frozen=True)
class NewAccount:
    directory: str
    key: SignedKey
    url: str  # the newAccount URL, which an external account binding must name
    payload: dict[str, Any]


@dataclass(frozen=True)
class KeyChange:
    account: AccountRecord
    account_url: str
    new_key: SignedKey
    inner_payload: dict[str, Any]


def check_contacts(value: Any) -> tuple[str, ...]:
    """``mailto:`` contacts only (RFC 8555 §7.3): invalidContact / unsupportedContact."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise Malformed("contact must be an array of URLs")
    if len(value) > MAX_CONTACTS:
        raise InvalidContact(f"at most {MAX_CONTACTS} contacts")
    for contact in value:
        if not contact.startswith("mailto:"):
            raise UnsupportedContact(f"only mailto: contacts are supported, not {contact[:40]!r}")
        if not _MAILTO.fullmatch(contact):
            raise InvalidContact(f"{contact[:80]!r} is not a single e-mail address")
    return tuple(value)


class AcmeAccounts:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        directories: AcmeDirectories,
        eab: EabKeys,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._directories = directories
        self._eab = eab

    def by_key(self, directory: str, thumbprint: str) -> AccountRecord | None:
        with self._tx.read() as uow:
            return uow.acme.account_by_thumbprint(directory, thumbprint)

    def by_id(self, directory: str, account_id: str) -> AccountRecord:
        """The account a ``kid`` names, if it may act (RFC 8555 §6.2, §7.3.6)."""
        with self._tx.read() as uow:
            account = uow.acme.get_account(account_id)
        if account is None or account.directory != directory:
            raise AccountDoesNotExist("no such account")
        if account.status is not AccountStatus.VALID:
            raise AccountUnauthorized(f"the account is {account.status.value}")
        return account

    def new_account(self, request: NewAccount) -> tuple[AccountRecord, bool]:
        """RFC 8555 §7.3: the account (new, or the existing one for this key) and whether it is new."""
        directory = self._directories.get(request.directory)
        existing = self.by_key(directory.name, request.key.thumbprint)
        if existing is not None:
            if existing.status is not AccountStatus.VALID:
                raise AccountUnauthorized(f"the account of this key is {existing.status.value}")
            return existing, False
        payload = request.payload
        if payload.get("onlyReturnExisting") is True:
            raise AccountDoesNotExist("no account exists for this key")
        contact = check_contacts(payload.get("contact"))
        if directory.policy.terms_of_service and payload.get("termsOfServiceAgreed") is not True:
            raise Malformed("the terms of service must be agreed to (termsOfServiceAgreed)")
        binding = payload.get("externalAccountBinding")
        if binding is None and directory.policy.require_eab:
            raise ExternalAccountRequired("this directory requires an external account binding")
        kid = None if binding is None else self._eab.check_binding(directory, binding, request.key.members, request.url)
        return self._create(directory, request.key, contact, kid), True

    def _create(
        self, directory: DirectoryRecord, key: SignedKey, contact: tuple[str, ...], kid: str | None
    ) -> AccountRecord:
        now = self._clock.now()
        account = AccountRecord(
            new_id(), directory.name, key.thumbprint, key.jwk, AccountStatus.VALID, contact, now, kid
        )

        def add(uow: UnitOfWork) -> AccountRecord:
            raced = uow.acme.account_by_thumbprint(directory.name, key.thumbprint)
            if raced is not None:
                return raced
            if kid is not None and not uow.acme.bind_eab_key(kid, account.account_id, now):
                raise AccountUnauthorized("this external account key is bound to an account already")
            uow.acme.add_account(account)
            details = {
                "directory": directory.name,
                "thumbprint": key.thumbprint,
                "eab_kid": kid,
                "contact": list(contact),
            }
            uow.audit.append(
                [AuditEvent("acme.account.created", _actor(account), target=account.account_id, details=details)], now
            )
            return account

        return self._writer.run(add)

    def update(self, account: AccountRecord, payload: dict[str, Any]) -> AccountRecord:
        """Contact changes and deactivation (RFC 8555 §7.3.2, §7.3.6)."""
        status = payload.get("status")
        if status is not None and status != AccountStatus.DEACTIVATED.value:
            raise Malformed("a client may only set its account's status to deactivated")
        contact = check_contacts(payload["contact"]) if "contact" in payload else None
        if status is None and contact is None:
            return account
        now = self._clock.now()
        changes: dict[str, Any] = {}
        if contact is not None:
            changes["contact"] = contact
        if status is not None:
            changes["status"] = AccountStatus.DEACTIVATED

        def save(uow: UnitOfWork) -> AccountRecord:
            uow.acme.update_account(account.account_id, **changes)
            action = "acme.account.deactivated" if status else "acme.account.updated"
            details = {"contact": list(contact)} if contact is not None else {}
            uow.audit.append([AuditEvent(action, _actor(account), target=account.account_id, details=details)], now)
            return replace(account, **changes)

        return self._writer.run(save)

    def change_key(self, change: KeyChange) -> AccountRecord:
        """RFC 8555 §7.3.5: the inner payload names this account and its current key."""
        inner = change.inner_payload
        if inner.get("account") != change.account_url:
            raise Malformed("the key change names another account")
        if jwk_thumbprint(inner.get("oldKey")) != change.account.thumbprint:
            raise Malformed("oldKey is not the account's current key")
        now = self._clock.now()
        account = change.account

        def save(uow: UnitOfWork) -> AccountRecord:
            if uow.acme.account_by_thumbprint(account.directory, change.new_key.thumbprint) is not None:
                raise AcmeConflict("another account uses the new key")
            uow.acme.update_account(account.account_id, jwk=change.new_key.jwk, thumbprint=change.new_key.thumbprint)
            details = {"old": account.thumbprint, "new": change.new_key.thumbprint}
            uow.audit.append(
                [AuditEvent("acme.account.key-changed", _actor(account), target=account.account_id, details=details)],
                now,
            )
            return replace(account, jwk=change.new_key.jwk, thumbprint=change.new_key.thumbprint)

        return self._writer.run(save)


def _actor(account: AccountRecord) -> str:
    return f"acme:{account.directory}/{account.account_id}"
