"""Where the software key store keeps sealed blobs: a port that ``store`` implements.

Nothing here is key material: blobs are AES-256-GCM ciphertext.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SealedKey:
    """A sealed key as stored."""

    key_id: str
    key_type: str
    purpose: str
    blob: str


class SealedKeyVault(Protocol):
    """Stores sealed blobs and the passphrase check of the key store."""

    def put_key(self, key: SealedKey) -> None: ...

    def get_key(self, key_id: str) -> SealedKey | None: ...

    def delete_key(self, key_id: str) -> None: ...

    def get_check(self) -> str | None:
        """The passphrase check written when the store was created, if any."""
        ...

    def put_check(self, check: str) -> None: ...
