"""Key ceremonies and M-of-N key store activation through the real `chancery` command, checked with openssl.

An offline root and an online issuing CA live in two data directories, each with three enrolled
custodians (threshold 2): the root ceremony, the intermediate's key and CSR, the signing ceremony
with an offline CRL, and the activation are each run from one YAML file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.interop.conftest import Cli, openssl, openssl_csr, verify
from tests.interop.server import Server, free_port
from tests.support.softhsm import MODULE, PIN_VARIABLE, make_softhsm, softhsm_available

pytestmark = pytest.mark.interop

PASSPHRASES = {"alice": "first custodian's passphrase", "bob": "a rather long passphrase", "carol": "kept in a safe!"}
ENV = {f"CHANCERY_CUSTODIAN_PASSPHRASE_{name.upper()}": value for name, value in PASSPHRASES.items()}
NONE = dict.fromkeys(ENV, "")


def present(*names: str, **wrong: str) -> dict[str, str]:
    """The environment in which only ``names`` give their passphrases (``wrong`` replaces one)."""
    return {**NONE, **{f"CHANCERY_CUSTODIAN_PASSPHRASE_{n.upper()}": wrong.get(n, PASSPHRASES[n]) for n in names}}


def installation(path: Path, passphrase: str) -> Cli:
    cli = Cli(path, passphrase=passphrase, **ENV)
    cli("init")
    for name in PASSPHRASES:
        cli("ceremony", "custodian", "add", name)
    return cli


def as_present(cli: Cli, *names: str, **wrong: str) -> Cli:
    other = Cli(cli.cwd / "unused")
    other.cwd, other.env = cli.cwd, {**cli.env, **present(*names, **wrong)}
    return other


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path


ROOT = """\
ceremony: root-2026
description: Generate the offline root key, self-sign, first CRL
custodians: [alice, bob, carol]
threshold: 2
steps:
  - action: create-root
    ca: root
    subject: "CN=Ceremony Root CA,O=Example"
    key_type: ec-p384
    key_store: software
    days: 7300
    path_length: 1
    out: root.pem
  - action: crl
    ca: root
    validity: 180d
    out: root.crl
"""

INTERMEDIATE = """\
ceremony: issuing-2026
custodians: [alice, bob, carol]
threshold: 2
steps:
  - action: create-intermediate
    ca: issuing
    subject: "CN=Ceremony Issuing CA,O=Example"
    key_type: ec-p256
    csr_out: issuing.csr
"""

SIGNING = """\
ceremony: sign-issuing-2026
custodians: [alice, bob, carol]
threshold: 2
steps:
  - action: sign-csr
    ca: root
    csr: issuing.csr
    profile: sub-ca
    days: 1825
    path_length: 0
    out: issuing.pem
  - action: crl
    ca: root
    validity: 180d
    format: pem
    out: root-2.crl.pem
"""

ACTIVATION = """\
ceremony: activate-issuing-2026
custodians: [alice, bob, carol]
threshold: 2
steps:
  - action: import-certificate
    ca: issuing
    certificate: issuing.pem
    chain: root.pem
  - action: export
    ca: issuing
    chain: true
    out: issuing-chain.pem
