"""External account binding keys (RFC 8555 §7.3.4): created by an operator, sealed at rest,
bound to at most one account."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from chancery.clock import Clock
from chancery.domain.acme import DirectoryRecord, EabKeyRecord, b64url, b64url_decode, jwk_thumbprint
from chancery.domain.audit import AuditEvent
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.errors import CAError, Malformed, NotFound
from chancery.keys.base import SecretSealer
from chancery.services.acme.auditing import Refusals
from chancery.services.acme.directories import AcmeDirectories
from chancery.services.acme.errors import AccountUnauthorized, BadSignatureAlgorithm
from chancery.services.authorization import require
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork

_MACS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


@dataclass(frozen=True)
class NewEabKey:
    kid: str
    hmac_key: str  # base64url: shown once


def _label(kid: str) -> str:
    return f"acme-eab:{kid}"


class EabKeys:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        secrets_: SecretSealer,
        directories: AcmeDirectories,
        refusals: Refusals,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._secrets = secrets_
        self._directories = directories
        self._refusals = refusals

    def create(self, principal: Principal, directory: str) -> NewEabKey:
        record = self._directories.get(directory)
        ca = self._directories.ca_of(record)
        require(principal, Permission.ACME_MANAGE, ca, None, record.ra)
        kid = b64url(secrets.token_bytes(12))
        key = secrets.token_bytes(32)
        now = self._clock.now()
        sealed = self._secrets.seal_secret(_label(kid), key)

        def add(uow: UnitOfWork) -> None:
            uow.acme.add_eab_key(EabKeyRecord(kid, directory, sealed, now, principal.name))
            event = AuditEvent("acme.eab.created", principal.name, ca=ca, target=kid, details={"directory": directory})
            uow.audit.append([event], now)

        self._writer.run(add)
        return NewEabKey(kid, b64url(key))

    def list(self, principal: Principal, directory: str) -> tuple[EabKeyRecord, ...]:
        record = self._directories.get(directory)
        require(principal, Permission.ACME_MANAGE, self._directories.ca_of(record), None, record.ra)
        with self._tx.read() as uow:
            return uow.acme.list_eab_keys(directory)

    def revoke(self, principal: Principal, kid: str) -> EabKeyRecord:
        with self._tx.read() as uow:
            key = uow.acme.get_eab_key(kid)
        if key is None:
            raise NotFound(f"no EAB key {kid!r}")
        directory = self._directories.get(key.directory)
        ca = self._directories.ca_of(directory)
        require(principal, Permission.ACME_MANAGE, ca, None, directory.ra)
        now = self._clock.now()

        def revoke(uow: UnitOfWork) -> EabKeyRecord:
            if not uow.acme.revoke_eab_key(kid, now):
                raise NotFound(f"EAB key {kid!r} is revoked already")
            uow.audit.append([AuditEvent("acme.eab.revoked", principal.name, ca=ca, target=kid)], now)
            found = uow.acme.get_eab_key(kid)
            assert found is not None
            return found

        return self._writer.run(revoke)

    def check_binding(self, directory: DirectoryRecord, binding: Any, outer_jwk: dict[str, Any], url: str) -> str:
        """The kid of a valid binding of ``outer_jwk`` (RFC 8555 §7.3.4); binding it is the caller's
        transaction. Raises ``malformed`` / ``unauthorized`` (audited)."""
        try:
            return self._check(directory, binding, outer_jwk, url)
        except CAError as refused:
            details = {"directory": directory.name, "reason": refused.detail}
            kid = binding.get("kid") if isinstance(binding, dict) else None
            self._refusals.record("acme.eab.refused", f"acme:{directory.name}", str(kid or ""), details)
            raise

    def _check(self, directory: DirectoryRecord, binding: Any, outer_jwk: dict[str, Any], url: str) -> str:
        if not isinstance(binding, dict) or not all(
            isinstance(binding.get(k), str) for k in ("protected", "payload", "signature")
        ):
            raise Malformed("externalAccountBinding must be a flattened JWS")
        header = _json(b64url_decode(binding["protected"]), "the binding's protected header")
        algorithm = header.get("alg")
        if algorithm not in _MACS:
            raise BadSignatureAlgorithm(f"the binding must be MACed with one of {', '.join(_MACS)}")
        if "nonce" in header:
            raise Malformed("the binding's header must not carry a nonce (RFC 8555 §7.3.4)")
        if header.get("url") != url:
            raise Malformed("the binding's url must be the newAccount URL")
        kid = header.get("kid")
        with self._tx.read() as uow:
            key = uow.acme.get_eab_key(kid) if isinstance(kid, str) and len(kid) <= 64 else None
        if key is None or key.directory != directory.name or key.revoked_at is not None:
            raise AccountUnauthorized("unknown or revoked external account key")
        if key.account_id is not None:
            raise AccountUnauthorized("this external account key is bound to an account already")
        if jwk_thumbprint(_json(b64url_decode(binding["payload"]), "the binding's payload")) != jwk_thumbprint(
            outer_jwk
        ):
            raise AccountUnauthorized("the binding does not name this account's key")
        mac_key = self._secrets.open_secret(_label(key.kid), key.hmac_sealed)
        signing_input = f"{binding['protected']}.{binding['payload']}".encode("ascii")
        expected = hmac.new(mac_key, signing_input, _MACS[algorithm]).digest()
        if not hmac.compare_digest(expected, b64url_decode(binding["signature"])):
            raise AccountUnauthorized("the external account binding's MAC is wrong")
        return key.kid


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise Malformed(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Malformed(f"{what} is not a JSON object")
    return value
