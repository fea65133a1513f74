"""The ACME use cases, built once (by wiring) and reached through one object."""

from __future__ import annotations

from dataclasses import dataclass

from chancery.clock import Clock
from chancery.keys.base import SecretSealer
from chancery.services.acme.accounts import AcmeAccounts
from chancery.services.acme.auditing import Refusals
from chancery.services.acme.challenges import AcmeChallenges
from chancery.services.acme.directories import AcmeDirectories
from chancery.services.acme.eab import EabKeys
from chancery.services.acme.finalize import Finalizer
from chancery.services.acme.nonces import Nonces, RedeemingWriter
from chancery.services.acme.operators import AcmeOperators
from chancery.services.acme.orders import AcmeOrders
from chancery.services.acme.renewal_info import RenewalInfo
from chancery.services.acme.revocation import AcmeRevoker
from chancery.services.certificates import CertificateService
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork
from chancery.services.profiles.catalog import ProfileCatalog
from chancery.services.registration.delivery import RequestDelivery
from chancery.services.registration.intake import RequestIntake
from chancery.services.validation import ChallengeValidator


@dataclass(frozen=True)
class AcmeDependencies:
    transactions: Transactions
    writer: DurableWriter
    clock: Clock
    secrets: SecretSealer
    validator: ChallengeValidator
    intake: RequestIntake
    delivery: RequestDelivery
    certificates: CertificateService
    profiles: ProfileCatalog


class AcmeService:
    def __init__(self, deps: AcmeDependencies) -> None:
        tx, clock = deps.transactions, deps.clock
        writer = RedeemingWriter(deps.writer)  # a signed request's first write also records its nonce
        self._writer = deps.writer
        self._clock = clock
        self.refusals = Refusals(writer, clock)
        self.directories = AcmeDirectories(tx, writer, clock, deps.profiles)
        self.nonces = Nonces(tx, deps.writer, clock, deps.secrets)
        self.eab = EabKeys(tx, writer, clock, deps.secrets, self.directories, self.refusals)
        self.accounts = AcmeAccounts(tx, writer, clock, self.directories, self.eab)
        self.renewal_info = RenewalInfo(tx, clock, self.directories)
        self.orders = AcmeOrders(tx, writer, clock, self.directories, self.renewal_info)
        self.challenges = AcmeChallenges(tx, writer, clock, self.directories, deps.validator, self.refusals)
        self.finalizer = Finalizer(tx, writer, clock, self.directories, self.orders, deps.intake, deps.delivery)
        self.revoker = AcmeRevoker(tx, self.directories, deps.certificates, self.refusals)
        self.operators = AcmeOperators(tx, writer, clock, self.directories, self.revoker)
        self._validator = deps.validator

    def expire_due(self) -> int:
        """Sweep used nonces, pending authorizations and orders past their expiry (maintenance loop)."""
        now = self._clock.now()

        def sweep(uow: UnitOfWork) -> int:
            return uow.acme.sweep_nonces(now) + uow.acme.expire_authzs(now) + uow.acme.expire_orders(now)

        return self._writer.run(sweep)

    def close(self) -> None:
        self._validator.close(cancel_pending=True)