"""


def test_root_and_intermediate_ceremonies(tmp_path: Path) -> None:
    offline = installation(tmp_path / "offline", "offline root passphrase")
    online = installation(tmp_path / "online", "online issuing passphrase")
    root_dir, issuing_dir = tmp_path / "root-ceremony", tmp_path / "issuing-ceremony"

    out = as_present(offline, "alice", "bob")("ceremony", "run", str(write(root_dir, "root.yaml", ROOT))).stdout
    assert "Ceremony root-2026 completed: 2 of 2 steps" in out
    root = root_dir / "root.pem"
    assert openssl("verify", "-x509_strict", "-CAfile", str(root), str(root), check=False).returncode == 0
    crl = openssl("crl", "-inform", "DER", "-in", str(root_dir / "root.crl"), "-CAfile", str(root), "-noout", "-verify")
    assert "verify OK" in crl.stderr + crl.stdout

    as_present(online, "bob", "carol")("ceremony", "run", str(write(issuing_dir, "issuing.yaml", INTERMEDIATE)))
    shutil.copy(issuing_dir / "issuing.csr", root_dir / "issuing.csr")
    as_present(offline, "alice", "carol")("ceremony", "run", str(write(root_dir, "sign.yaml", SIGNING)))
    issuing = root_dir / "issuing.pem"
    assert openssl("verify", "-x509_strict", "-CAfile", str(root), str(issuing), check=False).returncode == 0
    crl = openssl("crl", "-in", str(root_dir / "root-2.crl.pem"), "-CAfile", str(root), "-noout", "-verify")
    assert "verify OK" in crl.stderr + crl.stdout

    shutil.copy(issuing, issuing_dir / "issuing.pem")
    shutil.copy(root, issuing_dir / "root.pem")
    as_present(online, "alice", "bob")("ceremony", "run", str(write(issuing_dir, "activate.yaml", ACTIVATION)))
    online.issue(openssl_csr(tmp_path, "www"), tmp_path / "www.pem")
    assert verify(root, issuing_dir / "issuing-chain.pem", tmp_path / "www.pem").returncode == 0

    for transcript in (
        root_dir / "root-2026.transcript.json",
        issuing_dir / "issuing-2026.transcript.json",
        root_dir / "sign-issuing-2026.transcript.json",
        issuing_dir / "activate-issuing-2026.transcript.json",
    ):
        checked = offline("ceremony", "verify", str(transcript))
        assert "verifies: signature good" in checked.stdout
    document = json.loads((root_dir / "sign-issuing-2026.transcript.json").read_text())
    assert [a["custodian"] for a in document["authenticated"]] == ["alice", "carol"]
    assert {a["file"] for a in document["artefacts"]} == {"sign.yaml", "issuing.csr", "issuing.pem", "root-2.crl.pem"}
    audit = offline("audit", "list", "--action", "ceremony.completed").stdout
    assert "sign-issuing-2026" in audit

    # The same transcript after one byte of an artefact, or of itself, changed.
    archive = tmp_path / "archive"
    shutil.copytree(root_dir, archive)
    transcript = archive / "root-2026.transcript.json"
    pem = bytearray((archive / "root.pem").read_bytes())
    pem[100] ^= 0x01
    (archive / "root.pem").write_bytes(bytes(pem))
    failed = offline("ceremony", "verify", str(transcript), check=False)
    assert failed.returncode == 1 and "artefact root.pem differs" in failed.stderr
    shutil.copy(root, archive / "root.pem")
    assert offline("ceremony", "verify", str(transcript), "--artefacts", str(root_dir)).returncode == 0
    data = bytearray(transcript.read_bytes())
    data[data.index(b"Generate")] ^= 0x20  # "generate"
    transcript.write_bytes(bytes(data))
    failed = offline("ceremony", "verify", str(transcript), check=False)
    assert failed.returncode == 1 and "signature does not verify" in failed.stderr


@pytest.mark.parametrize(
    ("names", "wrong", "message"),
    [
        pytest.param(("alice",), {}, "ceremony root-2026 needs 2 of the custodians", id="fail/one-of-two"),
        pytest.param(("alice", "bob"), {"bob": "not the right one"}, "bob's passphrase is wrong", id="fail/wrong"),
    ],
)
def test_without_the_quorum_the_ceremony_creates_nothing(
    tmp_path: Path, names: tuple[str, ...], wrong: dict[str, str], message: str
) -> None:
    offline = installation(tmp_path / "offline", "offline root passphrase")
    script = write(tmp_path / "root-ceremony", "root.yaml", ROOT)
    refused = as_present(offline, *names, **wrong)("ceremony", "run", str(script), check=False)
    assert refused.returncode == 5 and message in refused.stderr
    assert sorted(p.name for p in script.parent.iterdir()) == ["root.yaml"]
    assert "root" not in offline("ca", "list").stdout


def test_a_malformed_script_is_refused_naming_the_field(tmp_path: Path) -> None:
    offline = installation(tmp_path / "offline", "offline root passphrase")
    script = write(tmp_path / "root-ceremony", "root.yaml", ROOT.replace("days: 7300", "days: 7300\n    colour: red"))
    refused = as_present(offline, "alice", "bob")("ceremony", "run", str(script), check=False)
    assert refused.returncode == 2
    assert "root.yaml is not a valid ceremony script: line 12: step 1 (create-root): unknown field 'colour'" in (
        " ".join(refused.stderr.split())
    )
    assert sorted(p.name for p in script.parent.iterdir()) == ["root.yaml"]
    assert "root" not in offline("ca", "list").stdout


def test_the_key_store_opens_with_the_quorum_only(tmp_path: Path) -> None:
    cli = installation(tmp_path / "data", "the original passphrase")
    cli("ca", "create-root", "root", "--subject", "CN=Quorum Root", "--key-type", "ec-p256")
    out = cli("keys", "require-quorum", "--custodians", "alice,bob,carol", "--threshold", "2").stdout
    assert "opens with 2 of the custodians alice, bob, carol" in out
    assert "key store share" in cli("ceremony", "custodian", "list").stdout

    assert "CRL" in as_present(cli, "alice", "carol")("crl", "generate", "--ca", "root").stdout
    for names, wrong, message in (
        (("alice",), {}, "opens with 2 of its 3 custodians' passphrases"),
        ((), {}, "0 given"),
        (("alice", "bob"), {"bob": "not the right one"}, "bob's passphrase is wrong"),
    ):
        refused = as_present(cli, *names, **wrong)("crl", "generate", "--ca", "root", check=False)
        assert refused.returncode == 6 and message in " ".join(refused.stderr.split()), refused.stderr

    # No terminal to ask on, one custodian in the environment: the server does not start.
    refused = as_present(cli, "carol")("serve", "--port", str(free_port()), check=False)
    assert refused.returncode == 6 and "opens with 2 of its 3 custodians" in " ".join(refused.stderr.split())
    with Server(as_present(cli, "bob", "carol")) as server:
        assert server.process is not None and server.process.poll() is None
    assert "keystore.unlocked" in cli("audit", "list", "--action", "keystore.").stdout


def test_a_root_ceremony_with_the_key_in_softhsm(tmp_path: Path) -> None:
    if not softhsm_available():
        pytest.skip("SoftHSM2 and OpenSC are not installed (make test installs them)")
    offline = installation(tmp_path / "offline", "offline root passphrase")
    script = write(tmp_path / "root-ceremony", "root.yaml", ROOT.replace("key_store: software", "key_store: pkcs11"))
    hsm = make_softhsm(tmp_path / "hsm")
    offline.env.update(hsm.env())

    refused = as_present(offline, "alice", "bob")("ceremony", "run", str(script), check=False)
    assert refused.returncode == 7 and "step 1 (create-root): key_store pkcs11 needs a PKCS#11 token" in " ".join(
        refused.stderr.split()
    )
    assert sorted(p.name for p in script.parent.iterdir()) == ["root.yaml"]

    offline("keys", "configure-pkcs11", "--module", str(MODULE), "--token-label", hsm.label, "--pin-env", PIN_VARIABLE)
    as_present(offline, "bob", "carol")("ceremony", "run", str(script))
    root = script.parent / "root.pem"
    assert openssl("verify", "-x509_strict", "-CAfile", str(root), str(root), check=False).returncode == 0
    crl = openssl("crl", "-inform", "DER", "-in", str(script.parent / "root.crl"), "-CAfile", str(root), "-verify")
    assert "verify OK" in crl.stderr + crl.stdout
    document = json.loads((script.parent / "root-2026.transcript.json").read_text())
    assert document["steps"][0]["details"]["key_id"].startswith("pkcs11:")
    (key,) = hsm.private_keys().values()  # the root's key, generated in the token and never extractable
    assert "sensitive" in key["Access"] and "never extractable" in key["Access"]
    assert offline("ceremony", "verify", str(script.parent / "root-2026.transcript.json")).returncode == 0
