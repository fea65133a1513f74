"""Where the PKCS#11 key store records the keys it uses: a port that ``store`` implements.

Nothing here is secret: labels, key types and public keys. The record lets Chancery check,
each time it opens a key, that the token still holds the key it made or adopted.
"""

from __future__ import annotations

from typing import Protocol

from chancery.domain.keystores import HsmKeyRecord


class HsmKeyRegistry(Protocol):
    """Each call is its own transaction."""

    def add(self, key: HsmKeyRecord) -> None: ...

    def get(self, key_id: str) -> HsmKeyRecord | None: ...

    def remove(self, key_id: str) -> None: ...

    def list(self) -> tuple[HsmKeyRecord, ...]: ...
