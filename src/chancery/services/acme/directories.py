"""ACME directories: each is bound to an RA and one of its profiles, with its own policy."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from chancery.clock import Clock
from chancery.domain.acme import DirectoryPolicy, DirectoryRecord, check_directory_name
from chancery.domain.audit import AuditEvent
from chancery.domain.permissions import Permission
from chancery.domain.principals import Grant, Principal, Role
from chancery.errors import Conflict, Malformed, NotFound
from chancery.services.authorization import allows, require
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork
from chancery.services.profiles.catalog import ProfileCatalog


@dataclass(frozen=True)
class NewDirectory:
    name: str
    ra: str
    profile: str | None = None  # None: the RA's first profile
    policy: DirectoryPolicy = DirectoryPolicy()


def submitter(directory: DirectoryRecord, ca: str) -> Principal:
    """Who the RA sees submitting an ACME order's CSR: a requester on this RA only."""
    grant = Grant(Role.REQUESTER, ca=ca, ra=directory.ra)
    return Principal(name=f"acme:{directory.name}", grants=frozenset({grant}), kind="system")


def revoker(directory: DirectoryRecord, ca: str) -> Principal:
    """Who the CA sees revoking for an ACME client (RFC 8555 §7.6): the directory's CA and profile only."""
    grant = Grant(Role.RA_OFFICER, ca=ca, profile=directory.profile)
    return Principal(name=f"acme:{directory.name}", grants=frozenset({grant}), kind="system")


class AcmeDirectories:
    def __init__(
        self, transactions: Transactions, writer: DurableWriter, clock: Clock, profiles: ProfileCatalog
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._profiles = profiles

    def get(self, name: str) -> DirectoryRecord:
        with self._tx.read() as uow:
            record = uow.acme.get_directory(name)
        if record is None:
            raise NotFound(f"no ACME directory named {name!r}")
        return record

    def ca_of(self, directory: DirectoryRecord) -> str:
        with self._tx.read() as uow:
            ra = uow.registration.get_ra(directory.ra)
        if ra is None:
            raise NotFound(f"the RA {directory.ra!r} of ACME directory {directory.name!r} is gone")
        return ra.ca

    def list(self, principal: Principal) -> tuple[DirectoryRecord, ...]:
        with self._tx.read() as uow:
            records = uow.acme.list_directories()
            ras = {ra: uow.registration.get_ra(ra) for ra in {r.ra for r in records}}
        return tuple(r for r in records if (ra := ras[r.ra]) and _may_read(principal, ra.ca, r.ra))

    def show(self, principal: Principal, name: str) -> DirectoryRecord:
        record = self.get(name)
        require(principal, Permission.REQUEST_READ, self.ca_of(record), record.profile, record.ra)
        return record

    def create(self, principal: Principal, new: NewDirectory) -> DirectoryRecord:
        """Create a directory (audited ``acme.directory.created``)."""
        name = check_directory_name(new.name)
        with self._tx.read() as uow:
            ra = uow.registration.get_ra(new.ra)
        if ra is None:
            raise NotFound(f"no RA named {new.ra!r}")
        require(principal, Permission.ACME_MANAGE, ra.ca, None, ra.name)
        profile = new.profile or ra.profiles[0]
        if ra.policy(profile) is None:
            raise NotFound(f"RA {ra.name} does not take profile {profile!r}; it takes: {', '.join(ra.profiles)}")
        most = self._profiles.get(profile).max_validity
        if new.policy.validity_days is not None and dt.timedelta(days=new.policy.validity_days) > most:
            # Refused now, not at each finalize (where the order would end invalid).
            raise Malformed(f"profile {profile} issues for at most {most.days} days, not {new.policy.validity_days}")
        now = self._clock.now()
        record = DirectoryRecord(name, ra.name, profile, new.policy, now, principal.name)

        def add(uow: UnitOfWork) -> DirectoryRecord:
            if uow.acme.get_directory(name) is not None:
                raise Conflict(f"an ACME directory named {name!r} exists")
            uow.acme.add_directory(record)
            details = {"ra": ra.name, "profile": profile, "policy": _jsonable(new.policy)}
            uow.audit.append(
                [AuditEvent("acme.directory.created", principal.name, ca=ra.ca, target=name, details=details)], now
            )
            return record

        return self._writer.run(add)


def _may_read(principal: Principal, ca: str, ra: str) -> bool:
    return allows(principal, Permission.REQUEST_READ, ca, None, ra) or allows(
        principal, Permission.ACME_MANAGE, ca, None, ra
    )


def _jsonable(policy: DirectoryPolicy) -> dict[str, object]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(policy).items()}
