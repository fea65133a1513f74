"""Files around a backup: the data directory's own files, private writes, durable renames."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

FILE_PART = "files/"
MAX_DATA_FILE = 16 * 1024 * 1024
# The database (copied through its own part), its journals, and our temporary files.
_NOT_COPIED = re.compile(r"^(chancery\.db(-wal|-shm|-journal)?|\.chancery-backup-.*|\..*\.partial-.*)$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def collect(
    data_dir: Path, excluded: Iterable[Path], sink: Callable[[str, bytes], None]
) -> tuple[list[str], list[str]]:
    """Stream the data directory's top-level regular files into parts ``files/<name>``.

    Returns (names copied, entries left out with why). Subdirectories are left out:
    a PKCS#11 token's own files must never land in a backup.
    """
    skip = {p.resolve() for p in excluded}
    kept, skipped = [], []
    if not data_dir.is_dir():
        return kept, skipped
    for entry in sorted(data_dir.iterdir()):
        name = entry.name
        if _NOT_COPIED.match(name) or entry.resolve() in skip:
            continue
        reason = _why_not(entry)
        if reason:
            skipped.append(f"{name} ({reason})")
            continue
        with entry.open("rb") as handle:
            sink(FILE_PART + name, b"")  # an empty file is still a part
            while block := handle.read(1024 * 1024):
                sink(FILE_PART + name, block)
        kept.append(name)
    return kept, skipped


def _why_not(entry: Path) -> str:
    if entry.is_symlink():
        return "a symbolic link"
    if entry.is_dir():
        return "a directory: only the data directory's own files are backed up"
    if not entry.is_file():
        return "not a regular file"
    if not _SAFE_NAME.match(entry.name):
        return "a name a restore would not write"
    if entry.stat().st_size > MAX_DATA_FILE:
        return f"larger than {MAX_DATA_FILE // (1024 * 1024)} MiB"
    return ""


def restorable_name(part: str) -> str | None:
    """The file name a ``files/<name>`` part restores to, or ``None`` for a name that is not safe."""
    name = part[len(FILE_PART) :]
    if not part.startswith(FILE_PART) or not _SAFE_NAME.match(name) or _NOT_COPIED.match(name):
        return None
    return name


def write_private(path: Path, data: bytes) -> Path:
    """Create ``path`` (mode 0600, refusing to overwrite) with ``data``, flushed to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def replace_durably(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target`` and flush the directory entry."""
    os.rename(source, target)
    fsync_directory(target.parent)


def fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flush every file under ``root`` and every directory, deepest first."""
    for directory, _, names in os.walk(root, topdown=False):
        for name in names:
            fd = os.open(Path(directory) / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_directory(Path(directory))
