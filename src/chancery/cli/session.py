"""Opening the application for one command: settings, passphrase, services."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

from chancery import wiring
from chancery.cli.custodians import CustodianPassphrases
from chancery.domain.principals import Principal, local_operator
from chancery.errors import ConfigurationError, KeystoreUnavailable
from chancery.settings import Settings, load_settings

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    return load_settings()


def operator() -> Principal:
    return local_operator(os.environ.get("USER") or getpass.getuser() or "operator")


def prompt_passphrase(confirm: bool = False) -> bytes:
    """Ask on the terminal; refuse when there is none (scripts set CHANCERY_KEY_PASSPHRASE)."""
    if not sys.stdin.isatty():
        raise KeystoreUnavailable("no key store passphrase: set CHANCERY_KEY_PASSPHRASE (no terminal to ask on)")
    first = getpass.getpass("Key store passphrase: ")
    if confirm and getpass.getpass("Repeat the passphrase: ") != first:
        raise KeystoreUnavailable("the passphrases differ")
    return first.encode()


def prompt_pin(question: str) -> str:
    """A PKCS#11 token's PIN, asked on the terminal (when the configuration says so)."""
    if not sys.stdin.isatty():
        raise KeystoreUnavailable("the token's PIN is asked on a terminal, and there is none here")
    return getpass.getpass(question)


@contextmanager
def application(
    *, initialised: bool = True, confirm_passphrase: bool = False, custodians: CustodianPassphrases | None = None
) -> Iterator[wiring.Application]:
    """The wired application; ``initialised`` insists that ``chancery init`` ran. A key store that
    requires a quorum asks ``custodians`` (environment variables, then prompts)."""
    config = settings()

    def passphrase() -> bytes:
        return config.passphrase() or prompt_passphrase(confirm=confirm_passphrase)

    app = wiring.build(
        config, passphrase, custodians=(custodians or CustodianPassphrases()).for_key_store, pin_prompt=prompt_pin
    )
    try:
        if initialised and not wiring.is_initialised(app):
            raise ConfigurationError(f"no Chancery in {config.data_dir}: run `chancery init` first")
        yield app
    finally:
        app.close()


def write_output(data: bytes, out: Path | None, *, mode: int = 0o644) -> None:
    """Write to ``out`` (created with ``mode``), or to stdout."""
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(out, mode)


def read_input(path: Path, what: str, limit: int = 1024 * 1024) -> bytes:
    try:
        if path.stat().st_size > limit:
            raise typer.BadParameter(f"{what} {path} is larger than {limit // 1024} KiB")
        return path.read_bytes()
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {what} {path}: {exc.strerror}") from None


def read_secret(stdin: bool, prompt: str, confirm: bool = True) -> str:
    """A password from stdin (first line) or, on a terminal, a hidden prompt."""
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise typer.BadParameter("no terminal to ask for the password: use --password-stdin")
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat: ") != first:
        raise typer.BadParameter("the passwords differ")
    return first
