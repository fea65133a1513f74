"""The EMV contract through the real ``chancery`` command, with card keys made by openssl.

chancery emv ca create NAME --rid A000000999 --index 01 --bits 1408 [--exponent 3]
chancery emv ca export NAME --json
chancery emv issuer create NAME --bin 476173 --bits 1152 [--exponent 3]
chancery emv issuer certify NAME --ca CA_NAME --expiry MMYY --json
chancery emv icc issue --issuer NAME --pan PAN --expiry MMYY --icc-public-key FILE [--static-data HEX] --json
chancery emv verify --ca-key FILE --issuer-cert FILE [--icc-cert FILE ...]
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.interop.conftest import Cli, openssl

pytestmark = pytest.mark.interop
PAN = "4761739001010119"
STATIC = "5A0847617390010101195F24032512315F2503010101"
EXPIRY = f"12{(dt.date.today().year + 3) % 100:02d}"


def card_key(folder: Path, name: str = "card") -> Path:
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-pkeyopt", "rsa_keygen_pubexp:3",
            "-out", str(folder / f"{name}.key"))  # fmt: skip
    openssl("pkey", "-in", str(folder / f"{name}.key"), "-pubout", "-out", str(folder / f"{name}.pub"))
    return folder / f"{name}.pub"


@pytest.fixture
def scheme(cli: Cli, tmp_path: Path) -> Cli:
    cli("init")
    cli(
        "emv",
        "ca",
        "create",
        "test-scheme",
        "--rid",
        "A000000999",
        "--index",
        "01",
        "--bits",
        "1408",
        "--exponent",
        "3",
    )
    cli("emv", "issuer", "create", "bank", "--bin", "476173", "--bits", "1152")
    return cli


def test_the_contract_round_trip(scheme: Cli, tmp_path: Path) -> None:
    capk = json.loads(scheme("emv", "ca", "export", "test-scheme", "--json").stdout)
    assert set(capk) == {"rid", "index", "modulus", "exponent", "check_value"}
    assert (capk["rid"], capk["index"], capk["exponent"], len(capk["modulus"])) == ("A000000999", "01", "03", 352)
    issuer = json.loads(
        scheme("emv", "issuer", "certify", "bank", "--ca", "test-scheme", "--expiry", EXPIRY, "--json").stdout
    )
    assert {"certificate_90", "remainder_92", "exponent_9F32", "ca_index_8F"} <= set(issuer)
    assert len(issuer["certificate_90"]) == 352 and issuer["ca_index_8F"] == "01" and issuer["exponent_9F32"] == "03"
    card = json.loads(
        scheme("emv", "icc", "issue", "--issuer", "bank", "--pan", PAN, "--expiry", EXPIRY,
               "--icc-public-key", str(card_key(tmp_path)), "--static-data", STATIC, "--json").stdout
    )  # fmt: skip
    assert {"certificate_9F46", "remainder_9F48", "exponent_9F47"} <= set(card)
    assert len(card["certificate_9F46"]) == 288 and card["exponent_9F47"] == "03"

    files = {name: tmp_path / f"{name}.json" for name in ("ca", "issuer", "card")}
    for name, document in (("ca", capk), ("issuer", issuer), ("card", card)):
        files[name].write_text(json.dumps(document))
    ok = scheme("emv", "verify", "--ca-key", str(files["ca"]), "--issuer-cert", str(files["issuer"]),
                "--icc-cert", str(files["card"]), "--static-data", STATIC)  # fmt: skip
    assert "issuer certificate: OK" in ok.stdout and "card.json: OK" in ok.stdout

    tampered = dict(
        card, certificate_9F46=card["certificate_9F46"][:-2] + ("00" if card["certificate_9F46"][-2:] != "00" else "01")
    )
    files["card"].write_text(json.dumps(tampered))
    bad = scheme("emv", "verify", "--ca-key", str(files["ca"]), "--issuer-cert", str(files["issuer"]),
                 "--icc-cert", str(files["card"]), "--static-data", STATIC, check=False)  # fmt: skip
    assert bad.returncode == 2 and "error" in bad.stderr
    wrong_data = scheme("emv", "verify", "--ca-key", str(files["ca"]), "--issuer-cert", str(files["issuer"]),
                        "--icc-cert", str(files["issuer"]), check=False)  # fmt: skip
    assert wrong_data.returncode == 2


def test_bulk_issue_is_checked_whole_before_anything_is_written(scheme: Cli, tmp_path: Path) -> None:
    scheme("emv", "issuer", "certify", "bank", "--ca", "test-scheme", "--expiry", EXPIRY)
    numbers = serialization.load_pem_public_key(card_key(tmp_path).read_bytes()).public_numbers()  # type: ignore[union-attr]
    modulus = format(numbers.n, "X")
    lines = [f"47617390010101{n:02d},{EXPIRY},{modulus},03" for n in range(30)]
    good = tmp_path / "cards.csv"
    good.write_text("# PAN,MMYY,MODULUS,EXPONENT\n" + "\n".join(lines) + "\n")
    out = tmp_path / "certificates.jsonl"
    scheme("emv", "icc", "issue", "--issuer", "bank", "--bulk", str(good), "--out", str(out))
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [w["pan_5A"] for w in written] == [line.split(",")[0] for line in lines]

    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join([*lines[:7], f"4761739001010199,{EXPIRY},NOT-HEX,03", *lines[7:]]) + "\n")
    out2 = tmp_path / "second.jsonl"
    refused = scheme("emv", "icc", "issue", "--issuer", "bank", "--bulk", str(broken), "--out", str(out2), check=False)
    assert refused.returncode == 2 and "line 8" in refused.stderr
    assert not out2.exists() and not out2.with_name(out2.name + ".partial").exists()

    stray = tmp_path / "stray.csv"
    stray.write_text("\n".join([*lines[:29], f"5500000000000004,{EXPIRY},{modulus},03"]) + "\n")
    refused = scheme("emv", "icc", "issue", "--issuer", "bank", "--bulk", str(stray), "--out", str(out2), check=False)
    assert refused.returncode == 2 and "card 30" in refused.stderr and not out2.exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["emv", "ca", "create", "x", "--rid", "A0000009", "--index", "01", "--bits", "1408"], "RID"),
        (
            ["emv", "ca", "create", "x", "--rid", "A000000999", "--index", "01", "--bits", "1408", "--exponent", "2"],
            "exponent",
        ),
        (["emv", "ca", "create", "x", "--rid", "A000000999", "--index", "0101", "--bits", "1408"], "index"),
        (["emv", "issuer", "create", "y", "--bin", "47", "--bits", "1152"], "3 to 8"),
        (["emv", "issuer", "certify", "bank", "--ca", "test-scheme", "--expiry", "1399"], "month"),
        (["emv", "issuer", "certify", "bank", "--ca", "nobody", "--expiry", EXPIRY], "no EMV CA"),
    ],
    ids=["short-rid", "exponent-2", "long-index", "short-bin", "month-13", "unknown-ca"],
)
def test_bad_input_is_a_clear_error(scheme: Cli, args: list[str], says: str) -> None:
    result = scheme(*args, check=False)
    assert result.returncode in (2, 3), result.stdout + result.stderr
    assert says.lower() in (result.stdout + result.stderr).lower()


def test_binary_files_for_card_personalisation(scheme: Cli, tmp_path: Path) -> None:
    perso = tmp_path / "perso"
    document = json.loads(
        scheme("emv", "issuer", "certify", "bank", "--ca", "test-scheme", "--expiry", EXPIRY, "--json",
               "--out-dir", str(perso)).stdout
    )  # fmt: skip
    assert (perso / "bank.90.bin").read_bytes().hex().upper() == document["certificate_90"]
    assert (perso / "bank.8F.bin").read_bytes() == b"\x01"
    assert (perso / "bank.9F32.bin").read_bytes() == b"\x03"
    assert (perso / "bank.tlv").read_bytes().hex().upper() == document["data_objects"]
    card = json.loads(
        scheme("emv", "icc", "issue", "--issuer", "bank", "--pan", PAN, "--expiry", EXPIRY,
               "--icc-public-key", str(card_key(tmp_path)), "--json", "--out-dir", str(perso)).stdout
    )  # fmt: skip
    assert (perso / "icc-0119.9F46.bin").read_bytes().hex().upper() == card["certificate_9F46"]
    tlv = (perso / "icc-0119.tlv").read_bytes()
    assert tlv.startswith(bytes.fromhex("9F4681")) and tlv.endswith(bytes.fromhex("9F470103"))


def test_brand_request_answer_and_import(scheme: Cli, tmp_path: Path) -> None:
    """The issuer writes a Mastercard-layout request, the scheme CA answers it, the issuer imports
    the response; then a card certificate verifies through the imported certificate."""
    asked = scheme("emv", "issuer", "request", "bank", "--brand", "mastercard", "--expiry", EXPIRY,
                   "--key-index", "000001", "--out-dir", str(tmp_path / "req"))  # fmt: skip
    request = tmp_path / "req" / "476173FF000001.SIP"
    digest = (tmp_path / "req" / "476173FF000001.HIP").read_text().strip()
    assert request.exists() and digest in asked.stdout and len(digest) == 40
    scheme("emv", "ca", "answer", "test-scheme", "--brand", "mastercard", "--request", str(request),
           "--out-dir", str(tmp_path / "resp"))  # fmt: skip
    (response,) = (tmp_path / "resp").iterdir()
    ca_file = tmp_path / "ca.json"
    ca_file.write_text(scheme("emv", "ca", "export", "test-scheme", "--json").stdout)
    kept = scheme("emv", "issuer", "import", "bank", "--ca-key", str(ca_file), "--brand", "mastercard",
                  "--response", str(response))  # fmt: skip
    assert "index 01 kept" in kept.stdout
    shown = json.loads(scheme("emv", "issuer", "show", "bank", "--json").stdout)
    (tmp_path / "issuer.json").write_text(json.dumps(shown["certification"]))
    card = scheme("emv", "icc", "issue", "--issuer", "bank", "--pan", PAN, "--expiry", EXPIRY,
                  "--icc-public-key", str(card_key(tmp_path)), "--json").stdout  # fmt: skip
    (tmp_path / "card.json").write_text(card)
    ok = scheme("emv", "verify", "--ca-key", str(ca_file), "--issuer-cert", str(tmp_path / "issuer.json"),
                "--icc-cert", str(tmp_path / "card.json"))  # fmt: skip
    assert "card.json: OK" in ok.stdout

    corrupt = tmp_path / "corrupt.SIP"
    data = request.read_bytes()
    corrupt.write_bytes(data[:-3] + bytes([data[-3] ^ 1]) + data[-2:])
    refused = scheme("emv", "ca", "answer", "test-scheme", "--brand", "mastercard", "--request", str(corrupt),
                     "--out-dir", str(tmp_path / "resp2"), check=False)  # fmt: skip
    assert refused.returncode == 2 and "error" in refused.stderr
    wrong_brand = scheme("emv", "ca", "answer", "test-scheme", "--brand", "visa", "--request", str(request),
                         "--out-dir", str(tmp_path / "resp3"), check=False)  # fmt: skip
    assert wrong_brand.returncode == 2
    unknown = scheme("emv", "issuer", "request", "bank", "--brand", "discover", "--expiry", EXPIRY,
                     "--out-dir", str(tmp_path / "x"), check=False)  # fmt: skip
    assert unknown.returncode == 2 and "visa, mastercard, amex, jcb" in unknown.stderr
