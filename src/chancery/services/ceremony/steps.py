"""Running one ceremony step through the CA services, and recording what it made.

Each step calls the service an operator's command would call (the hierarchy,
issuance, CRL publication), so every rule, lint and audit entry of those
services applies unchanged; this module adds the files and their SHA-256.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from chancery.domain.exports import ExportFormat
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Principal
from chancery.domain.records import CertificateAuthorityRecord
from chancery.errors import Conflict
from chancery.pki.encoding import fingerprint_sha256, public_key_sha256, to_pem
from chancery.pki.profiles.config import parse_duration
from chancery.services.authority.hierarchy import HierarchyService, NewCA
from chancery.services.authority.issuance import IssuanceService, IssueFromCsr
from chancery.services.ceremony.ports import ArtefactDirectory
from chancery.services.ceremony.script import (
    CreateIntermediate,
    CreateRoot,
    Crl,
    Export,
    ImportCertificate,
    SignCsr,
    Step,
)
from chancery.services.ceremony.transcript import sha256_hex
from chancery.services.revocation.crls import CrlPublisher
from chancery.services.revocation.settings import RevocationSettingsService


@dataclass(frozen=True)
class Artefact:
    """A file a step wrote (``out``) or read (``in``), by its path in the ceremony directory."""

    file: str
    kind: str
    sha256: str
    direction: str = "out"

    def to_json(self) -> dict[str, str]:
        return {"file": self.file, "kind": self.kind, "sha256": self.sha256, "direction": self.direction}


@dataclass(frozen=True)
class StepOutcome:
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    artefacts: tuple[Artefact, ...] = ()


@dataclass(frozen=True)
class CaServices:
    """The services a ceremony drives."""

    hierarchy: HierarchyService
    issuance: IssuanceService
    crls: CrlPublisher
    revocation_settings: RevocationSettingsService


class StepRunner:
    """Runs steps as ``principal``, reading and writing files in ``directory``."""

    def __init__(self, services: CaServices, principal: Principal, directory: ArtefactDirectory) -> None:
        self._ca = services
        self._principal = principal
        self._dir = directory
        self._written: dict[str, str] = {}  # path -> SHA-256, of what this ceremony wrote

    def run(self, step: Step) -> StepOutcome:
        if isinstance(step, CreateRoot):
            return self._create_root(step)
        if isinstance(step, CreateIntermediate):
            return self._create_intermediate(step)
        if isinstance(step, SignCsr):
            return self._sign_csr(step)
        if isinstance(step, ImportCertificate):
            return self._import_certificate(step)
        if isinstance(step, Crl):
            return self._crl(step)
        return self._export(step)

    # -- steps ----------------------------------------------------------------------------

    def _create_root(self, step: CreateRoot) -> StepOutcome:
        new = NewCA(
            name=step.ca,
            subject=step.subject,
            key_type=KeyType.parse(step.key_type),
            validity_days=step.days,
            path_length=step.path_length,
            key_store=step.key_store,
        )
        record = self._ca.hierarchy.create_root(self._principal, new)
        cert = _certificate(record)
        artefact = self._write(step.out, to_pem([cert]), "certificate")
        summary = f"generated the {step.key_type} key of root CA {step.ca} ({step.key_store}) and self-signed it"
        return StepOutcome(summary, _ca_details(record, step.key_store, cert), (artefact,))

    def _create_intermediate(self, step: CreateIntermediate) -> StepOutcome:
        new = NewCA(
            name=step.ca,
            subject=step.subject,
            key_type=KeyType.parse(step.key_type),
            validity_days=step.days,
            path_length=step.path_length,
            parent=step.parent,
            key_store=step.key_store,
        )
        if step.parent is not None:
            assert step.out is not None
            record = self._ca.hierarchy.create_intermediate(self._principal, new)
            cert = _certificate(record)
            artefact = self._write(step.out, to_pem([cert]), "certificate")
            summary = (
                f"generated the {step.key_type} key of CA {step.ca} ({step.key_store}); {step.parent} certified it"
            )
            return StepOutcome(summary, _ca_details(record, step.key_store, cert), (artefact,))
        assert step.csr_out is not None
        pending = self._ca.hierarchy.create_pending(self._principal, new)
        artefact = self._write(step.csr_out, pending.csr_pem.encode("ascii"), "csr")
        csr = x509.load_pem_x509_csr(pending.csr_pem.encode("ascii"))
        details = {
            "ca": step.ca,
            "subject": pending.record.subject,
            "key_type": step.key_type,
            "key_store": step.key_store,
            "key_id": pending.record.key_id,
            "public_key_sha256": public_key_sha256(csr.public_key()),
            "status": pending.record.status.value,
        }
        summary = f"generated the {step.key_type} key of CA {step.ca} ({step.key_store}) and its CSR"
        return StepOutcome(summary, details, (artefact,))

    def _sign_csr(self, step: SignCsr) -> StepOutcome:
        csr_bytes, read = self._read(step.csr, "csr")
        request = IssueFromCsr(step.ca, step.profile, csr_bytes, step.days, step.path_length)
        issued = self._ca.issuance.issue_from_csr(self._principal, request)
        certs = [issued.certificate, *issued.chain] if step.chain else [issued.certificate]
        artefact = self._write(step.out, to_pem(certs), "certificate-chain" if step.chain else "certificate")
        details = {
            "ca": step.ca,
            "profile": step.profile,
            "subject": issued.record.subject,
            "serial": issued.record.serial.hex,
            "not_after": issued.certificate.not_valid_after_utc.isoformat(),
            "certificate_sha256": fingerprint_sha256(issued.certificate),
            "public_key_sha256": public_key_sha256(issued.certificate.public_key()),
        }
        return StepOutcome(f"CA {step.ca} signed the CSR {step.csr} under {step.profile}", details, (read, artefact))

    def _import_certificate(self, step: ImportCertificate) -> StepOutcome:
        certificate, read = self._read(step.certificate, "certificate")
        artefacts = [read]
        chain = None
        if step.chain is not None:
            chain, chain_read = self._read(step.chain, "certificate-chain")
            artefacts.append(chain_read)
        record = self._ca.hierarchy.import_certificate(self._principal, step.ca, certificate, chain)
        cert = _certificate(record)
        return StepOutcome(
            f"CA {step.ca} activated with its certificate", _ca_details(record, None, cert), tuple(artefacts)
        )

    def _crl(self, step: Crl) -> StepOutcome:
        if step.validity is not None:
            seconds = int(parse_duration(step.validity).total_seconds())
            current = self._ca.revocation_settings.effective(step.ca)
            wanted = replace(current, crl_validity=seconds, delta_validity=min(current.delta_validity, seconds))
            self._ca.revocation_settings.configure(self._principal, wanted)
        published = self._ca.crls.publish(self._principal, step.ca)
        der = published.full.der
        data = der if step.format == "der" else x509.load_der_x509_crl(der).public_bytes(Encoding.PEM)
        artefact = self._write(step.out, data, "crl")
        details = {
            "ca": step.ca,
            "crl_number": str(published.full.crl_number),
            "this_update": published.full.this_update.isoformat(),
            "next_update": published.full.next_update.isoformat(),
            "entries": len(x509.load_der_x509_crl(der)),
        }
        return StepOutcome(f"CA {step.ca} issued CRL {published.full.crl_number}", details, (artefact,))

    def _export(self, step: Export) -> StepOutcome:
        fmt = ExportFormat.parse(step.format)
        data = self._ca.hierarchy.export(self._principal, step.ca, fmt, include_chain=step.chain)
        artefact = self._write(step.out, data, "certificate-chain" if step.chain else "certificate")
        return StepOutcome(f"exported the certificate of CA {step.ca}", {"ca": step.ca}, (artefact,))

    # -- files ----------------------------------------------------------------------------

    def _write(self, path: str, data: bytes, kind: str) -> Artefact:
        self._dir.write(path, data)
        digest = sha256_hex(data)
        self._written[path] = digest
        return Artefact(path, kind, digest)

    def _read(self, path: str, kind: str) -> tuple[bytes, Artefact]:
        data = self._dir.read(path)
        digest = sha256_hex(data)
        if path in self._written and self._written[path] != digest:
            raise Conflict(f"{path} changed since this ceremony wrote it")
        return data, Artefact(path, kind, digest, direction="in")


def _certificate(record: CertificateAuthorityRecord) -> x509.Certificate:
    assert record.certificate is not None
    return x509.load_der_x509_certificate(record.certificate)


def _ca_details(record: CertificateAuthorityRecord, key_store: str | None, cert: x509.Certificate) -> dict[str, Any]:
    details: dict[str, Any] = {
        "ca": record.name,
        "subject": record.subject,
        "key_type": record.key_type.value,
        "key_id": record.key_id,
        "public_key_sha256": public_key_sha256(cert.public_key()),
        "serial": format(cert.serial_number, "x"),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "certificate_sha256": fingerprint_sha256(cert),
    }
    if key_store is not None:
        details["key_store"] = key_store
    return details
