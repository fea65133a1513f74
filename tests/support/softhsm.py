"""SoftHSM2 tokens for tests: the real PKCS#11 module (Debian ``softhsm2``) over a temporary directory.

:func:`make_softhsm` writes a ``softhsm2.conf`` whose token directory is in the given directory and
initialises a token there with ``softhsm2-util --init-token --free --label ... --so-pin ... --pin ...``.
Programs started with :meth:`SoftHsm.env` (``SOFTHSM2_CONF``) see only that token.

SoftHSM2 reads its configuration once, when the module is initialised: every in-process test of a
pytest run therefore shares one configuration (:func:`process_softhsm`), and tests that need a
fresh token directory or another configuration run ``chancery`` as a subprocess.

:meth:`SoftHsm.private_keys` reads ``pkcs11-tool --list-objects`` as an administrator would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from chancery.domain.keystores import PinKind, PinSource, Pkcs11Config

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN_LABEL = "chancery-test"
USER_PIN = "4711-chancery-pin"
SO_PIN = "so-pin-0815-chancery"
PIN_VARIABLE = "CHANCERY_TEST_HSM_PIN"


def softhsm_available() -> bool:
    return MODULE.exists() and shutil.which("softhsm2-util") is not None and shutil.which("pkcs11-tool") is not None


@dataclass(frozen=True)
class SoftHsm:
    directory: Path
    conf: Path
    label: str = TOKEN_LABEL
    pin: str = field(default=USER_PIN, repr=False)
    so_pin: str = field(default=SO_PIN, repr=False)
    module: Path = MODULE

    def env(self) -> dict[str, str]:
        """What a ``chancery`` process needs: the configuration, and the PIN in :data:`PIN_VARIABLE`."""
        return {"SOFTHSM2_CONF": str(self.conf), PIN_VARIABLE: self.pin}

    def util(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["softhsm2-util", *args], env={**os.environ, **self.env()}, capture_output=True, text=True, check=True
        )

    def init_token(self, label: str) -> None:
        self.util("--init-token", "--free", "--label", label, "--so-pin", self.so_pin, "--pin", self.pin)

    def tool(self, *args: str, login: bool = True, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``pkcs11-tool --module ... --token-label ... [--login --pin ...] ARGS``."""
        auth = ["--login", "--pin", self.pin] if login else []
        command = ["pkcs11-tool", "--module", str(self.module), "--token-label", self.label, *auth, *args]
        return subprocess.run(command, env={**os.environ, **self.env()}, capture_output=True, text=True, check=check)

    def private_keys(self) -> dict[str, dict[str, str]]:
        """The token's private keys by label, as ``pkcs11-tool --list-objects`` prints them
        (``{"label": {"ID": ..., "Usage": ..., "Access": ...}}``)."""
        listing = self.tool("--list-objects", "--type", "privkey").stdout
        keys: dict[str, dict[str, str]] = {}
        current: dict[str, str] | None = None
        for line in listing.splitlines():
            if line.startswith("Private Key Object"):
                current = {"type": line.split(";", 1)[1].strip()}
                continue
            name, sep, value = line.strip().partition(":")
            if current is not None and sep:
                current[name.strip()] = value.strip()
                if name.strip() == "label":
                    keys[value.strip()] = current
        return keys

    def object_count(self) -> int:
        listing = self.tool("--list-objects").stdout
        return sum(1 for line in listing.splitlines() if line and not line.startswith(" "))

    def without_mechanisms(self, directory: Path, *names: str) -> SoftHsm:
        """The same tokens, seen through a configuration that does not offer the mechanisms ``names``
        (``CKM_EDDSA``...). SoftHSM 2.6.1 ignores the first name of a negative ``slots.mechanisms``
        list, so a harmless one (CKM_MD5, unused by Chancery) goes first."""
        conf = directory / "softhsm2-restricted.conf"
        conf.write_text(self.conf.read_text() + f"slots.mechanisms = -CKM_MD5,{','.join(names)}\n")
        return replace(self, conf=conf)


def make_softhsm(directory: Path, label: str = TOKEN_LABEL) -> SoftHsm:
    """A token directory in ``directory`` with one initialised token ``label``."""
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
    )
    hsm = SoftHsm(directory=directory, conf=conf, label=label)
    hsm.init_token(label)
    return hsm


_process_token: SoftHsm | None = None


def process_softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    """The token directory of in-process tests, made once per pytest run; sets ``SOFTHSM2_CONF``
    for this process before the module is first loaded (and the PIN variable)."""
    global _process_token
    if not softhsm_available():
        pytest.skip("SoftHSM2 and OpenSC are not installed (make test installs them)")
    if _process_token is None:
        _process_token = make_softhsm(tmp_path_factory.mktemp("softhsm"))
        os.environ.update(_process_token.env())
    return _process_token


def pkcs11_config(hsm: SoftHsm, **changes: object) -> Pkcs11Config:
    """What ``chancery keys configure-pkcs11`` stores for ``hsm`` (PIN from :data:`PIN_VARIABLE`)."""
    config = Pkcs11Config(str(hsm.module), PinSource(PinKind.ENV, PIN_VARIABLE), token_label=hsm.label)
    return replace(config, **changes)  # type: ignore[arg-type]
