"""Lint before sign (DESIGN.md invariant 8).

Each profile says how often its certificates are linted: ``every`` one; ``sampled``,
the first of each profile version in this process and then a random fraction;
``off``, never (only an administrator can choose that). A blocking finding (ERROR
or FATAL) that the profile has not accepted refuses the request before the CA key
signs anything.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from chancery.errors import LintFailed, SubError
from chancery.pki.issuer import PreparedCertificate
from chancery.pki.lint import Finding, lint
from chancery.pki.profiles import LintMode, Profile

_RESOLUTION = 1_000_000


def _draw() -> float:
    """A uniform number in [0, 1); not predictable by requesters, who might otherwise time their requests."""
    return secrets.randbelow(_RESOLUTION) / _RESOLUTION


@dataclass(frozen=True)
class LintReport:
    """What pkilint said about one certificate, split by what the profile accepts."""

    findings: tuple[Finding, ...]
    accepted_codes: frozenset[str]

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.blocking and f.code not in self.accepted_codes)

    def accepted(self, finding: Finding) -> bool:
        return finding.code in self.accepted_codes


class LintGate:
    def __init__(self, draw: Callable[[], float] = _draw) -> None:
        self._draw = draw
        self._linted_versions: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def due(self, profile: Profile) -> bool:
        """Whether this certificate of ``profile`` is linted."""
        policy = profile.lint
        if policy.mode is LintMode.EVERY:
            return True
        if policy.mode is LintMode.OFF:
            return False
        with self._lock:
            first = (profile.name, profile.version) not in self._linted_versions
        return first or self._draw() < policy.sample_rate

    def check(self, prepared: PreparedCertificate, profile: Profile) -> LintReport | None:
        """Lint ``prepared`` when due; raise :class:`LintFailed` with the blocking findings."""
        return self.enforce(prepared, profile) if self.due(profile) else None

    def enforce(self, prepared: PreparedCertificate, profile: Profile) -> LintReport:
        """Lint ``prepared`` now; raise :class:`LintFailed` with the blocking findings."""
        report = self.report(prepared, profile)
        blocking = report.blocking
        if blocking:
            listed = "; ".join(str(f) for f in blocking[:5])
            raise LintFailed(
                f"the certificate profile {profile.ref} would produce fails the linter: {listed}",
                sub_errors=tuple(SubError(f.code, f"{f.severity}: {f.message}".rstrip(": ")) for f in blocking),
            )
        with self._lock:
            self._linted_versions.add((profile.name, profile.version))
        return report

    @staticmethod
    def report(prepared: PreparedCertificate, profile: Profile) -> LintReport:
        """Every finding on ``prepared`` (for previews: no sampling, nothing raised)."""
        findings = lint(prepared.lint_copy(), profile.lint.sets)
        return LintReport(findings=findings, accepted_codes=profile.lint.accepted_codes)
