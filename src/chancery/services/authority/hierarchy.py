"""The CA hierarchy: roots, intermediates (local or offline parent), imports, trust anchors."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace

from cryptography import x509

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.exports import ExportFormat
from chancery.domain.keystores import KeyLocation, location_of
from chancery.domain.keytypes import KeyType
from chancery.domain.names import CAName, ca_name
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.domain.records import CAStatus, CertificateAuthorityRecord, DistributionUrls, TrustAnchorRecord
from chancery.errors import Conflict, Malformed, NotFound
from chancery.keys.base import KeyHandle, KeyPurpose, KeyRouting
from chancery.pki.chain import basic_constraints, is_ca_certificate, is_self_signed, verify_ca_chain
from chancery.pki.csr import build_csr, csr_to_der, csr_to_pem
from chancery.pki.encoding import fingerprint_sha256, load_certificates, to_der, to_pem, to_pkcs7
from chancery.pki.issuer import CertificateRequest, Signer
from chancery.pki.names import format_name, parse_name
from chancery.pki.profiles import Profile
from chancery.pki.profiles.subject import subject_for
from chancery.services.approvals import DualControl
from chancery.services.authority.cycle import IssuanceCycle, Issued, Provenance
from chancery.services.authority.signers import SignerDirectory
from chancery.services.authorization import require
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork
from chancery.services.profiles.catalog import ProfileCatalog

ROOT_PROFILE = "root-ca"
SUBORDINATE_PROFILE = "sub-ca"


@dataclass(frozen=True)
class NewCA:
    """A CA to create. ``parent`` is ``None`` for a root or an offline parent."""

    name: str
    subject: str
    key_type: KeyType = KeyType.EC_P256
    validity_days: int | None = None
    path_length: int | None = None
    parent: str | None = None
    key_store: str = KeyLocation.SOFTWARE.value  # where a new key goes: software or pkcs11
    existing_key_label: str | None = None  # adopt this key from the HSM instead of generating one


@dataclass(frozen=True)
class _Pending:
    """A CA about to be recorded: its key exists, its certificate does not yet."""

    name: CAName
    subject: x509.Name
    key_type: KeyType
    key: KeyHandle
    parent: CAName | None
    csr: bytes | None = None


@dataclass(frozen=True)
class PendingCA:
    record: CertificateAuthorityRecord
    csr_pem: str


class HierarchyService:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        cycle: IssuanceCycle,
        signers: SignerDirectory,
        profiles: ProfileCatalog,
        keys: KeyRouting,
        clock: Clock,
        base_url: str,
        dual_control: DualControl,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._cycle = cycle
        self._signers = signers
        self._profiles = profiles
        self._dual = dual_control
        self._keys = keys
        self._clock = clock
        self._base_url = base_url.rstrip("/")

    # -- creation -------------------------------------------------------------------------

    def create_root(self, principal: Principal, new: NewCA) -> CertificateAuthorityRecord:
        """Generate a key and a self-signed root certificate (RFC 5280 §3.2)."""
        require(principal, Permission.CA_MANAGE)
        profile = self._profiles.get(ROOT_PROFILE)
        name, subject, validity = self._check_new(new, profile)
        self._dual.guard(principal, "ca.create-root", _payload(new), f"create root CA {name} ({format_name(subject)})")
        key = self._new_key(new)
        record = self._add_pending(principal, _Pending(name, subject, key.key_type, key, parent=None))
        request = CertificateRequest(
            subject=subject,
            public_key=key.public_key(),
            profile=profile,
            validity=validity,
            path_length=new.path_length,
        )
        signer = Signer(key=key, certificate=None, urls=record.urls)
        issued = self._cycle.self_sign(name, signer, request, Provenance(actor=principal.name))
        return self._activate(principal, record, issued.certificate, chain=())

    def create_intermediate(self, principal: Principal, new: NewCA) -> CertificateAuthorityRecord:
        """Generate a key and have the local CA ``new.parent`` certify it under ``sub-ca``."""
        require(principal, Permission.CA_MANAGE)
        if new.parent is None:
            raise Malformed("an intermediate CA needs a parent (or use --csr-out for an offline parent)")
        profile = self._profiles.get(SUBORDINATE_PROFILE)
        name, subject, validity = self._check_new(new, profile)
        parent = self._signers.get(new.parent)
        require(principal, Permission.CA_MANAGE, parent.record.name)
        if parent.signer.remaining_path_length == 0:
            raise Conflict(f"CA {new.parent!r} may not have subordinate CAs (pathLenConstraint 0)")
        summary = f"create intermediate CA {name} ({format_name(subject)}) under {parent.record.name}"
        self._dual.guard(principal, "ca.create-intermediate", _payload(new), summary)
        key = self._new_key(new)
        record = self._add_pending(principal, _Pending(name, subject, key.key_type, key, parent=parent.record.name))
        request = CertificateRequest(
            subject=subject,
            public_key=key.public_key(),
            profile=profile,
            validity=validity,
            path_length=new.path_length,
        )
        issued: Issued = self._cycle.issue(parent.record.name, request, Provenance(actor=principal.name))
        return self._activate(principal, record, issued.certificate, chain=issued.chain)

    def create_pending(self, principal: Principal, new: NewCA) -> PendingCA:
        """Generate a key and a CSR for a parent elsewhere (offline root, third-party CA)."""
        require(principal, Permission.CA_MANAGE)
        name, subject, _ = self._check_new(new, self._profiles.get(SUBORDINATE_PROFILE))
        summary = f"create CA {name} ({format_name(subject)}) for a parent elsewhere"
        self._dual.guard(principal, "ca.create-pending", _payload(new), summary)
        key = self._new_key(new)
        csr = build_csr(subject, key)
        pending = _Pending(name, subject, key.key_type, key, parent=None, csr=csr_to_der(csr))
        record = self._add_pending(principal, pending)
        return PendingCA(record=record, csr_pem=csr_to_pem(csr))

    # -- imports --------------------------------------------------------------------------

    def import_certificate(
        self, principal: Principal, name: str, certificate: bytes, chain: bytes | None = None
    ) -> CertificateAuthorityRecord:
        """Activate a pending CA with the certificate its parent issued.

        ``certificate`` may be a bundle: its first certificate is the CA's, the
        rest (and ``chain``) its parents. The chain must end in a self-signed
        root, given here or imported earlier as a trust anchor.
        """
        require(principal, Permission.CA_MANAGE, name)
        record = self._get(name)
        if record.status is not CAStatus.PENDING:
            raise Conflict(f"CA {name!r} is {record.status.value}; only a pending CA takes a certificate")
        certs = load_certificates(certificate)
        parents = certs[1:] + (load_certificates(chain) if chain else ())
        cert = certs[0]
        if cert.public_key() != self._keys.load(record.key_id).public_key():
            raise Malformed(f"the certificate is not for the key of CA {name!r}")
        full_chain = verify_ca_chain(cert, parents, self._anchors(), self._clock.now())
        payload = {"name": name, "certificate": to_pem([cert, *parents]).decode("ascii")}
        self._dual.guard(
            principal, "ca.import-certificate", payload, f"activate CA {name} with {format_name(cert.subject)}"
        )
        record = replace(record, subject=format_name(cert.subject))
        return self._activate(principal, record, cert, chain=full_chain)

    def import_trust_anchor(self, principal: Principal, certificate: bytes) -> TrustAnchorRecord:
        """Trust a third-party root when importing chains that end in it."""
        require(principal, Permission.CA_MANAGE)
        certs = load_certificates(certificate)
        if len(certs) != 1:
            raise Malformed("import one trust anchor at a time")
        cert = certs[0]
        if not (is_self_signed(cert) and is_ca_certificate(cert)):
            raise Malformed("a trust anchor must be a self-signed CA certificate")
        anchor = TrustAnchorRecord(
            fingerprint_sha256=fingerprint_sha256(cert),
            subject=format_name(cert.subject),
            der=to_der(cert),
            created_at=self._clock.now(),
        )
        payload = {"certificate": to_pem([cert]).decode("ascii")}
        self._dual.guard(
            principal,
            "ca.import-trust-anchor",
            payload,
            f"trust {anchor.subject} ({anchor.fingerprint_sha256[:16]}...)",
        )

        def add(uow: UnitOfWork) -> None:
            uow.trust_anchors.add(anchor)
            details = {"subject": anchor.subject, "sha256": anchor.fingerprint_sha256}
            uow.audit.append([AuditEvent("trust-anchor.imported", principal.name, details=details)], anchor.created_at)

        self._writer.run(add)
        return anchor

    def retire(self, principal: Principal, name: str, reason: str = "") -> CertificateAuthorityRecord:
        """Stop an active CA from issuing, for good; it keeps publishing CRLs and answering OCSP
        for what it issued. A sensitive operation (dual control). Certificates it issued stay
        valid: revoke them first (bulk revocation) if they must not be."""
        require(principal, Permission.CA_MANAGE, name)
        record = self._get(name)
        if record.status is not CAStatus.ACTIVE:
            raise Conflict(f"CA {name!r} is {record.status.value}; only an active CA can be retired")
        if len(reason) > 500:
            raise Malformed("the reason has at most 500 characters")
        self._dual.guard(principal, "ca.retire", {"name": name, "reason": reason}, f"retire CA {name}")
        now = self._clock.now()

        def work(uow: UnitOfWork) -> CertificateAuthorityRecord:
            current = uow.authorities.get(name)
            if current is None or current.status is not CAStatus.ACTIVE:
                raise Conflict(f"CA {name!r} is no longer active")
            retired = replace(current, status=CAStatus.RETIRED)
            uow.authorities.save(retired)
            event = AuditEvent("ca.retired", principal.name, ca=name, target=name, details={"reason": reason})
            uow.audit.append([event], now)
            return retired

        retired = self._writer.run(work)
        self._signers.forget(name)
        return retired

    # -- reading --------------------------------------------------------------------------

    def list(self, principal: Principal) -> tuple[CertificateAuthorityRecord, ...]:
        require(principal, Permission.CA_READ)
        with self._tx.read() as uow:
            return uow.authorities.list()

    def get(self, principal: Principal, name: str) -> CertificateAuthorityRecord:
        require(principal, Permission.CA_READ, name)
        return self._get(name)

    def trust_anchors(self, principal: Principal) -> tuple[TrustAnchorRecord, ...]:
        require(principal, Permission.CA_READ)
        with self._tx.read() as uow:
            return uow.trust_anchors.list()

    def export(self, principal: Principal, name: str, fmt: ExportFormat, include_chain: bool = False) -> bytes:
        """The CA certificate (and with ``include_chain`` its parents up to the root)."""
        require(principal, Permission.CA_READ, name)
        record = self._get(name)
        if record.certificate is None:
            raise Conflict(f"CA {name!r} is pending and has no certificate yet")
        certs = [x509.load_der_x509_certificate(der) for der in (record.certificate, *record.chain)]
        if not include_chain:
            certs = certs[:1]
        if fmt is ExportFormat.PEM:
            return to_pem(certs)
        if fmt is ExportFormat.P7B:
            return to_pkcs7(certs)
        if fmt is ExportFormat.DER:
            if include_chain and len(certs) > 1:
                raise Malformed("DER holds one certificate; export the chain as pem or p7b")
            return to_der(certs[0])
        raise Malformed("CA certificates export as pem, der or p7b; CA keys are never exported")

    def pending_csr(self, principal: Principal, name: str) -> str:
        """The CSR of a pending CA (PEM), to carry to its parent again."""
        require(principal, Permission.CA_READ, name)
        record = self._get(name)
        if record.csr is None or record.status is not CAStatus.PENDING:
            raise Conflict(f"CA {name!r} is not waiting for a certificate")
        return csr_to_pem(x509.load_der_x509_csr(record.csr))

    def certificate_der(self, name: str) -> bytes:
        """The CA certificate for the public AIA caIssuers URL (no authentication needed)."""
        record = self._get(name)
        if record.certificate is None:
            raise NotFound(f"CA {name!r} has no certificate yet")
        return record.certificate

    # -- helpers --------------------------------------------------------------------------

    def _check_new(self, new: NewCA, profile: Profile) -> tuple[CAName, x509.Name, dt.timedelta | None]:
        """Validate before any key is made; the subject is already held to the profile's DN rules."""
        name = ca_name(new.name)
        subject = subject_for(profile, parse_name(new.subject))
        validity = None
        if new.validity_days is not None:
            validity = dt.timedelta(days=new.validity_days)
            if not dt.timedelta(days=1) <= validity <= profile.max_validity:
                raise Malformed(f"validity must be between 1 and {profile.max_validity.days} days")
        if new.path_length is not None and not 0 <= new.path_length <= 16:
            raise Malformed("path length must be between 0 and 16")
        KeyLocation.parse(new.key_store)
        with self._tx.read() as uow:
            if uow.authorities.get(name) is not None:
                raise Conflict(f"a CA named {name!r} already exists")
        return name, subject, validity

    def _new_key(self, new: NewCA) -> KeyHandle:
        """A new key where ``new.key_store`` says, or the HSM key ``new.existing_key_label`` if no CA has it."""
        if new.existing_key_label is None:
            return self._keys.generate_in(KeyLocation.parse(new.key_store), new.key_type, KeyPurpose.CA)
        key = self._keys.adopt(new.existing_key_label, KeyPurpose.CA)
        with self._tx.read() as uow:
            holder = next((ca.name for ca in uow.authorities.list() if ca.key_id == key.key_id), None)
        if holder is not None:
            raise Conflict(f"key {new.existing_key_label!r} is already the key of CA {holder!r}")
        return key

    def _add_pending(self, principal: Principal, pending: _Pending) -> CertificateAuthorityRecord:
        record = CertificateAuthorityRecord(
            name=pending.name,
            status=CAStatus.PENDING,
            subject=format_name(pending.subject),
            key_id=pending.key.key_id,
            key_type=pending.key_type,
            urls=self._urls(pending.name),
            created_at=self._clock.now(),
            parent=pending.parent,
            csr=pending.csr,
        )

        def add(uow: UnitOfWork) -> None:
            uow.authorities.add(record)
            details = {"subject": record.subject, "key_type": pending.key_type.value, "key_id": pending.key.key_id}
            details["parent"] = pending.parent
            details["key_store"] = location_of(pending.key.key_id).value
            uow.audit.append(
                [AuditEvent("ca.created", principal.name, ca=record.name, details=details)], record.created_at
            )

        self._writer.run(add)
        return record

    def _activate(
        self,
        principal: Principal,
        record: CertificateAuthorityRecord,
        cert: x509.Certificate,
        chain: tuple[x509.Certificate, ...],
    ) -> CertificateAuthorityRecord:
        constraints = basic_constraints(cert)
        active = replace(
            record,
            status=CAStatus.ACTIVE,
            certificate=to_der(cert),
            chain=tuple(to_der(c) for c in chain),
            not_after=cert.not_valid_after_utc,
            path_length=constraints.path_length if constraints else None,
        )
        details = {
            "subject": active.subject,
            "serial": format(cert.serial_number, "x"),
            "sha256": fingerprint_sha256(cert),
            "not_after": cert.not_valid_after_utc.isoformat(),
        }
        event = AuditEvent("ca.activated", principal.name, ca=record.name, details=details)

        def save(uow: UnitOfWork) -> None:
            uow.authorities.save(active)
            uow.audit.append([event], self._clock.now())

        self._writer.run(save)
        self._signers.forget(record.name)
        return active

    def _get(self, name: str) -> CertificateAuthorityRecord:
        with self._tx.read() as uow:
            record = uow.authorities.get(name)
        if record is None:
            raise NotFound(f"no CA named {name!r}")
        return record

    def _anchors(self) -> tuple[x509.Certificate, ...]:
        with self._tx.read() as uow:
            return tuple(x509.load_der_x509_certificate(a.der) for a in uow.trust_anchors.list())

    def _urls(self, name: str) -> DistributionUrls:
        return DistributionUrls(
            crl=f"{self._base_url}/crl/{name}.crl",
            ocsp=f"{self._base_url}/ocsp",
            ca_issuers=f"{self._base_url}/ca/{name}.crt",
        )


def _payload(new: NewCA) -> dict[str, object]:
    """A :class:`NewCA` as a dual-control operation keeps it (:func:`new_ca_from` reads it back)."""
    return {**asdict(new), "key_type": new.key_type.value}


def new_ca_from(payload: dict[str, object]) -> NewCA:
    return NewCA(**{**payload, "key_type": KeyType(str(payload["key_type"]))})  # type: ignore[arg-type]
