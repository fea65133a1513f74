"""How each CA publishes revocation information."""

from __future__ import annotations

import time

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.domain.revocation_records import RevocationSettings
from chancery.errors import Conflict, NotFound
from chancery.services.authority.signers import SignerDirectory
from chancery.services.authorization import require
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork


class RevocationSettingsService:
    """Settings are read on every OCSP answer and CRL fetch, so each node keeps them for
    ``cache_seconds``; changes made on a node apply there at once."""

    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        signers: SignerDirectory,
        clock: Clock,
        cache_seconds: float = 2.0,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._signers = signers
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, RevocationSettings]] = {}

    def get(self, principal: Principal, ca: str) -> RevocationSettings:
        require(principal, Permission.CA_READ, ca)
        return self.effective(ca)

    def effective(self, ca: str) -> RevocationSettings:
        """The CA's settings, or the defaults when none were set."""
        hit = self._cache.get(ca)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        with self._tx.read() as uow:
            if uow.authorities.get(ca) is None:
                raise NotFound(f"no CA named {ca!r}")
            settings = uow.revocation_settings.get(ca) or RevocationSettings(ca_name=ca)
        self._cache[ca] = (time.monotonic() + self._cache_seconds, settings)
        return settings

    def configure(self, principal: Principal, settings: RevocationSettings) -> RevocationSettings:
        """Store new settings. Partitions can grow but never shrink: certificates already
        name their partition's distribution point, which must keep being published."""
        require(principal, Permission.CA_MANAGE, settings.ca_name)

        def put(uow: UnitOfWork) -> None:
            if uow.authorities.get(settings.ca_name) is None:
                raise NotFound(f"no CA named {settings.ca_name!r}")
            current = uow.revocation_settings.get(settings.ca_name)
            if current is not None and settings.partitions < current.partitions:
                raise Conflict(
                    f"CA {settings.ca_name!r} publishes {current.partitions} CRL partitions; they cannot be reduced"
                )
            uow.revocation_settings.put(settings)
            details = {
                "crl_validity": settings.crl_validity,
                "delta_validity": settings.delta_validity,
                "partitions": settings.partitions,
                "ocsp_validity": settings.ocsp_validity,
                "ocsp_signing": settings.ocsp_signing.value,
            }
            uow.audit.append(
                [AuditEvent("revocation-settings.changed", principal.name, ca=settings.ca_name, details=details)],
                self._clock.now(),
            )

        self._writer.run(put)
        self._cache.pop(settings.ca_name, None)
        self._signers.forget(settings.ca_name)  # new certificates pick their partition from these
        return settings
