"""Where the token's PIN comes from (environment, file, prompt), and the configuration's own checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from chancery.domain.keystores import (
    KeyLocation,
    PinKind,
    PinSource,
    Pkcs11Config,
    cka_id_of,
    location_of,
    pkcs11_key_id,
)
from chancery.errors import KeystoreUnavailable, Malformed
from chancery.keys.pkcs11.pins import read_pin

TOKEN = "token 'ca'"


def test_pin_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HSM_PIN", "1234-5678")
    assert read_pin(PinSource(PinKind.ENV, "HSM_PIN"), None, TOKEN) == "1234-5678"
    monkeypatch.delenv("HSM_PIN")
    with pytest.raises(KeystoreUnavailable, match="set HSM_PIN: it holds the PIN of token 'ca'"):
        read_pin(PinSource(PinKind.ENV, "HSM_PIN"), None, TOKEN)


def test_pin_from_file(tmp_path: Path) -> None:
    path = tmp_path / "pin"
    path.write_text("2468-1357\nignored\n")
    assert read_pin(PinSource(PinKind.FILE, str(path)), None, TOKEN) == "2468-1357"
    path.write_text("")
    with pytest.raises(KeystoreUnavailable, match="is empty"):
        read_pin(PinSource(PinKind.FILE, str(path)), None, TOKEN)
    with pytest.raises(KeystoreUnavailable, match="cannot read the PIN file"):
        read_pin(PinSource(PinKind.FILE, str(tmp_path / "missing")), None, TOKEN)


def test_pin_from_prompt() -> None:
    asked: list[str] = []
    assert read_pin(PinSource(PinKind.PROMPT), lambda q: asked.append(q) or "9753", TOKEN) == "9753"
    assert asked == ["PIN of token 'ca': "]
    with pytest.raises(KeystoreUnavailable, match="asked on a terminal"):
        read_pin(PinSource(PinKind.PROMPT), None, TOKEN)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: PinSource(PinKind.ENV, "1NOT-A-NAME"), "not an environment variable"),
        (lambda: PinSource(PinKind.FILE, "relative/pin"), "absolute path"),
        (lambda: Pkcs11Config("lib.so", PinSource(PinKind.PROMPT), token_label="x"), "absolute path"),
        (lambda: Pkcs11Config("/lib.so", PinSource(PinKind.PROMPT)), "exactly one"),
        (lambda: Pkcs11Config("/lib.so", PinSource(PinKind.PROMPT), token_label="x", slot=1), "exactly one"),
        (lambda: Pkcs11Config("/lib.so", PinSource(PinKind.PROMPT), token_label="x" * 33), "1 to 32"),
        (lambda: cka_id_of("ca-0011"), "not a PKCS#11 key id"),
        (lambda: cka_id_of("pkcs11:zz"), "not a PKCS#11 key id"),
        (lambda: KeyLocation.parse("floppy"), "software or pkcs11"),
    ],
    ids=[
        "fail/env-name",
        "fail/pin-file",
        "fail/module",
        "fail/no-token",
        "fail/two-tokens",
        "fail/long-label",
        "fail/software-id",
        "fail/bad-hex",
        "fail/location",
    ],
)
def test_bad_configuration(make: object, message: str) -> None:
    with pytest.raises(Malformed, match=message):
        make()  # type: ignore[operator]


def test_key_ids_say_where_the_key_is() -> None:
    assert pkcs11_key_id(b"\x0a\x0b") == "pkcs11:0a0b" and cka_id_of("pkcs11:0a0b") == b"\x0a\x0b"
    assert location_of("pkcs11:0a0b") is KeyLocation.PKCS11
    assert location_of("ca-0123456789abcdef") is KeyLocation.SOFTWARE
