"""The backup container: STREAM chunks under AES-256-GCM and the parts inside them.

The forgeries here recompute every unkeyed digest, as an attacker could; only
the keys stop them.
"""

import io
import os
import struct

import pytest

from chancery.services.backup.container import (
    CHUNK_SIZE,
    END_MAGIC,
    MAGIC,
    BackupDamaged,
    BackupWriter,
    PayloadKeys,
    decrypt_chunks,
    read_layout,
)
from chancery.services.backup.parts import PartDecoder, PartEncoder

HEADER = {"format": "chancery-backup/1", "backup_id": "0123456789abcdef"}
U32 = struct.Struct(">I")


def build(payload: bytes, keys: PayloadKeys, header: dict | None = None) -> bytes:
    out = io.BytesIO()
    writer = BackupWriter(out, header or HEADER, keys)
    writer.write(payload)
    writer.finish()
    writer.write_trailer({"signed": "{}", "mac": {}})
    return out.getvalue()


def chunks_of(data: bytes) -> tuple[bytes, list[bytes], bytes]:
    """(everything before the first chunk, the chunks, everything from the terminator on)."""
    layout = read_layout(io.BytesIO(data))
    start = layout.chunks[0][0] - 4
    end = layout.chunks[-1][0] + layout.chunks[-1][1]
    return data[:start], [data[o : o + s] for o, s in layout.chunks], data[end:]


def reassemble(head: bytes, chunks: list[bytes], tail: bytes) -> bytes:
    return head + b"".join(U32.pack(len(c)) + c for c in chunks) + tail


def decrypt(data: bytes, keys: PayloadKeys) -> bytes:
    handle = io.BytesIO(data)
    return b"".join(decrypt_chunks(handle, read_layout(handle), keys))


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE + 12345], ids=lambda n: f"ok/{n}")
def test_round_trip(size: int) -> None:
    keys = PayloadKeys(os.urandom(32))
    payload = os.urandom(size)
    data = build(payload, keys)
    assert data.startswith(MAGIC) and data.endswith(END_MAGIC)
    assert size < 16 or payload[:64] not in data
    assert decrypt(data, keys) == payload


def forge(transform) -> tuple[bytes, PayloadKeys]:
    keys = PayloadKeys(os.urandom(32))
    head, chunks, tail = chunks_of(build(os.urandom(3 * CHUNK_SIZE + 10), keys))
    return reassemble(head, transform(chunks), tail), keys


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda c: c[:-1], id="fail/last-chunk-dropped"),
        pytest.param(lambda c: [c[1], c[0], *c[2:]], id="fail/chunks-swapped"),
        pytest.param(lambda c: [c[0], *c], id="fail/chunk-repeated"),
        pytest.param(lambda c: [c[0], c[1], c[2], c[2], c[3]], id="fail/middle-chunk-repeated"),
    ],
)
def test_rearranged_chunks_fail_authentication(transform) -> None:
    data, keys = forge(transform)
    with pytest.raises(BackupDamaged, match="fails authentication"):
        decrypt(data, keys)


def test_a_chunk_from_another_backup_fails() -> None:
    keys = PayloadKeys(os.urandom(32))
    head, chunks, tail = chunks_of(build(os.urandom(2 * CHUNK_SIZE + 5), keys))
    _, other, _ = chunks_of(build(os.urandom(2 * CHUNK_SIZE + 5), PayloadKeys(os.urandom(32))))
    with pytest.raises(BackupDamaged, match="chunk 1"):
        decrypt(reassemble(head, [chunks[0], other[1], chunks[2]], tail), keys)


def test_a_swapped_header_fails() -> None:
    keys = PayloadKeys(os.urandom(32))
    data = build(b"payload", keys)
    forged = build(b"payload", keys, {**HEADER, "backup_id": "fedcba9876543210"})
    head, _, _ = chunks_of(forged)
    _, chunks, tail = chunks_of(data)
    with pytest.raises(BackupDamaged, match="fails authentication"):
        decrypt(reassemble(head, chunks, tail), keys)


def test_the_wrong_key_fails() -> None:
    data = build(b"payload", PayloadKeys(os.urandom(32)))
    with pytest.raises(BackupDamaged, match="chunk 0 of 1 fails authentication"):
        decrypt(data, PayloadKeys(os.urandom(32)))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        pytest.param(lambda d: b"NOTABACK" + d[8:], "not a Chancery backup", id="fail/magic"),
        pytest.param(lambda d: d[:-3], "truncated", id="fail/cut-in-end-marker"),
        pytest.param(lambda d: d + b"\0", "follows the backup's end marker", id="fail/trailing-byte"),
        pytest.param(lambda d: d[:8] + U32.pack(2**31) + d[12:], "out of range", id="fail/huge-header-length"),
        pytest.param(lambda d: d[:8], "truncated", id="fail/magic-only"),
    ],
)
def test_framing_damage_is_named(damage, message: str) -> None:
    data = build(b"payload", PayloadKeys(os.urandom(32)))
    with pytest.raises(BackupDamaged, match=message):
        read_layout(io.BytesIO(damage(data)))


def test_parts_round_trip_with_empty_and_large_parts() -> None:
    stream = bytearray()
    encoder = PartEncoder(stream.extend)
    big = os.urandom(3 * 1024 * 1024 + 7)
    encoder.write("files/empty", b"")
    encoder.write("database/sqlite", big[:1000])
    encoder.write("database/sqlite", big[1000:])
    digests = encoder.finish()
    assert [(d.name, d.size) for d in digests] == [("files/empty", 0), ("database/sqlite", len(big))]

    seen: dict[str, bytearray] = {}
    ended = []
    decoder = PartDecoder(lambda p, b: seen.setdefault(p, bytearray()).extend(b), ended.append)
    for start in range(0, len(stream), 777_777):  # chunk boundaries fall anywhere
        decoder.feed(bytes(stream[start : start + 777_777]))
    assert decoder.finished and ended == digests
    assert bytes(seen["database/sqlite"]) == big and "files/empty" not in seen
    with pytest.raises(BackupDamaged, match="after its end marker"):
        decoder.feed(b"\0")


def test_a_repeated_part_name_is_refused() -> None:
    encoder = PartEncoder(lambda b: None)
    encoder.write("files/a", b"1")
    encoder.write("files/b", b"2")
    with pytest.raises(ValueError, match="repeated"):
        encoder.write("files/a", b"3")
