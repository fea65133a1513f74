"""Lint before sign: when a certificate is linted, and what refuses it."""

from __future__ import annotations

from typing import Any

import pytest

from chancery.domain.serials import SerialNumber
from chancery.errors import LintFailed
from chancery.pki.issuer import CertificateRequest, PreparedCertificate, prepare
from chancery.pki.names import parse_name
from chancery.pki.profiles import Profile, compile_profile, load_document
from chancery.services.profiles.lint_gate import LintGate
from tests.support.csrs import make_key
from tests.unit.pki.test_issuer import NOW, self_signed_root

INHIBIT_ANY_POLICY = {"oid": "2.5.29.54", "value": "020100"}  # RFC 5280 §4.2.1.14: CA certificates only


def profile(lint: dict[str, Any], custom: list[dict[str, Any]] | None = None, version: int = 1) -> Profile:
    document = {
        "name": "gate",
        "validity": {"default": "1d", "max": "2d"},
        "key_usage": {"critical": True, "usages": ["digital_signature"]},
        "extensions": {"custom": custom or []},
        "lint": lint,
    }
    return compile_profile(load_document(document), version)  # type: ignore[arg-type]


def prepared(rules: Profile) -> PreparedCertificate:
    request = CertificateRequest(parse_name("CN=gate"), make_key().public_key(), rules)
    return prepare(request, self_signed_root(), SerialNumber(99), NOW)


def test_every_mode_lints_each_certificate_and_refuses_blocking_findings() -> None:
    gate = LintGate()
    clean = profile({"mode": "every"})
    assert gate.check(prepared(clean), clean) is not None
    assert gate.check(prepared(clean), clean) is not None
    broken = profile({"mode": "every"}, [INHIBIT_ANY_POLICY])
    with pytest.raises(LintFailed) as refused:
        gate.check(prepared(broken), broken)
    assert refused.value.sub_errors[0].identifier == "pkix.end_entity_inhibit_anypolicy_extension_present"
    assert "gate@1" in refused.value.detail and refused.value.sub_errors[0].detail.startswith("ERROR")


def test_accepted_findings_do_not_refuse() -> None:
    accepted = profile(
        {
            "mode": "every",
            "accept": [{"code": "pkix.end_entity_inhibit_anypolicy_extension_present", "reason": "test"}],
        },
        [INHIBIT_ANY_POLICY],
    )
    report = LintGate().check(prepared(accepted), accepted)
    assert report is not None and not report.blocking
    assert any(report.accepted(f) for f in report.findings)


def test_sampled_mode_lints_the_first_of_each_version_then_a_fraction() -> None:
    draws = iter([0.5, 0.001, 0.5])
    gate = LintGate(draw=lambda: next(draws))
    sampled = profile({"mode": "sampled", "sample_rate": 0.01})
    assert gate.check(prepared(sampled), sampled) is not None  # the first of version 1: always
    assert gate.check(prepared(sampled), sampled) is None  # 0.5 >= 0.01: skipped
    assert gate.check(prepared(sampled), sampled) is not None  # 0.001 < 0.01: linted
    next_version = profile({"mode": "sampled", "sample_rate": 0.01}, version=2)
    assert gate.due(next_version)  # a new version is linted first, whatever the draw


def test_a_failing_first_issuance_keeps_the_version_unlinted() -> None:
    gate = LintGate(draw=lambda: 0.99)
    broken = profile({"mode": "sampled", "sample_rate": 0.0}, [INHIBIT_ANY_POLICY])
    for _ in range(2):  # refused twice: the version never counted as linted
        with pytest.raises(LintFailed):
            gate.check(prepared(broken), broken)


def test_off_mode_never_lints() -> None:
    off = profile({"mode": "off"}, [INHIBIT_ANY_POLICY])
    assert LintGate().check(prepared(off), off) is None
