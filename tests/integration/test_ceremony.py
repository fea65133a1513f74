"""Scripted key ceremonies through the service: quorum first, every step audited, a signed transcript."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from chancery import wiring
from chancery.cli.ceremony import LocalDirectory
from chancery.domain.principals import Principal
from chancery.domain.queries import AuditFilter
from chancery.errors import ConfigurationError, Conflict, NotFound, Unauthorized
from chancery.services.approvals import APPROVALS_POLICY
from chancery.services.ceremony import transcript
from chancery.services.ceremony.runner import CeremonyResult, CeremonyRun
from chancery.services.ceremony.script import parse_script

pytestmark = pytest.mark.integration

PASSPHRASES = {"alice": "first custodian's passphrase", "bob": "a rather long passphrase", "carol": "kept in a safe!"}

ROOT_AND_ISSUING = """\
ceremony: hierarchy-2026
description: Root and issuing CA on one installation
custodians: [alice, bob, carol]
threshold: 2
steps:
  - action: create-root
    ca: root
    subject: "CN=Ceremony Root,O=Chancery Tests"
    key_type: ec-p384
    days: 3650
    path_length: 1
    out: root.pem
  - action: create-intermediate
    ca: issuing
    subject: "CN=Ceremony Issuing,O=Chancery Tests"
    parent: root
    out: issuing.pem
  - action: crl
    ca: root
    validity: 90d
    out: root.crl
  - action: export
    ca: issuing
    chain: true
    out: issuing-chain.pem
