"""The backup file: a clear header, an AES-256-GCM chunk stream, and an authenticated trailer.

Layout (integers are unsigned big-endian)::

    "CHYBAK\\0\\1"  u32 header length  header (JSON)
    { u32 length  chunk ciphertext (plaintext <= 1 MiB, plus the 16-byte GCM tag) }*
    u32 0                                       end of the chunk stream
    u32 trailer length  trailer (JSON)  u32 trailer length  "CHYBEND\\1"

Chunks follow the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár,
"Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
CRYPTO 2015): chunk *i* is sealed under nonce = i (88 bits) || last-flag (8
bits), with the SHA-256 of the header bytes as associated data. Reordering,
dropping or duplicating a chunk, cutting the stream at a chunk boundary, or
swapping the header all fail authentication. The trailer records the number
of chunks and the SHA-256 of every byte before it, and is MAC'd twice: under
the data key and under the installation's backup key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from chancery.errors import Malformed

MAGIC = b"CHYBAK\x00\x01"
END_MAGIC = b"CHYBEND\x01"
FORMAT = "chancery-backup/1"
CHUNK_SIZE = 1024 * 1024
_TAG = 16
_MAX_HEADER = 1024 * 1024
_MAX_TRAILER = 64 * 1024 * 1024
_U32 = struct.Struct(">I")
_READ = 4 * 1024 * 1024


class BackupDamaged(Malformed):
    """The backup file is not intact: damaged, truncated, altered, or not a backup at all."""


@dataclass(frozen=True)
class StreamSummary:
    chunks: int
    ciphertext_bytes: int
    prefix_sha256: str  # every byte of the file before the trailer

    def to_json(self) -> dict[str, Any]:
        return {"chunks": self.chunks, "bytes": self.ciphertext_bytes, "sha256": self.prefix_sha256}


class PayloadKeys:
    """The keys derived from a backup's data key (HKDF-SHA256, RFC 5869)."""

    def __init__(self, data_key: bytes) -> None:
        if len(data_key) != 32:
            raise ValueError("a data key is 32 bytes")
        self.aead = AESGCM(_hkdf(data_key, b"chancery-backup/1 chunk encryption"))
        self._mac = _hkdf(data_key, b"chancery-backup/1 trailer authentication")

    def __repr__(self) -> str:
        return "PayloadKeys(<hidden>)"

    def mac(self, data: bytes) -> bytes:
        return hmac.new(self._mac, data, hashlib.sha256).digest()


def canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


class BackupWriter:
    """Writes a backup file: :meth:`write` plaintext, then :meth:`finish`, then :meth:`write_trailer`."""

    def __init__(self, out: BinaryIO, header: dict[str, Any], keys: PayloadKeys) -> None:
        self._out = out
        self._keys = keys
        self._hash = hashlib.sha256()
        self._file_hash = hashlib.sha256()
        header_bytes = canonical(header)
        self._emit(MAGIC + _U32.pack(len(header_bytes)) + header_bytes)
        self.header_sha256 = hashlib.sha256(header_bytes).digest()
        self._buffer = bytearray()
        self._chunks = 0
        self._ciphertext = 0

    def _emit(self, data: bytes) -> None:
        self._out.write(data)
        self._hash.update(data)
        self._file_hash.update(data)

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) > CHUNK_SIZE:  # keep at least one byte back: the last chunk is flagged
            self._seal(bytes(self._buffer[:CHUNK_SIZE]), last=False)
            del self._buffer[:CHUNK_SIZE]

    def _seal(self, plaintext: bytes, *, last: bool) -> None:
        sealed = self._keys.aead.encrypt(_nonce(self._chunks, last), plaintext, self.header_sha256)
        self._emit(_U32.pack(len(sealed)) + sealed)
        self._chunks += 1
        self._ciphertext += len(sealed)

    def finish(self) -> StreamSummary:
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()
        self._emit(_U32.pack(0))
        return StreamSummary(self._chunks, self._ciphertext, self._hash.hexdigest())

    def write_trailer(self, trailer: dict[str, Any]) -> str:
        """Write the trailer; return the SHA-256 of the whole file."""
        data = canonical(trailer)
        self._out.write(_U32.pack(len(data)) + data + _U32.pack(len(data)) + END_MAGIC)
        self._file_hash.update(_U32.pack(len(data)) + data + _U32.pack(len(data)) + END_MAGIC)
        return self._file_hash.hexdigest()


