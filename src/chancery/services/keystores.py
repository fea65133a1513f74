"""Configuring where CA keys may live (``chancery keys ...``): the PKCS#11 token, and what is in it.

Configuring the token logs in once (proving module, token and PIN) before anything is stored;
the configuration names where the PIN comes from, never the PIN. It is a sensitive operation
(dual control where configured) and audited.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.keystores import (
    HsmKeyRecord,
    PinKind,
    PinSource,
    Pkcs11Config,
    Pkcs11Settings,
    TokenInfo,
)
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.errors import CAError
from chancery.services.approvals import DualControl
from chancery.services.authorization import require
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork

OPERATION = "keys.configure-pkcs11"


class TokenAccess(Protocol):
    """The PKCS#11 side: log in to a token to check a configuration, describe the configured one."""

    def probe(self, config: Pkcs11Config) -> TokenInfo: ...

    def token_info(self) -> TokenInfo: ...

    def reconfigured(self) -> None: ...


@dataclass(frozen=True)
class HsmKeyUse:
    """A key in the token and the CA that uses it (``None``: no CA, e.g. an EMV key)."""

    key: HsmKeyRecord
    ca: str | None


@dataclass(frozen=True)
class KeyStoreReport:
    """What ``chancery keys show`` prints."""

    pkcs11: Pkcs11Settings | None
    token: TokenInfo | None
    token_problem: str | None
    keys: tuple[HsmKeyUse, ...]


class KeyStoreService:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        token: TokenAccess,
        dual_control: DualControl,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._token = token
        self._dual = dual_control

    def configure_pkcs11(self, principal: Principal, config: Pkcs11Config) -> TokenInfo:
        """Check ``config`` by logging in, then store it: new CA keys may go to this token."""
        require(principal, Permission.CA_MANAGE)
        summary = f"use {config.describe_token()} of {config.module} for CA keys (PIN from {config.pin.describe()})"
        self._dual.guard(principal, OPERATION, config_payload(config), summary)
        info = self._token.probe(config)
        now = self._clock.now()
        details = {
            "module": config.module,
            "token_label": info.label,
            "token_serial": info.serial,
            "slot": config.slot,
            "pin_source": config.pin.kind.value,
            "pin_reference": config.pin.reference,
        }

        def save(uow: UnitOfWork) -> None:
            uow.key_stores.put_pkcs11(Pkcs11Settings(config, now, principal.name))
            uow.audit.append([AuditEvent("keys.pkcs11-configured", principal.name, details=details)], now)

        self._writer.run(save)
        self._token.reconfigured()
        return info

    def check_in_use(self) -> None:
        """Log in to the token now when a key Chancery uses is there (a server fails at start-up on a
        wrong PIN or a missing token, not at its first signature)."""
        with self._tx.read() as uow:
            configured = uow.key_stores.get_pkcs11() is not None and bool(uow.key_stores.hsm_keys())
        if configured:
            self._token.token_info()

    def report(self, principal: Principal, check_token: bool = True) -> KeyStoreReport:
        """The configuration, the token (when ``check_token``: this logs in) and the keys used there."""
        require(principal, Permission.CA_READ)
        with self._tx.read() as uow:
            settings = uow.key_stores.get_pkcs11()
            keys = uow.key_stores.hsm_keys()
            users = {ca.key_id: ca.name for ca in uow.authorities.list()}
        token, problem = None, None
        if settings is not None and check_token:
            try:
                token = self._token.token_info()
            except CAError as exc:
                problem = exc.detail
        uses = tuple(HsmKeyUse(key, users.get(key.key_id)) for key in keys)
        return KeyStoreReport(settings, token, problem, uses)


def config_payload(config: Pkcs11Config) -> dict[str, object]:
    """A configuration as a dual-control operation keeps it (:func:`config_from` reads it back)."""
    return {**asdict(config), "pin": {"kind": config.pin.kind.value, "reference": config.pin.reference}}


def config_from(payload: dict[str, object]) -> Pkcs11Config:
    pin = payload["pin"]
    assert isinstance(pin, dict)
    slot = payload.get("slot")
    return Pkcs11Config(
        module=str(payload["module"]),
        pin=PinSource(PinKind(str(pin["kind"])), str(pin["reference"])),
        token_label=None if payload.get("token_label") is None else str(payload["token_label"]),
        slot=None if slot is None else int(str(slot)),
    )
