"""Reading the token's PIN from where the configuration says, at the moment of logging in.

The PIN is returned to the caller and nowhere else: never logged, never put in an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from chancery.domain.keystores import PinKind, PinSource
from chancery.errors import KeystoreUnavailable

PinPrompt = Callable[[str], str]
"""Asks on the terminal; given the question (``"PIN of token 'x': "``), returns the answer."""


def read_pin(source: PinSource, prompt: PinPrompt | None, token: str) -> str:
    if source.kind is PinKind.ENV:
        value = os.environ.get(source.reference)
        if not value:
            raise KeystoreUnavailable(f"set {source.reference}: it holds the PIN of {token}")
        return value
    if source.kind is PinKind.FILE:
        try:
            lines = Path(source.reference).read_text().splitlines()
        except OSError as exc:
            raise KeystoreUnavailable(f"cannot read the PIN file {source.reference}: {exc.strerror}") from None
        if not lines or not lines[0]:
            raise KeystoreUnavailable(f"the PIN file {source.reference} is empty")
        return lines[0]
    if prompt is None:
        raise KeystoreUnavailable(
            f"the PIN of {token} is to be asked on a terminal, and none is here: configure --pin-env or --pin-file"
        )
    value = prompt(f"PIN of {token}: ")
    if not value:
        raise KeystoreUnavailable(f"no PIN given for {token}")
    return value
