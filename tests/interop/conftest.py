"""Helpers for tests that drive real outside programs (openssl, the chancery command, uvicorn)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHANCERY = str(Path(sys.executable).with_name("chancery"))
OPENSSL = shutil.which("openssl") or "openssl"

OPENSSL_KEYS = {
    "rsa-2048": ["-newkey", "rsa:2048"],
    "rsa-3072": ["-newkey", "rsa:3072"],
    "rsa-4096": ["-newkey", "rsa:4096"],
    "ec-p256": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "ec-p384": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
    "ec-p521": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521"],
    "ed25519": ["-newkey", "ed25519"],
}


def openssl(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, text=True, check=check)


def openssl_csr(
    directory: Path, name: str, key_type: str = "ec-p256", cn: str = "www.example.com", san: str = "DNS:www.example.com"
) -> Path:
    """Make a key and CSR with the openssl command line, as an administrator would."""
    csr = directory / f"{name}.csr"
    openssl(
        "req",
        "-new",
        *OPENSSL_KEYS[key_type],
        "-nodes",
        "-keyout",
        str(directory / f"{name}.key"),
        "-subj",
        f"/CN={cn}",
        "-addext",
        f"subjectAltName={san}",
        "-out",
        str(csr),
    )
    return csr


def verify(root: Path, untrusted: Path, leaf: Path) -> subprocess.CompletedProcess[str]:
    return openssl("verify", "-x509_strict", "-CAfile", str(root), "-untrusted", str(untrusted), str(leaf), check=False)


class Cli:
    """Runs ``chancery`` in a data directory with the passphrase in the environment."""

    def __init__(self, data_dir: Path, passphrase: str = "interop test passphrase", **env: str) -> None:
        self.cwd = data_dir.parent
        self.env = {
            **os.environ,
            "CHANCERY_DATA_DIR": str(data_dir),
            "CHANCERY_KEY_PASSPHRASE": passphrase,
            "CHANCERY_KDF_SCRYPT_N": "16384",
            "COLUMNS": "200",
            **env,
        }
        self.env.pop("CHANCERY_DATABASE_URL", None)

    def __call__(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [CHANCERY, *args], cwd=self.cwd, env=self.env, capture_output=True, text=True, input=stdin, timeout=300
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"chancery {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def hierarchy(self, key_type: str = "ec-p256", *args: str) -> None:
        """``chancery init``, a root ``root`` and an issuing CA ``issuing`` of ``key_type``."""
        self("init", *args)
        self("ca", "create-root", "root", "--subject", f"CN=Root {key_type},O=Interop", "--key-type", key_type)
        subject = f"CN=Issuing {key_type},O=Interop"
        self("ca", "create-intermediate", "issuing", "--parent", "root", "--subject", subject, "--key-type", key_type)

    def issue(self, csr: Path, out: Path, profile: str = "tls-server") -> None:
        self("cert", "issue", "--ca", "issuing", "--profile", profile, "--csr", str(csr), "--out", str(out))

    def raw(self, *args: str) -> bytes:
        """Standard output as bytes (binary exports)."""
        return subprocess.run(
            [CHANCERY, *args], cwd=self.cwd, env=self.env, capture_output=True, check=True, timeout=300
        ).stdout


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "data")
