"""Running a ceremony: check everything, authenticate the custodians, run the steps, sign the transcript.

Order (each stage refuses before the next starts, and nothing is created before
the custodians authenticated):

1. :meth:`CeremonyService.check`: the script's custodians are enrolled, its files
   and CAs are consistent with the directory and the database, dual control is
   off, the key stores it names are configured. Nothing is changed.
2. ``threshold`` of the script's custodians authenticate (a refusal is audited).
3. The audit key is opened (this unlocks the key store, with its own quorum if it
   requires one): the transcript can be signed before any step runs.
4. The steps run in order; each is audited. The first failing step ends the
   ceremony; what was done until then stays done and is in the transcript.
5. The transcript is signed and its SHA-256 audited.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent, AuditRecord, Outcome
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.errors import CAError, ConfigurationError, Conflict, NotFound
from chancery.keys.base import KeyHandle, KeyPurpose, KeyStore
from chancery.pki.encoding import public_key_sha256
from chancery.services.approvals import DualControl
from chancery.services.audit.checkpoints import AUDIT_KEY_POLICY
from chancery.services.authorization import require
from chancery.services.ceremony import transcript
from chancery.services.ceremony.custodians import CustodianService, Quorum
from chancery.services.ceremony.ports import ArtefactDirectory
from chancery.services.ceremony.script import CeremonyScript, CreateIntermediate, CreateRoot, inputs, outputs
from chancery.services.ceremony.steps import Artefact, CaServices, StepOutcome, StepRunner
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork


@dataclass(frozen=True)
class CeremonyRun:
    """A parsed script, its bytes (hashed into the transcript) and where its files are."""

    script: CeremonyScript
    script_bytes: bytes
    script_file: str  # its path in ``directory``
    directory: ArtefactDirectory


@dataclass
class _Record:
    """What a running ceremony has done so far."""

    ceremony_id: str
    started_at: str
    authenticated: tuple[str, ...]
    script: Artefact
    steps: list[dict[str, Any]] = field(default_factory=list)
    error: CAError | None = None
    first: AuditRecord | None = None
    last: AuditRecord | None = None


@dataclass(frozen=True)
class CeremonyResult:
    transcript: bytes
    outcome: str  # "completed" or "failed"
    steps_done: int
    error: CAError | None = None

    @property
    def transcript_sha256(self) -> str:
        return transcript.sha256_hex(self.transcript)


class CeremonyService:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        custodians: CustodianService,
        services: CaServices,
        keys: KeyStore,
        dual_control: DualControl,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._custodians = custodians
        self._services = services
        self._keys = keys
        self._dual = dual_control

    def check(self, principal: Principal, run: CeremonyRun) -> None:
        """Refuse a ceremony that cannot run as written; changes nothing."""
        require(principal, Permission.CA_MANAGE)
        script = run.script
        self._custodians.check_enrolled(tuple(script.custodians))
        if self._dual.required_approvals() > 0:
            raise Conflict(
                "dual control is on: ceremony steps would wait for approvals; run ceremonies on an installation "
                "without dual control (the custodian quorum is the ceremony's own multi-person control)"
            )
        self._check_key_stores(script)
        _check_files(run)
        self._check_authorities(script)
        self._audit_key_id()

    def run(self, principal: Principal, run: CeremonyRun, passphrases: Mapping[str, str]) -> CeremonyResult:
        """Authenticate ``threshold`` custodians, then run the steps; see the module's docstring."""
        self.check(principal, run)
        script = run.script
        quorum = Quorum(tuple(script.custodians), script.threshold, f"ceremony {script.ceremony}")
        authenticated = self._custodians.authenticate(principal, quorum, passphrases)
        signer = self._signer()  # opens the key store before any step
        record = _Record(
            ceremony_id=f"{script.ceremony}-{secrets.token_hex(6)}",
            started_at=self._clock.now().isoformat(),
            authenticated=authenticated,
            script=Artefact(run.script_file, "script", transcript.sha256_hex(run.script_bytes), "in"),
        )
        details = {
            "ceremony": script.ceremony,
            "custodians": list(authenticated),
            "threshold": script.threshold,
            "script_sha256": record.script.sha256,
        }
        record.first = record.last = self._audit(
            AuditEvent("ceremony.started", principal.name, target=record.ceremony_id, details=details)
        )
        self._run_steps(principal, run, record)
        signed = transcript.sign(self._document(principal, script, record), signer)
        result = CeremonyResult(signed, "failed" if record.error else "completed", len(record.steps), record.error)
        closing = {
            "transcript_sha256": result.transcript_sha256,
            "signer_key_sha256": public_key_sha256(signer.public_key()),
            "steps": len(record.steps),
        }
        action, outcome = (
            ("ceremony.failed", Outcome.FAILURE) if record.error else ("ceremony.completed", Outcome.SUCCESS)
        )
        self._audit(AuditEvent(action, principal.name, outcome, target=record.ceremony_id, details=closing))
        return result

    def _run_steps(self, principal: Principal, run: CeremonyRun, record: _Record) -> None:
        """Run the steps in order until one fails; audit each."""
        runner = StepRunner(self._services, principal, run.directory)
        for index, step in enumerate(run.script.steps, 1):
            try:
                outcome = runner.run(step)
            except CAError as exc:
                record.error = exc
                failure = {"step": index, "action": step.action, "error": exc.detail}
                record.last = self._audit(
                    AuditEvent(
                        "ceremony.step", principal.name, Outcome.FAILURE, target=record.ceremony_id, details=failure
                    )
                )
                return
            record.last = self._audit(_step_event(principal, record.ceremony_id, index, step.action, outcome))
            record.steps.append(_step_json(index, step.action, self._clock.now().isoformat(), outcome, record.last))

    def _document(self, principal: Principal, script: CeremonyScript, record: _Record) -> dict[str, Any]:
        assert record.first is not None and record.last is not None
        document: dict[str, Any] = {
            "format": transcript.FORMAT,
            "id": record.ceremony_id,
            "ceremony": script.ceremony,
            "description": script.description,
            "operator": principal.name,
            "custodians": list(script.custodians),
            "threshold": script.threshold,
            "authenticated": [{"custodian": name, "at": record.started_at} for name in record.authenticated],
            "started_at": record.started_at,
            "finished_at": self._clock.now().isoformat(),
            "outcome": "failed" if record.error else "completed",
            "steps": record.steps,
            "artefacts": _unique_artefacts(record.script, record.steps),
            "audit": {
                "first": record.first.sequence,
                "last": record.last.sequence,
                "last_hash": record.last.entry_hash,
            },
        }
        if record.error is not None:
            document["error"] = {
                "step": len(record.steps) + 1,
                "kind": record.error.kind.value,
                "detail": record.error.detail,
            }
        return document

    def _signer(self) -> KeyHandle:
        signer = self._keys.load(self._audit_key_id())
        if self._keys.purpose(signer.key_id) is not KeyPurpose.AUDIT or not isinstance(
            signer.public_key(), ed25519.Ed25519PublicKey
        ):
            raise ConfigurationError("the audit key is not an Ed25519 audit key")
        return signer

    # -- helpers --------------------------------------------------------------------------

    def _audit(self, event: AuditEvent) -> AuditRecord:
        def append(uow: UnitOfWork) -> AuditRecord:
            return uow.audit.append([event], self._clock.now())[0]

        return self._writer.run(append)

    def _audit_key_id(self) -> str:
        with self._tx.read() as uow:
            key_id = uow.policies.get(AUDIT_KEY_POLICY)
        if not key_id:
            raise ConfigurationError("there is no audit key to sign the transcript with; run `chancery init`")
        return key_id

    def _check_key_stores(self, script: CeremonyScript) -> None:
        """A step that puts a key in the PKCS#11 token needs a configured token."""
        with self._tx.read() as uow:
            configured = uow.key_stores.get_pkcs11() is not None
        for index, step in enumerate(script.steps, 1):
            if isinstance(step, CreateRoot | CreateIntermediate) and step.key_store == "pkcs11" and not configured:
                raise ConfigurationError(
                    f"step {index} ({step.action}): key_store pkcs11 needs a PKCS#11 token, and none is configured; "
                    "run `chancery keys configure-pkcs11 --module PATH --token-label LABEL --pin-env VAR` first"
                )

    def _check_authorities(self, script: CeremonyScript) -> None:
        """CAs a step creates do not exist yet; CAs a step uses exist, or an earlier step creates them."""
        created: set[str] = set()
        with self._tx.read() as uow:
            existing = {record.name for record in uow.authorities.list()}
        for index, step in enumerate(script.steps, 1):
            label = f"step {index} ({step.action})"
            if isinstance(step, CreateRoot | CreateIntermediate):
                if step.ca in existing or step.ca in created:
                    raise Conflict(f"{label}: a CA named {step.ca!r} already exists")
                if isinstance(step, CreateIntermediate) and step.parent is not None:
                    _require_ca(step.parent, existing | created, label)
                created.add(step.ca)
            else:
                _require_ca(step.ca, existing | created, label)