@dataclass(frozen=True)
class Layout:
    """Where everything is in a backup file, found by one full read (no key needed)."""

    header: dict[str, Any]
    header_sha256: bytes
    chunks: tuple[tuple[int, int], ...]  # (offset of the ciphertext, its length)
    prefix_sha256: str
    trailer: dict[str, Any]
    file_sha256: str
    size: int


def read_layout(handle: BinaryIO) -> Layout:
    """Parse the framing of a backup file; raise :class:`BackupDamaged` on anything out of place."""
    reader = _HashingReader(handle)
    if reader.take(len(MAGIC), "the start") != MAGIC:
        raise BackupDamaged("not a Chancery backup file (wrong magic bytes)")
    header_bytes = reader.take(_length(reader, _MAX_HEADER, "header"), "the header")
    header = _json(header_bytes, "header")
    if header.get("format") != FORMAT:
        raise BackupDamaged(f"unsupported backup format {header.get('format')!r} (this Chancery reads {FORMAT})")
    chunks = []
    while (size := _length(reader, CHUNK_SIZE + _TAG, "chunk")) != 0:
        if size < _TAG:
            raise BackupDamaged(f"chunk {len(chunks)} is shorter than its authentication tag")
        chunks.append((reader.offset, size))
        reader.skip(size, f"chunk {len(chunks) - 1}")
    if not chunks:
        raise BackupDamaged("the backup holds no encrypted data")
    prefix = reader.prefix_digest()
    trailer_size = _length(reader, _MAX_TRAILER, "trailer")
    trailer = _json(reader.take(trailer_size, "the trailer"), "trailer")
    if _length(reader, _MAX_TRAILER, "trailer") != trailer_size or reader.take(8, "the end") != END_MAGIC:
        raise BackupDamaged("the backup's end marker is damaged")
    if reader.read_rest():
        raise BackupDamaged("data follows the backup's end marker")
    return Layout(
        header,
        hashlib.sha256(header_bytes).digest(),
        tuple(chunks),
        prefix,
        trailer,
        reader.file_digest(),
        reader.offset,
    )


def decrypt_chunks(handle: BinaryIO, layout: Layout, keys: PayloadKeys) -> Iterator[bytes]:
    """Yield each chunk's plaintext in order; raise :class:`BackupDamaged` on a chunk that fails its tag."""
    last = len(layout.chunks) - 1
    for index, (offset, size) in enumerate(layout.chunks):
        handle.seek(offset)
        sealed = handle.read(size)
        try:
            yield keys.aead.decrypt(_nonce(index, index == last), sealed, layout.header_sha256)
        except InvalidTag:
            raise BackupDamaged(
                f"encrypted chunk {index} of {last + 1} fails authentication: the backup was altered, "
                "damaged or cut short"
            ) from None


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _hkdf(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


def _length(reader: _HashingReader, limit: int, what: str) -> int:
    (value,) = _U32.unpack(reader.take(4, f"the {what} length"))
    if value > limit:
        raise BackupDamaged(f"the {what} length {value} is out of range: the backup is damaged")
    return value


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except ValueError:
        raise BackupDamaged(f"the backup's {what} is not valid JSON: the backup is damaged") from None
    if not isinstance(document, dict):
        raise BackupDamaged(f"the backup's {what} is not a JSON object")
    return document


class _HashingReader:
    """Sequential reads that hash what they pass over (the prefix up to the trailer, and the file)."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._prefix: hashlib._Hash | None = hashlib.sha256()
        self._file = hashlib.sha256()
        self.offset = 0

    def _consume(self, data: bytes) -> None:
        if self._prefix is not None:
            self._prefix.update(data)
        self._file.update(data)
        self.offset += len(data)

    def take(self, size: int, what: str) -> bytes:
        data = self._handle.read(size)
        if len(data) != size:
            raise BackupDamaged(f"the backup is truncated: it ends inside {what}")
        self._consume(data)
        return data

    def skip(self, size: int, what: str) -> None:
        while size:
            data = self._handle.read(min(size, _READ))
            if not data:
                raise BackupDamaged(f"the backup is truncated: it ends inside {what}")
            self._consume(data)
            size -= len(data)

    def prefix_digest(self) -> str:
        assert self._prefix is not None
        digest, self._prefix = self._prefix.hexdigest(), None
        return digest

    def read_rest(self) -> bytes:
        return self._handle.read(1)

    def file_digest(self) -> str:
        return self._file.hexdigest()
