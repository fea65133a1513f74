"""pkilint's RFC 5280 validators on a certificate (DESIGN.md invariant 8): findings at ERROR or worse.

The same validator set issuance lints with (``chancery.pki.lint``, PKIX); tests
apply it to what was actually signed.
"""

from __future__ import annotations

from cryptography import x509

from chancery.pki.lint import LintSet, lint

_SEVERITIES = ("FATAL", "ERROR", "WARNING", "NOTICE", "INFO")


def pkix_findings(cert: x509.Certificate | bytes, severity: str = "ERROR") -> list[str]:
    """PKIX findings at ``severity`` or worse, as ``SEVERITY code: message`` lines."""
    worst = _SEVERITIES[: _SEVERITIES.index(severity) + 1]
    return [f"{f.severity} {f.code}: {f.message}" for f in lint(cert, (LintSet.PKIX,)) if f.severity in worst]


def assert_lints_clean(cert: x509.Certificate | bytes) -> None:
    findings = pkix_findings(cert)
    assert not findings, "pkilint findings:\n" + "\n".join(findings)