def _require_ca(name: str, known: set[str], label: str) -> None:
    if name not in known:
        raise NotFound(f"{label}: no CA named {name!r} (and no earlier step creates it)")


def _check_files(run: CeremonyRun) -> None:
    """Outputs do not exist yet (artefacts are never overwritten); inputs exist or come from an earlier step."""
    written: set[str] = set()
    for index, step in enumerate(run.script.steps, 1):
        label = f"step {index} ({step.action})"
        for path in inputs(step):
            if path not in written and not run.directory.exists(path):
                raise NotFound(f"{label}: {path} does not exist in the ceremony directory")
        for path in outputs(step):
            if path == run.script_file or run.directory.exists(path):
                raise Conflict(f"{label}: {path} exists already; a ceremony never overwrites a file")
            written.add(path)


def _step_event(principal: Principal, ceremony_id: str, index: int, action: str, outcome: StepOutcome) -> AuditEvent:
    details = {
        "step": index,
        "action": action,
        "summary": outcome.summary,
        "artefacts": {artefact.file: artefact.sha256 for artefact in outcome.artefacts},
    }
    return AuditEvent("ceremony.step", principal.name, target=ceremony_id, details=details)


def _step_json(index: int, action: str, at: str, outcome: StepOutcome, audit: AuditRecord) -> dict[str, Any]:
    return {
        "step": index,
        "action": action,
        "at": at,
        "summary": outcome.summary,
        "details": outcome.details,
        "artefacts": [artefact.to_json() for artefact in outcome.artefacts],
        "audit_sequence": audit.sequence,
    }


def _unique_artefacts(script: Artefact, steps: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Every file once, the script first, in the order the ceremony met them."""
    found: dict[str, dict[str, str]] = {script.file: {"file": script.file, "kind": "script", "sha256": script.sha256}}
    for step in steps:
        for artefact in step["artefacts"]:
            found.setdefault(
                artefact["file"], {"file": artefact["file"], "kind": artefact["kind"], "sha256": artefact["sha256"]}
            )
    return list(found.values())
