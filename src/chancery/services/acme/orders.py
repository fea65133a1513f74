"""New orders (RFC 8555 §7.4) with the directory's identifier policy, authorization reuse,
``replaces`` (RFC 9773 §5) and rate limits; reading an order brings its status up to date."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any

from chancery.clock import Clock
from chancery.domain.acme import (
    MAX_IDENTIFIERS,
    AccountRecord,
    AuthzRecord,
    AuthzStatus,
    ChallengeRecord,
    ChallengeStatus,
    DirectoryRecord,
    Identifier,
    OrderRecord,
    OrderStatus,
    b64url,
    new_id,
    parse_identifier,
)
from chancery.domain.audit import AuditEvent
from chancery.errors import Malformed, NotFound, RejectedIdentifier, SubError
from chancery.services.acme.directories import AcmeDirectories
from chancery.services.acme.errors import AccountUnauthorized, UnsupportedIdentifier
from chancery.services.acme.limits import check_new_order
from chancery.services.acme.renewal_info import RenewalInfo
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork

ORDER_LIFETIME = dt.timedelta(days=7)
PENDING_AUTHZ_LIFETIME = dt.timedelta(days=7)
_BROKEN = (AuthzStatus.INVALID, AuthzStatus.DEACTIVATED, AuthzStatus.EXPIRED, AuthzStatus.REVOKED)

Poller = Callable[[OrderRecord], OrderRecord]


def actor(account: AccountRecord) -> str:
    return f"acme:{account.directory}/{account.account_id}"


class AcmeOrders:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        directories: AcmeDirectories,
        renewal_info: RenewalInfo,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._directories = directories
        self._renewal_info = renewal_info
        self.poll_processing: Poller = lambda order: order  # set by the finalizer

    def new_order(self, account: AccountRecord, payload: dict[str, Any]) -> OrderRecord:
        directory = self._directories.get(account.directory)
        identifiers = self._identifiers(directory, payload.get("identifiers"))
        if payload.get("notBefore") is not None or payload.get("notAfter") is not None:
            raise Malformed("this server does not take notBefore or notAfter; the directory sets the validity")
        replaces = self._replaces(account, payload.get("replaces"))
        now = self._clock.now()

        def add(uow: UnitOfWork) -> OrderRecord:
            check_new_order(uow, account.account_id, directory.policy, now)
            authz_ids = tuple(self._authz_for(uow, directory, account, identifier, now) for identifier in identifiers)
            authzs = uow.acme.authzs(authz_ids)
            ready = all(a.status is AuthzStatus.VALID for a in authzs)
            order = OrderRecord(
                order_id=new_id(),
                account_id=account.account_id,
                directory=directory.name,
                status=OrderStatus.READY if ready else OrderStatus.PENDING,
                identifiers=identifiers,
                authz_ids=authz_ids,
                created_at=now,
                expires_at=now + ORDER_LIFETIME,
                replaces=replaces,
            )
            uow.acme.add_order(order)
            details = {"identifiers": [i.value for i in identifiers], "replaces": replaces}
            uow.audit.append(
                [AuditEvent("acme.order.created", actor(account), target=order.order_id, details=details)], now
            )
            return order

        return self._writer.run(add)

    def get(self, account: AccountRecord, order_id: str) -> OrderRecord:
        """The account's order, its status brought up to date (RFC 8555 §7.1.6)."""
        with self._tx.read() as uow:
            order = uow.acme.get_order(order_id)
        if order is None or order.directory != account.directory:
            raise NotFound("no such order")
        if order.account_id != account.account_id:
            raise AccountUnauthorized("this order belongs to another account")
        return self.refresh(order)

    def of_account(self, account: AccountRecord) -> tuple[OrderRecord, ...]:
        """RFC 8555 §7.1.2.1: the account's orders that are not finished."""
        with self._tx.read() as uow:
            listed = uow.acme.orders_of(account.account_id)
        return tuple(o for o in listed if o.status is not OrderStatus.INVALID)

    def refresh(self, order: OrderRecord) -> OrderRecord:
        if order.status is OrderStatus.PROCESSING:
            return self.poll_processing(order)
        if order.status is not OrderStatus.PENDING:
            return order
        now = self._clock.now()
        with self._tx.read() as uow:
            authzs = uow.acme.authzs(order.authz_ids)
        if order.expires_at <= now or any(a.status in _BROKEN or a.expires_at <= now for a in authzs):
            to, error = (
                OrderStatus.INVALID,
                '{"type": "urn:ietf:params:acme:error:unauthorized", "detail": "an authorization failed or expired"}',
            )
        elif all(a.status is AuthzStatus.VALID for a in authzs):
            to, error = OrderStatus.READY, None
        else:
            return order
        self._writer.run(lambda uow: uow.acme.move_order(order.order_id, OrderStatus.PENDING, to, error=error))
        with self._tx.read() as uow:
            updated = uow.acme.get_order(order.order_id)
        assert updated is not None
        return updated

    def _identifiers(self, directory: DirectoryRecord, raw: Any) -> tuple[Identifier, ...]:
        if not isinstance(raw, list) or not raw:
            raise Malformed("an order names one or more identifiers")
        if len(raw) > MAX_IDENTIFIERS:
            raise RejectedIdentifier(f"at most {MAX_IDENTIFIERS} identifiers per order")
        parsed: list[Identifier] = []
        problems: list[SubError] = []
        policy = directory.policy
        for item in raw:
            if not isinstance(item, dict):
                raise Malformed("an identifier is an object {type, value}")
            identifier = parse_identifier(item.get("type"), item.get("value"))
            if identifier.type not in policy.identifier_types:
                raise UnsupportedIdentifier(f"this directory does not take {identifier.type} identifiers")
            why = _refusal(directory, identifier)
            if why:
                problems.append(SubError(f"{identifier.type}:{identifier.value}", why))
            if identifier not in parsed:
                parsed.append(identifier)
        if problems:  # RFC 8555 §6.7.1: one subproblem per refused identifier
            raise RejectedIdentifier("the directory's policy refuses some identifiers", sub_errors=tuple(problems))
        return tuple(parsed)

    def _replaces(self, account: AccountRecord, cert_id: Any) -> str | None:
        """RFC 9773 §5: the replaced certificate is the account's and not replaced already."""
        if cert_id is None:
            return None
        record = self._renewal_info.certificate(account.directory, cert_id)
        with self._tx.read() as uow:
            issued_by = uow.acme.order_for_certificate(record.ca_name, record.serial.hex)
            already = uow.acme.replacing(str(cert_id))
        if issued_by is None or issued_by.account_id != account.account_id:
            raise AccountUnauthorized("the certificate to replace was not issued to this account")
        if already:
            raise Malformed("that certificate has been replaced already (RFC 9773 §5)")
        return str(cert_id)

    def _authz_for(
        self,
        uow: UnitOfWork,
        directory: DirectoryRecord,
        account: AccountRecord,
        identifier: Identifier,
        now: dt.datetime,
    ) -> str:
        base = Identifier(identifier.type, identifier.base)
        if directory.policy.authz_reuse_days > 0:
            reused = uow.acme.reusable_authz(account.account_id, base, identifier.wildcard, now)
            if reused is not None:
                return reused.authz_id
        authz_id = new_id()
        types = _challenge_types(directory, identifier)
        challenges = tuple(
            ChallengeRecord(new_id(), authz_id, kind, b64url(secrets.token_bytes(32)), ChallengeStatus.PENDING)
            for kind in types
        )
        authz = AuthzRecord(
            authz_id=authz_id,
            account_id=account.account_id,
            directory=directory.name,
            identifier=base,
            wildcard=identifier.wildcard,
            status=AuthzStatus.PENDING,
            created_at=now,
            expires_at=now + PENDING_AUTHZ_LIFETIME,
            challenges=challenges,
        )
        uow.acme.add_authz(authz)
        return authz_id


def _challenge_types(directory: DirectoryRecord, identifier: Identifier) -> tuple[str, ...]:
    enabled = directory.policy.challenges
    if identifier.wildcard:  # RFC 8555 §7.1.3: wildcards are proven over DNS only
        return tuple(t for t in enabled if t == "dns-01")
    if identifier.type == "ip":  # RFC 8738 §7: no dns-01 for IP addresses
        return tuple(t for t in enabled if t != "dns-01")
    return enabled


def _refusal(directory: DirectoryRecord, identifier: Identifier) -> str:
    policy = directory.policy
    if identifier.wildcard and not policy.wildcards:
        return "this directory does not issue wildcard certificates"
    if not _challenge_types(directory, identifier):
        return "no challenge type this directory offers can prove this identifier"
    if identifier.type == "dns" and not policy.domain_allowed(identifier.base):
        return "the directory's policy does not allow this name"
    return ""
