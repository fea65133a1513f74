"""Custodians' passphrases at the terminal: from CHANCERY_CUSTODIAN_PASSPHRASE_<NAME>, else a hidden prompt.

One :class:`CustodianPassphrases` lives for one command: a passphrase a custodian
typed for the ceremony is not asked again when the same command opens a key
store that needs that custodian's share. Passphrases are never echoed or logged.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Mapping

import typer
from rich.console import Console

from chancery.domain.custodians import PASSPHRASE_ENV_PREFIX, passphrase_variable

_err = Console(stderr=True)


class CustodianPassphrases:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._known: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"CustodianPassphrases({len(self._known)} known, hidden)"

    def collect(self, names: tuple[str, ...], wanted: int, purpose: str) -> dict[str, str]:
        """Passphrases of ``names``: every one set in the environment, then prompts (on a terminal)
        until ``wanted`` custodians gave one; a custodian who is absent presses Enter."""
        given = {name: value for name in names if (value := self._known.get(name) or self._from_env(name))}
        if len(given) < wanted and sys.stdin.isatty():
            _err.print(f"{purpose}: {wanted} of the custodians {', '.join(names)} enter their passphrases.")
            for name in names:
                if len(given) >= wanted:
                    break
                if name not in given and (
                    value := getpass.getpass(f"Passphrase of custodian {name} (Enter: absent): ")
                ):
                    given[name] = value
        self._known.update(given)
        return given

    def for_key_store(self, names: tuple[str, ...], threshold: int) -> dict[str, bytes]:
        """What the key store asks when it requires a quorum (``wiring.build(custodians=...)``)."""
        given = self.collect(names, threshold, "The key store requires a quorum")
        return {name: value.encode() for name, value in given.items()}

    def new_passphrase(self, name: str) -> str:
        """A custodian's new passphrase: from the environment, or typed twice on the terminal."""
        value = self._from_env(name)
        if value:
            return value
        if not sys.stdin.isatty():
            raise typer.BadParameter(
                f"no terminal to ask custodian {name} for a passphrase: set {passphrase_variable(name)}"
            )
        first = getpass.getpass(f"Custodian {name}, choose your passphrase: ")
        if getpass.getpass("Repeat it: ") != first:
            raise typer.BadParameter("the passphrases differ")
        return first

    def _from_env(self, name: str) -> str:
        exact = PASSPHRASE_ENV_PREFIX + name  # CHANCERY_CUSTODIAN_PASSPHRASE_alice works too
        return self._environ.get(passphrase_variable(name)) or self._environ.get(exact) or ""
