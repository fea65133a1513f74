"""CA public keys: check value, JSON form, and what a CAPK file may not be."""

from __future__ import annotations

import hashlib
import json

import pytest

from chancery.emv.capk import CaPublicKey, parse_capk_json
from chancery.emv.errors import EmvError, Reason
from tests.unit.emv.conftest import public_key

RID = bytes.fromhex("A000000999")


@pytest.mark.parametrize("exponent", [3, 65537], ids=["e3", "f4"])
def test_check_value_covers_rid_index_modulus_and_minimal_exponent(exponent: int) -> None:
    capk = CaPublicKey(RID, 0x01, public_key(176, exponent))
    minimal = b"\x03" if exponent == 3 else b"\x01\x00\x01"
    assert capk.check_value == hashlib.sha1(RID + b"\x01" + capk.key.modulus + minimal).digest()  # noqa: S324
    document = capk.to_json()
    assert document == {
        "rid": "A000000999",
        "index": "01",
        "modulus": capk.key.modulus.hex().upper(),
        "exponent": minimal.hex().upper(),
        "check_value": capk.check_value.hex().upper(),
    }
    assert parse_capk_json(json.dumps(document)) == capk


def test_check_value_is_optional_and_lower_case_hex_is_read() -> None:
    capk = CaPublicKey(RID, 0xF1, public_key(128, 3))
    document = {name: value.lower() for name, value in capk.to_json().items() if name != "check_value"}
    assert CaPublicKey.from_json(document) == capk


def _document(**changes: object) -> dict[str, object]:
    document: dict[str, object] = dict(CaPublicKey(RID, 0x01, public_key(176, 3)).to_json())
    for name, value in changes.items():
        if value is None:
            document.pop(name)
        else:
            document[name] = value
    return document


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        pytest.param(_document(check_value="00" * 20), Reason.BAD_CHECK_VALUE, id="fail/check-value-mismatch"),
        pytest.param(_document(check_value="00" * 21), Reason.OVERSIZED, id="fail/check-value-21-bytes"),
        pytest.param(_document(exponent="02"), Reason.BAD_EXPONENT, id="fail/exponent-2"),
        pytest.param(_document(exponent="000003"), Reason.BAD_EXPONENT, id="fail/exponent-not-minimal"),
        pytest.param(_document(exponent="11"), Reason.BAD_EXPONENT, id="fail/exponent-17"),
        pytest.param(_document(rid="A0000009"), Reason.BAD_FIELD, id="fail/rid-4-bytes"),
        pytest.param(_document(rid="A00000099901"), Reason.OVERSIZED, id="fail/rid-6-bytes"),
        pytest.param(_document(index=""), Reason.BAD_FIELD, id="fail/index-empty"),
        pytest.param(_document(index="0101"), Reason.OVERSIZED, id="fail/index-2-bytes"),
        pytest.param(_document(modulus="C1" + "00" * 248 + "01"), Reason.OVERSIZED, id="fail/modulus-250-bytes"),
        pytest.param(_document(modulus="C1" + "00" * 246 + "02"), Reason.BAD_MODULUS, id="fail/modulus-even"),
        pytest.param(_document(modulus="41" + "00" * 126 + "01"), Reason.BAD_MODULUS, id="fail/modulus-top-bit-clear"),
        pytest.param(_document(modulus=176), Reason.BAD_FIELD, id="fail/modulus-not-a-string"),
        pytest.param(_document(rid=None), Reason.BAD_FIELD, id="fail/rid-missing"),
        pytest.param(_document(owner="scheme"), Reason.BAD_FIELD, id="fail/unknown-member"),
        pytest.param(["A000000999", "01"], Reason.BAD_JSON, id="fail/not-an-object"),
    ],
)
def test_bad_capk_documents(document: object, reason: Reason) -> None:
    with pytest.raises(EmvError) as caught:
        CaPublicKey.from_json(document)  # type: ignore[arg-type]
    assert caught.value.reason is reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("{", Reason.BAD_JSON, id="fail/truncated-json"),
        pytest.param(b"\xff\xfe{}", Reason.BAD_JSON, id="fail/not-utf8"),
        pytest.param("[" * 2000 + "]" * 2000, Reason.BAD_JSON, id="fail/deep-nesting"),
        pytest.param(" " * 5000 + "{}", Reason.OVERSIZED, id="fail/hostile-size"),
    ],
)
def test_bad_capk_files(text: str | bytes, reason: Reason) -> None:
    with pytest.raises(EmvError) as caught:
        parse_capk_json(text)
    assert caught.value.reason is reason


@pytest.mark.parametrize(("rid", "index"), [(b"\xa0\x00\x00\x00", 1), (RID, 256), (RID, -1)])
def test_capk_value_object_refuses_bad_rid_or_index(rid: bytes, index: int) -> None:
    with pytest.raises(EmvError) as caught:
        CaPublicKey(rid, index, public_key(128, 3))
    assert caught.value.reason is Reason.BAD_FIELD
