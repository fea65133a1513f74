"""CA keys in SoftHSM2 through the real ``chancery`` command, checked with openssl and pkcs11-tool.

The whole core flow once on the token: ``keys configure-pkcs11``; a root and an issuing CA created
with ``--key-store pkcs11``; a certificate that ``openssl verify`` accepts; a CRL (``openssl crl
-verify``) and an OCSP response (``openssl ocsp``, from ``chancery serve``) signed by the HSM key;
``pkcs11-tool --list-objects`` shows the private keys sensitive and never extractable. Then the
faults, each a clear error that changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.conftest import Cli, openssl, openssl_csr, verify
from tests.interop.server import Server, free_port
from tests.support.softhsm import MODULE, PIN_VARIABLE, SoftHsm, make_softhsm, softhsm_available

pytestmark = [pytest.mark.interop, pytest.mark.slow]


@pytest.fixture
def hsm(tmp_path: Path) -> SoftHsm:
    if not softhsm_available():
        pytest.skip("SoftHSM2 and OpenSC are not installed (make test installs them)")
    return make_softhsm(tmp_path / "hsm")


def configure(cli: Cli, hsm: SoftHsm, *extra: str, check: bool = True) -> str:
    args = ("--module", str(MODULE), "--token-label", hsm.label, "--pin-env", PIN_VARIABLE, *extra)
    result = cli("keys", "configure-pkcs11", *args, check=check)
    return result.stdout + result.stderr


def test_core_flow_on_softhsm(tmp_path: Path, hsm: SoftHsm) -> None:
    port = free_port()
    cli = Cli(tmp_path / "data", CHANCERY_BASE_URL=f"http://127.0.0.1:{port}", **hsm.env())
    cli("init", "--admin-token-out", str(tmp_path / "token"))
    assert "PKCS#11 token 'chancery-test'" in configure(cli, hsm)
    cli(
        "ca",
        "create-root",
        "root",
        "--subject",
        "CN=HSM Root,O=Interop",
        "--key-type",
        "ec-p384",
        "--key-store",
        "pkcs11",
    )
    subject = "CN=HSM Issuing,O=Interop"
    cli("ca", "create-intermediate", "issuing", "--parent", "root", "--subject", subject, "--key-type", "rsa-3072",
        "--key-store", "pkcs11")  # fmt: skip
    assert "pkcs11" in cli("ca", "show", "issuing").stdout
    for name in ("root", "issuing"):
        cli("ca", "export", name, "--out", str(tmp_path / f"{name}.pem"))

    leaf = tmp_path / "leaf.pem"
    cli.issue(openssl_csr(tmp_path, "leaf"), leaf)
    checked = verify(tmp_path / "root.pem", tmp_path / "issuing.pem", leaf)
    assert checked.returncode == 0 and f"{leaf}: OK" in checked.stdout, checked.stdout + checked.stderr

    serial = openssl("x509", "-in", str(leaf), "-noout", "-serial").stdout.strip().split("=")[1]
    cli("cert", "revoke", serial, "--ca", "issuing", "--reason", "keyCompromise")
    cli("crl", "generate", "--ca", "issuing", "--out", str(tmp_path / "issuing.crl"))
    crl = openssl("crl", "-inform", "DER", "-in", str(tmp_path / "issuing.crl"), "-CAfile", str(tmp_path / "issuing.pem"),
                  "-noout", "-verify", "-text", check=False)  # fmt: skip
    assert "verify OK" in crl.stdout + crl.stderr and serial.upper() in crl.stdout.upper()

    cli("crl", "configure", "--ca", "issuing", "--ocsp-signing", "ca")  # the HSM key signs the answers
    server = Server(cli, port).start()
    try:
        answer = openssl("ocsp", "-issuer", str(tmp_path / "issuing.pem"), "-cert", str(leaf),
                         "-url", f"{server.url}/ocsp", "-CAfile", str(tmp_path / "root.pem"),
                         "-verify_other", str(tmp_path / "issuing.pem"), "-resp_text", check=False)  # fmt: skip
    finally:
        server.stop()
    text = answer.stdout + answer.stderr
    assert "Response verify OK" in text and f"{leaf}: revoked" in text, text
    assert "sha256WithRSAEncryption" in text

    keys = hsm.private_keys()
    assert len(keys) == 2
    for key in keys.values():
        assert key["Usage"] == "sign"
        assert key["Access"].split(", ")[:3] == ["sensitive", "always sensitive", "never extractable"]
    shown = cli("keys", "show").stdout
    assert "reached" in shown and shown.count("chancery-ca-") == 2 and "issuing" in shown


@pytest.mark.parametrize(
    "case",
    ["fail/wrong-pin", "fail/missing-token", "fail/missing-module", "fail/label-does-not-exist", "fail/unsupported"],
)
def test_faults_are_clear_and_change_nothing(tmp_path: Path, hsm: SoftHsm, case: str) -> None:
    cli = Cli(tmp_path / "data", **hsm.env())
    cli("init")
    if case not in ("fail/wrong-pin", "fail/missing-token", "fail/missing-module"):
        configure(cli, hsm)
    objects, audit = hsm.object_count(), cli("audit", "verify").stdout
    if case == "fail/wrong-pin":
        cli.env[PIN_VARIABLE] = "0000-wrong"
        out = configure(cli, hsm, check=False)
        expected = "token 'chancery-test' refused the PIN"
    elif case == "fail/missing-token":
        out = cli("keys", "configure-pkcs11", "--module", str(MODULE), "--token-label", "nope", "--pin-env",
                  PIN_VARIABLE, check=False).stderr  # fmt: skip
        expected = "there is no token 'nope'"
    elif case == "fail/missing-module":
        out = cli("keys", "configure-pkcs11", "--module", "/nonexistent/lib.so", "--token-label", hsm.label,
                  "--pin-env", PIN_VARIABLE, check=False).stderr  # fmt: skip
        expected = "does not load"
    elif case == "fail/label-does-not-exist":
        out = cli("ca", "create-root", "root", "--subject", "CN=Root", "--existing-key-label", "nope",
                  check=False).stderr  # fmt: skip
        expected = "no private key labelled 'nope' in token 'chancery-test'"
    else:  # the token offers no EdDSA (SoftHSM2's slots.mechanisms)
        cli.env["SOFTHSM2_CONF"] = str(
            hsm.without_mechanisms(tmp_path, "CKM_EC_EDWARDS_KEY_PAIR_GEN", "CKM_EDDSA").conf
        )
        out = cli("ca", "create-root", "root", "--subject", "CN=Root", "--key-type", "ed25519", "--key-store",
                  "pkcs11", check=False).stderr  # fmt: skip
        expected = "cannot make Ed25519 keys: it lacks CKM_EC_EDWARDS_KEY_PAIR_GEN"
    assert expected in " ".join(out.split()), out
    assert "Traceback" not in out and hsm.pin not in out
    assert hsm.object_count() == objects and cli("audit", "verify").stdout == audit
    assert "root" not in cli("ca", "list").stdout
    cli.env[PIN_VARIABLE] = hsm.pin
    cli.env["SOFTHSM2_CONF"] = str(hsm.conf)
    shown = cli("keys", "show").stdout
    assert ("not configured" in shown) == (case in ("fail/wrong-pin", "fail/missing-token", "fail/missing-module"))


def test_server_refuses_to_start_on_a_wrong_pin(tmp_path: Path, hsm: SoftHsm) -> None:
    cli = Cli(tmp_path / "data", **hsm.env())
    cli("init")
    configure(cli, hsm)
    cli("ca", "create-root", "root", "--subject", "CN=Root", "--key-store", "pkcs11")
    cli.env[PIN_VARIABLE] = "0000-wrong"
    with pytest.raises(RuntimeError, match="server exited") as caught:
        Server(cli).start()
    assert "token 'chancery-test' refused the PIN" in str(caught.value) and hsm.pin not in str(caught.value)
