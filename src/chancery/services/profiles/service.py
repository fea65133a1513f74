"""Creating, editing, listing and exporting profiles; installing the built-ins.

Every save is validated completely before anything is written (an invalid
profile is refused with all its problems, never half-applied) and creates a new
version; an unchanged document creates nothing. Saving a subject-DN profile
re-versions the certificate profiles that use it, so a certificate's
(profile, version) always names the exact rules it was issued under.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.domain.records import ProfileDocumentKind, ProfileRecord
from chancery.errors import Conflict, Malformed, NotFound, SubError
from chancery.pki.profiles import (
    LintMode,
    Profile,
    ProfileConfig,
    SubjectProfileConfig,
    builtin_documents,
    compile_profile,
    compile_subject,
    dump_profile,
    invalid,
    load_document,
)
from chancery.services.approvals import DualControl
from chancery.services.authorization import require
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork
from chancery.services.profiles.catalog import ProfileCatalog
from chancery.services.profiles.compiling import canonical_json, compile_subject_record, document_of

log = logging.getLogger(__name__)
MAX_COMMENT = 500


@dataclass(frozen=True)
class SavedProfile:
    record: ProfileRecord
    created: bool  # False: the document equals the newest version; nothing was written
    dependents: tuple[ProfileRecord, ...] = ()  # certificate profiles re-versioned with a new subject-DN profile


class ProfileService:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        catalog: ProfileCatalog,
        clock: Clock,
        dual_control: DualControl,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._catalog = catalog
        self._clock = clock
        self._dual = dual_control

    def list(self, principal: Principal) -> tuple[ProfileRecord, ...]:
        """The newest version of every profile."""
        require(principal, Permission.PROFILE_READ)
        with self._tx.read() as uow:
            return uow.profiles.list_latest()

    def get(self, principal: Principal, name: str, version: int | None = None) -> ProfileRecord:
        require(principal, Permission.PROFILE_READ)
        with self._tx.read() as uow:
            record = uow.profiles.latest(name) if version is None else uow.profiles.get(name, version)
        if record is None:
            which = f" version {version}" if version is not None else ""
            raise NotFound(f"no profile {name[:64]!r}{which}")
        return record

    def versions(self, principal: Principal, name: str) -> tuple[ProfileRecord, ...]:
        require(principal, Permission.PROFILE_READ)
        with self._tx.read() as uow:
            records = uow.profiles.versions(name)
        if not records:
            raise NotFound(f"no profile {name[:64]!r}")
        return records

    def compiled(self, principal: Principal, name: str, version: int | None = None) -> Profile:
        """The rules of a certificate profile as issuance applies them."""
        require(principal, Permission.PROFILE_READ)
        return self._catalog.get(name) if version is None else self._catalog.version(name, version)

    def export(self, principal: Principal, name: str, version: int | None = None) -> str:
        """A profile version as YAML, ready for ``chancery profile import``."""
        return dump_profile(document_of(self.get(principal, name, version)))

    def save(
        self,
        principal: Principal,
        document: Any,
        comment: str = "",
        *,
        name: str | None = None,
        create: bool | None = None,
    ) -> SavedProfile:
        """Validate ``document`` and store it as the next version of its profile.

        ``name``: the profile the caller means (a document naming another is refused);
        ``create``: ``True`` only creates, ``False`` only edits, ``None`` either.
        Raises :class:`InvalidProfile` listing every problem.
        """
        require(principal, Permission.PROFILE_MANAGE)
        if len(comment) > MAX_COMMENT:
            raise Malformed(f"a comment has at most {MAX_COMMENT} characters")
        config = load_document(document)
        if name is not None and config.name != name:
            raise Malformed(f"the document describes profile {config.name!r}, not {name!r}")
        with self._tx.read() as uow:  # every problem is reported before anything waits for approval
            checked = self._save(uow, principal, config, document, comment, create, check_only=True)
        if not checked.created:
            return checked
        payload = {"document": document, "comment": comment, "create": create}
        self._dual.guard(principal, "profile.save", payload, f"save profile {config.name} ({comment or 'no comment'})")

        def work(uow: UnitOfWork) -> SavedProfile:
            return self._save(uow, principal, config, document, comment, create)

        saved = self._writer.run(work)
        if saved.created:
            self._catalog.forget()
        return saved

    def install_builtins(self, principal: Principal) -> tuple[str, ...]:
        """Store every shipped profile not stored yet, in one transaction (``chancery init``);
        returns the names installed. Profiles an operator already has are left as they are."""
        require(principal, Permission.PROFILE_MANAGE)
        configs = [(load_document(document), document) for _, document in builtin_documents()]

        def work(uow: UnitOfWork) -> tuple[str, ...]:
            installed = []
            for config, document in configs:  # subject-DN profiles come first
                if uow.profiles.latest(config.name) is None:
                    self._save(uow, principal, config, document, "shipped with Chancery", create=True)
                    installed.append(config.name)
            return tuple(installed)

        installed = self._writer.run(work)
        if installed:
            self._catalog.forget()
        return installed

    def _save(
        self,
        uow: UnitOfWork,
        principal: Principal,
        config: ProfileConfig | SubjectProfileConfig,
        document: dict[str, Any],
        comment: str,
        create: bool | None,
        check_only: bool = False,
    ) -> SavedProfile:
        kind = (
            ProfileDocumentKind.SUBJECT if isinstance(config, SubjectProfileConfig) else ProfileDocumentKind.CERTIFICATE
        )
        latest = uow.profiles.latest(config.name)
        if latest is None and create is False:
            raise NotFound(f"no profile {config.name!r}; create it first")
        if latest is not None and create is True:
            raise Conflict(f"profile {config.name!r} exists; edit it to make a new version")
        if latest is not None and latest.kind is not kind:
            raise Conflict(
                f"{config.name!r} is a {latest.kind.value} profile; a {kind.value} profile needs another name"
            )
        if latest is not None and document_of(latest) == document:
            return SavedProfile(record=latest, created=False)
        version = latest.version + 1 if latest is not None else 1
        now = self._clock.now()
        subject = None
        if isinstance(config, ProfileConfig):
            subject = self._check_certificate_profile(uow, principal, config, version, latest, comment, now)
        else:
            compile_subject(config, config.name, version)
        record = _record(config.name, version, kind, document, principal, now, comment, subject)
        if check_only:
            return SavedProfile(record=record, created=True)
        uow.profiles.add(record)
        dependents = self._reversion_dependents(uow, principal, record, now) if latest is not None else ()
        uow.audit.append(
            [_saved_event(principal, record, config), *(_saved_event(principal, d, None) for d in dependents)], now
        )
        return SavedProfile(record=record, created=True, dependents=dependents)

    def _check_certificate_profile(
        self,
        uow: UnitOfWork,
        principal: Principal,
        config: ProfileConfig,
        version: int,
        latest: ProfileRecord | None,
        comment: str,
        now: dt.datetime,
    ) -> ProfileRecord | None:
        """Compile the profile (raising every problem) and check it against the CAs it names."""
        subject = uow.profiles.latest(config.subject_profile) if config.subject_profile else None
        if subject is not None and subject.kind is not ProfileDocumentKind.SUBJECT:
            raise invalid(
                [SubError("subject_profile", f"{subject.name!r} is a certificate profile, not a subject-DN one")]
            )
        profile = compile_profile(config, version, compile_subject_record(subject) if subject else None)
        problems = _ca_problems(uow, profile, now)
        if problems:
            raise invalid(problems)
        was_off = latest is not None and load_document(document_of(latest)).lint.mode == "off"  # type: ignore[union-attr]
        if profile.lint.mode is LintMode.OFF and not was_off:
            require(principal, Permission.LINT_DISABLE)
            if not comment.strip():
                raise Malformed("switching lint off needs a comment saying why; it is kept with the profile version")
            log.warning(
                "lint switched off for profile %s version %d by %s: %s", profile.name, version, principal.name, comment
            )
        return subject

    def _reversion_dependents(
        self, uow: UnitOfWork, principal: Principal, record: ProfileRecord, now: dt.datetime
    ) -> tuple[ProfileRecord, ...]:
        if record.kind is not ProfileDocumentKind.SUBJECT:
            return ()
        dependents = []
        for dependent in uow.profiles.referencing(record.name):
            new = ProfileRecord(
                name=dependent.name,
                version=dependent.version + 1,
                kind=dependent.kind,
                document_json=dependent.document_json,
                created_at=now,
                created_by=principal.name,
                comment=f"subject-DN profile {record.name} is now version {record.version}",
                subject_profile=record.name,
                subject_version=record.version,
            )
            uow.profiles.add(new)
            dependents.append(new)
        return tuple(dependents)


def _record(
    name: str,
    version: int,
    kind: ProfileDocumentKind,
    document: dict[str, Any],
    principal: Principal,
    now: dt.datetime,
    comment: str,
    subject: ProfileRecord | None = None,
) -> ProfileRecord:
    return ProfileRecord(
        name=name,
        version=version,
        kind=kind,
        document_json=canonical_json(document),
        created_at=now,
        created_by=principal.name,
        comment=comment,
        subject_profile=subject.name if subject else None,
        subject_version=subject.version if subject else None,
    )


def _saved_event(
    principal: Principal, record: ProfileRecord, config: ProfileConfig | SubjectProfileConfig | None
) -> AuditEvent:
    details: dict[str, object] = {"version": record.version, "kind": record.kind.value, "comment": record.comment}
    if isinstance(config, ProfileConfig):
        details["lint_mode"] = config.lint.mode
    if record.subject_profile:
        details["subject_profile"] = f"{record.subject_profile}@{record.subject_version}"
    return AuditEvent("profile.saved", principal.name, target=record.name, details=details)


def _ca_problems(uow: UnitOfWork, profile: Profile, now: dt.datetime) -> list[SubError]:
    """Each CA the profile names must exist, and outlive the profile's longest validity."""
    problems = []
    for ca in sorted(profile.cas):
        record = uow.authorities.get(ca)
        if record is None:
            problems.append(SubError("cas", f"no CA named {ca!r}"))
            continue
        if record.not_after is None:
            continue  # pending: checked when it is active and issues
        remaining = record.not_after - now
        if profile.max_validity > remaining:
            problems.append(
                SubError(
                    "validity.max",
                    f"{profile.max_validity.days} days is longer than CA {ca!r} remains valid ({max(remaining.days, 0)} days)",
                )
            )
    return problems