"""


@pytest.fixture
def custodians(app: wiring.Application, admin: Principal) -> wiring.Application:
    for name, passphrase in PASSPHRASES.items():
        app.custodians.enrol(admin, name, passphrase)
    return app


def ceremony(tmp_path: Path, text: str, name: str = "ceremony.yaml") -> CeremonyRun:
    directory = tmp_path / "ceremony"
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(text)
    return CeremonyRun(parse_script(text.encode(), name), text.encode(), name, LocalDirectory(directory))


def run(app: wiring.Application, admin: Principal, run: CeremonyRun, *names: str) -> CeremonyResult:
    return app.ceremonies.run(admin, run, {name: PASSPHRASES[name] for name in names})


def verify(result: CeremonyResult, directory: Path) -> transcript.Verification:
    return transcript.verify(result.transcript, LocalDirectory(directory).read_if_present)


def test_a_root_and_issuing_ceremony(custodians: wiring.Application, admin: Principal, tmp_path: Path) -> None:
    result = run(custodians, admin, ceremony(tmp_path, ROOT_AND_ISSUING), "bob", "carol")
    assert (result.outcome, result.steps_done, result.error) == ("completed", 4, None)
    directory = tmp_path / "ceremony"
    root = x509.load_pem_x509_certificate((directory / "root.pem").read_bytes())
    issuing = x509.load_pem_x509_certificate((directory / "issuing.pem").read_bytes())
    issuing.verify_directly_issued_by(root)
    crl = x509.load_der_x509_crl((directory / "root.crl").read_bytes())
    assert crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]

    document = json.loads(result.transcript)
    assert document["authenticated"] == [
        {"custodian": "bob", "at": document["started_at"]},
        {"custodian": "carol", "at": document["started_at"]},
    ]
    assert [step["action"] for step in document["steps"]] == ["create-root", "create-intermediate", "crl", "export"]
    files = [artefact["file"] for artefact in document["artefacts"]]
    assert files == ["ceremony.yaml", "root.pem", "issuing.pem", "root.crl", "issuing-chain.pem"]
    assert document["steps"][0]["details"]["certificate_sha256"] == root.fingerprint(hashes.SHA256()).hex()
    check = verify(result, directory)
    assert (check.ok, check.ceremony, check.outcome, check.artefacts) == (True, "hierarchy-2026", "completed", 5)

    audited = custodians.audit.search(admin, AuditFilter(action="ceremony."), limit=20)
    assert [record.action for record in reversed(audited)] == ["ceremony.started"] + ["ceremony.step"] * 4 + [
        "ceremony.completed"
    ]
    assert audited[0].details["transcript_sha256"] == result.transcript_sha256
    assert audited[0].details["signer_key_sha256"] == check.key_sha256


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        pytest.param(lambda data: data.replace(b'"completed"', b'"complete!"'), "signature", id="fail/outcome"),
        pytest.param(lambda data: data.replace(b"hierarchy-2026", b"hierarchy-2025"), "signature", id="fail/name"),
        pytest.param(lambda data: data.replace(b'  "ceremony"', b'   "ceremony"'), "laid out", id="fail/whitespace"),
        pytest.param(lambda data: data[:-2], "not a transcript", id="fail/truncated"),
        pytest.param(lambda data: bytes([data[0] ^ 1]) + data[1:], "not a transcript", id="fail/first-byte"),
    ],
)
def test_a_changed_transcript_fails(
    custodians: wiring.Application, admin: Principal, tmp_path: Path, change, problem: str
) -> None:
    result = run(custodians, admin, ceremony(tmp_path, ROOT_AND_ISSUING), "alice", "bob")
    changed = change(result.transcript)
    assert changed != result.transcript
    check = transcript.verify(changed, LocalDirectory(tmp_path / "ceremony").read_if_present)
    assert not check.ok and problem in check.problem


@pytest.mark.parametrize(
    ("file", "damage", "problem"),
    [
        pytest.param("issuing.pem", "flip", "artefact issuing.pem differs", id="fail/certificate"),
        pytest.param("root.crl", "delete", "artefact root.crl is missing", id="fail/crl-missing"),
        pytest.param("ceremony.yaml", "flip", "artefact ceremony.yaml differs", id="fail/script"),
    ],
)
def test_a_changed_artefact_fails(
    custodians: wiring.Application, admin: Principal, tmp_path: Path, file: str, damage: str, problem: str
) -> None:
    result = run(custodians, admin, ceremony(tmp_path, ROOT_AND_ISSUING), "alice", "carol")
    target = tmp_path / "ceremony" / file
    if damage == "delete":
        target.unlink()
    else:
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0x01
        target.write_bytes(bytes(data))
    check = verify(result, tmp_path / "ceremony")
    assert not check.ok and problem in check.problem


def test_another_signer_is_refused_when_the_key_is_pinned(
    custodians: wiring.Application, admin: Principal, tmp_path: Path
) -> None:
    result = run(custodians, admin, ceremony(tmp_path, ROOT_AND_ISSUING), "alice", "carol")
    read = LocalDirectory(tmp_path / "ceremony").read_if_present
    good = transcript.verify(result.transcript, read)
    assert transcript.verify(result.transcript, read, good.key_sha256).ok
    pinned = transcript.verify(result.transcript, read, "00" * 32)
    assert not pinned.ok and "not by the expected" in pinned.problem


@pytest.mark.parametrize(
    ("given", "message"),
    [
        pytest.param({"alice": PASSPHRASES["alice"]}, "needs 2 of the custodians", id="fail/one-of-two"),
        pytest.param({}, "0 authenticated", id="fail/none"),
        pytest.param({"alice": PASSPHRASES["alice"], "bob": "not bob's at all"}, "bob's passphrase", id="fail/wrong"),
    ],
)
def test_without_the_quorum_nothing_is_created(
    custodians: wiring.Application, admin: Principal, tmp_path: Path, given: dict[str, str], message: str
) -> None:
    with pytest.raises(Unauthorized, match=message):
        custodians.ceremonies.run(admin, ceremony(tmp_path, ROOT_AND_ISSUING), given)
    assert custodians.hierarchy.list(admin) == ()
    assert sorted(p.name for p in (tmp_path / "ceremony").iterdir()) == ["ceremony.yaml"]
    refused = custodians.audit.search(admin, AuditFilter(action="custodian."), limit=5)
    assert refused[0].action in ("custodian.quorum-refused", "custodian.authentication-failed")
    assert refused[0].outcome == "failure"
    assert custodians.audit.search(admin, AuditFilter(action="ceremony."), limit=5) == []


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        pytest.param(
            ROOT_AND_ISSUING.replace("[alice, bob, carol]", "[alice, bob, dave]"),
            NotFound,
            "not enrolled: dave",
            id="fail/unknown-custodian",
        ),
        pytest.param(
            ROOT_AND_ISSUING.replace("    parent: root\n", "    parent: elsewhere\n"),
            NotFound,
            r"step 2 \(create-intermediate\): no CA named .elsewhere.",
            id="fail/unknown-parent",
        ),
        pytest.param(
            ROOT_AND_ISSUING.replace("    key_type: ec-p384\n", "    key_type: ec-p384\n    key_store: pkcs11\n"),
            ConfigurationError,
            "none is configured",
            id="fail/pkcs11-not-configured",
        ),
        pytest.param(
            ROOT_AND_ISSUING.replace("out: root.crl", "out: ceremony.yaml"),
            Conflict,
            "never overwrites",
            id="fail/overwrite-script",
        ),
    ],
)
def test_a_ceremony_that_cannot_run_is_refused_before_anyone_authenticates(
    custodians: wiring.Application, admin: Principal, tmp_path: Path, text: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        custodians.ceremonies.check(admin, ceremony(tmp_path, text))
    assert custodians.hierarchy.list(admin) == ()


def test_dual_control_refuses_a_ceremony(custodians: wiring.Application, admin: Principal, tmp_path: Path) -> None:
    custodians.policies.set(admin, APPROVALS_POLICY, 1)
    with pytest.raises(Conflict, match="dual control"):
        custodians.ceremonies.check(admin, ceremony(tmp_path, ROOT_AND_ISSUING))


def test_a_failing_step_ends_the_ceremony_with_a_signed_record(
    custodians: wiring.Application, admin: Principal, tmp_path: Path
) -> None:
    text = ROOT_AND_ISSUING.split("  - action: create-intermediate")[0] + (
        "  - action: sign-csr\n    ca: root\n    csr: garbage.csr\n    out: garbage.pem\n"
    )
    (tmp_path / "ceremony").mkdir()
    (tmp_path / "ceremony" / "garbage.csr").write_bytes(b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n")
    result = run(custodians, admin, ceremony(tmp_path, text), "alice", "bob")
    assert (result.outcome, result.steps_done) == ("failed", 1)
    assert result.error is not None and "not a valid CSR" in result.error.detail
    document = json.loads(result.transcript)
    assert document["error"]["step"] == 2 and document["outcome"] == "failed"
    assert [a["file"] for a in document["artefacts"]] == ["ceremony.yaml", "root.pem"]
    assert verify(result, tmp_path / "ceremony").ok
    assert [ca.name for ca in custodians.hierarchy.list(admin)] == ["root"]
