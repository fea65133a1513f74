"""Which RAs answer SCEP, with which RA certificate, profile and cipher policy.

``configure`` makes an RA answer SCEP: it generates the RA key (RSA-2048, purpose
``scep-ra``: it signs CertReps and opens the envelopes clients encrypt to it, and it is
never exported) and has the RA's CA issue its certificate under the ``scep-ra`` profile.
One SCEP RA is the default, served at ``/scep``; each is also served at ``/scep/{ra}``.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.keystores import KeyLocation
from chancery.domain.keytypes import KeyType
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.domain.registration import RaRecord
from chancery.domain.scep import ScepService
from chancery.errors import Malformed, NotFound
from chancery.keys.base import KeyPurpose, KeyRouting
from chancery.pki.encoding import to_der
from chancery.pki.issuer import CertificateRequest
from chancery.services.authority.cycle import IssuanceCycle
from chancery.services.authorization import require
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork
from chancery.services.profiles.catalog import ProfileCatalog

RA_PROFILE = "scep-ra"
DEFAULT_PROFILE = "device"
# Renew the RA certificate when less than this is left (configure checks it).
_RENEW_WHEN_LEFT = dt.timedelta(days=30)


@dataclass(frozen=True)
class ScepSetup:
    ra: str
    profile: str | None = None  # None: ``device`` when the RA takes it, else the RA's first profile
    default: bool = True
    allow_3des: bool = True
    # Single DES inbound only: micromdm's scepclient (and Go clients built on its library) encrypt with
    # DES whatever GetCACaps says. It guards a challenge that is used up by the time DES could be broken;
    # replies are always AES, and DES is never advertised.
    allow_des: bool = True
    next_ca: str | None = None  # a CA rollover in progress: GetNextCACert answers with this CA
    full_chain: bool = False  # GetCACert lists EC CA certificates too (see publication.py)
    new_certificate: bool = False  # a new RA key and certificate even when the current one is good
    key_store: str = "software"  # or "pkcs11": the RA key is made in the token (sign and decrypt only)


@dataclass(frozen=True)
class Answering:
    service: ScepService
    ra: RaRecord
    certificate: x509.Certificate  # the RA certificate


class ScepDirectory:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        keys: KeyRouting,
        cycle: IssuanceCycle,
        profiles: ProfileCatalog,
        ttl_seconds: float = 2.0,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._keys = keys
        self._cycle = cycle
        self._profiles = profiles
        self._ttl = ttl_seconds
        self._cache: dict[str | None, tuple[float, Answering]] = {}
        self._guard = threading.Lock()

    def configure(self, principal: Principal, setup: ScepSetup) -> ScepService:
        """Make ``setup.ra`` answer SCEP, issuing its RA certificate when it has none (or it is due)."""
        with self._tx.read() as uow:
            ra = uow.registration.get_ra(setup.ra)
            current = uow.scep.service(setup.ra)
            next_ca = uow.authorities.get(setup.next_ca) if setup.next_ca else None
        if ra is None:
            raise NotFound(f"no RA named {setup.ra!r}")
        require(principal, Permission.RA_MANAGE, ra.ca, None, ra.name)
        if setup.next_ca and next_ca is None:
            raise NotFound(f"no CA named {setup.next_ca!r}")
        profile = _profile(ra, setup.profile)
        now = self._clock.now()
        if current is None or setup.new_certificate or _due(current, now):
            key_id, certificate = self._issue_ra_certificate(ra, KeyLocation.parse(setup.key_store))
        else:
            key_id, certificate = current.key_id, current.certificate
        service = ScepService(
            ra=ra.name,
            profile=profile,
            key_id=key_id,
            certificate=certificate,
            is_default=setup.default,
            allow_3des=setup.allow_3des,
            allow_des=setup.allow_des,
            next_ca=setup.next_ca,
            full_chain=setup.full_chain,
            created_at=now,
            created_by=principal.name,
        )

        def save(uow: UnitOfWork) -> None:
            uow.scep.save_service(service)
            details: dict[str, object] = {
                "profile": profile,
                "default": setup.default,
                "3des": setup.allow_3des,
                "des": setup.allow_des,
                "ra_certificate": x509.load_der_x509_certificate(certificate).serial_number.to_bytes(20).hex(),
            }
            if setup.next_ca:
                details["next_ca"] = setup.next_ca
            uow.audit.append(
                [AuditEvent("scep.configured", principal.name, ca=ra.ca, target=ra.name, details=details)], now
            )

        self._writer.run(save)
        with self._guard:
            self._cache.clear()
        return service

    def answering(self, ra: str | None) -> Answering:
        """The SCEP RA ``ra`` (or the default) with its RA record and certificate, as every message
        needs them; kept ``ttl_seconds`` (changes made on this node apply at once)."""
        now = time.monotonic()
        with self._guard:
            hit = self._cache.get(ra)
        if hit is not None and hit[0] > now:
            return hit[1]
        service = self.service(ra)
        answering = Answering(service, self.ra_of(service), x509.load_der_x509_certificate(service.certificate))
        with self._guard:
            self._cache[ra] = (now + self._ttl, answering)
        return answering

    def service(self, ra: str | None) -> ScepService:
        """The SCEP RA named ``ra``, or the default one (``/scep``)."""
        with self._tx.read() as uow:
            service = uow.scep.service(ra) if ra is not None else uow.scep.default_service()
        if service is None:
            if ra is None:
                raise NotFound("no default SCEP RA: run `chancery scep configure --ra NAME`")
            raise NotFound(f"RA {ra!r} does not answer SCEP")
        return service

    def list(self) -> tuple[ScepService, ...]:
        with self._tx.read() as uow:
            return uow.scep.list_services()

    def ra_of(self, service: ScepService) -> RaRecord:
        with self._tx.read() as uow:
            ra = uow.registration.get_ra(service.ra)
        if ra is None:
            raise NotFound(f"no RA named {service.ra!r}")
        return ra

    def _issue_ra_certificate(self, ra: RaRecord, location: KeyLocation) -> tuple[str, bytes]:
        key = self._keys.generate_in(location, KeyType.RSA_2048, KeyPurpose.SCEP_RA)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"SCEP RA {ra.name}"[:64])])
        request = CertificateRequest(
            subject=subject, public_key=key.public_key(), profile=self._profiles.get(RA_PROFILE)
        )
        issued = self._cycle.issue(ra.ca, request)
        return key.key_id, to_der(issued.certificate)


def _profile(ra: RaRecord, wanted: str | None) -> str:
    if wanted is not None:
        if wanted not in ra.profiles:
            raise Malformed(f"RA {ra.name} does not take profile {wanted!r}; it takes: {', '.join(ra.profiles)}")
        return wanted
    if not ra.profiles:
        raise Malformed(f"RA {ra.name} takes no profile")
    return DEFAULT_PROFILE if DEFAULT_PROFILE in ra.profiles else ra.profiles[0]


def _due(service: ScepService, now: dt.datetime) -> bool:
    certificate = x509.load_der_x509_certificate(service.certificate)
    return certificate.not_valid_after_utc - now < _RENEW_WHEN_LEFT
