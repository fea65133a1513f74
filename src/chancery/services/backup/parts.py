"""Parts inside a backup's decrypted payload: named byte streams of any length.

Encoding (integers unsigned big-endian)::

    part     := u16 name length (> 0)  name (UTF-8)  { u32 block length (> 0)  block }*  u32 0
    payload  := part*  u16 0

Each part's length and SHA-256 are listed in the manifest, so a restore checks
every part against it before writing anything.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chancery.services.backup.container import BackupDamaged

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_MAX_BLOCK = 1024 * 1024
_MAX_NAME = 512


@dataclass(frozen=True)
class PartDigest:
    name: str
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "bytes": self.size, "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: Any) -> PartDigest:
        try:
            return cls(str(data["name"]), int(data["bytes"]), str(data["sha256"]))
        except (KeyError, TypeError, ValueError):
            raise BackupDamaged("the manifest lists a part it does not describe") from None


class PartEncoder:
    """Turns parts into the payload byte stream (handed to ``emit``), recording each part's digest."""

    def __init__(self, emit: Callable[[bytes], None]) -> None:
        self._emit = emit
        self._current: str | None = None
        self._hash = hashlib.sha256()
        self._size = 0
        self.digests: list[PartDigest] = []

    def write(self, name: str, block: bytes) -> None:
        if name != self._current:
            self._close_part()
            encoded = name.encode()
            if not encoded or len(encoded) > _MAX_NAME or any(d.name == name for d in self.digests):
                raise ValueError(f"bad or repeated part name {name!r}")
            self._emit(_U16.pack(len(encoded)) + encoded)
            self._current, self._hash, self._size = name, hashlib.sha256(), 0
        view = memoryview(block)
        for start in range(0, len(view), _MAX_BLOCK):
            piece = bytes(view[start : start + _MAX_BLOCK])
            self._emit(_U32.pack(len(piece)) + piece)
            self._hash.update(piece)
            self._size += len(piece)

    def _close_part(self) -> None:
        if self._current is not None:
            self._emit(_U32.pack(0))
            self.digests.append(PartDigest(self._current, self._size, self._hash.hexdigest()))
            self._current = None

    def finish(self) -> list[PartDigest]:
        self._close_part()
        self._emit(_U16.pack(0))
        return self.digests


class PartDecoder:
    """Parses the payload incrementally: ``feed`` decrypted chunks, get (part, block) and end-of-part calls."""

    def __init__(self, on_block: Callable[[str, bytes], None], on_end: Callable[[PartDigest], None]) -> None:
        self._on_block = on_block
        self._on_end = on_end
        self._buffer = bytearray()
        self._part: str | None = None
        self._hash = hashlib.sha256()
        self._size = 0
        self.finished = False

    def feed(self, data: bytes) -> None:
        if self.finished and data:
            raise BackupDamaged("the backup's payload continues after its end marker")
        self._buffer += data
        while self._step():
            pass

    def _step(self) -> bool:
        if self.finished:
            if self._buffer:
                raise BackupDamaged("the backup's payload continues after its end marker")
            return False
        if self._part is None:
            return self._start_part()
        return self._block()

    def _start_part(self) -> bool:
        if len(self._buffer) < 2:
            return False
        (length,) = _U16.unpack_from(self._buffer)
        if length == 0:
            del self._buffer[:2]
            self.finished = True
            return True
        if length > _MAX_NAME:
            raise BackupDamaged("a part name in the payload is too long")
        if len(self._buffer) < 2 + length:
            return False
        try:
            self._part = bytes(self._buffer[2 : 2 + length]).decode()
        except UnicodeDecodeError:
            raise BackupDamaged("a part name in the payload is not UTF-8") from None
        del self._buffer[: 2 + length]
        self._hash, self._size = hashlib.sha256(), 0
        return True

    def _block(self) -> bool:
        if len(self._buffer) < 4:
            return False
        (length,) = _U32.unpack_from(self._buffer)
        if length > _MAX_BLOCK:
            raise BackupDamaged("a block in the payload is too long")
        if length == 0:
            del self._buffer[:4]
            assert self._part is not None
            self._on_end(PartDigest(self._part, self._size, self._hash.hexdigest()))
            self._part = None
            return True
        if len(self._buffer) < 4 + length:
            return False
        block = bytes(self._buffer[4 : 4 + length])
        del self._buffer[: 4 + length]
        self._hash.update(block)
        self._size += length
        self._on_block(self._part, block)  # type: ignore[arg-type]
        return True
