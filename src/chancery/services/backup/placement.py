"""Where a restore writes: a temporary sibling directory, renamed over the target when complete.

``rename(2)`` is atomic, so however a restore ends (even ``kill -9``) the target
directory is either absent (or as it was) or complete. A killed restore leaves
its ``.<name>.restoring-*`` sibling behind; the next restore to the same target
removes it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import tomllib
from pathlib import Path
from typing import Any

from chancery.errors import ConfigurationError, Conflict
from chancery.services.backup.files import fsync_directory, fsync_tree

CONFIG_FILE = "chancery.toml"


def is_non_empty(target: Path) -> bool:
    """Whether ``target`` holds anything; raise :class:`Conflict` when it is not a directory."""
    if not target.exists():
        return False
    if not target.is_dir():
        raise Conflict(f"{target} exists and is not a directory")
    return any(target.iterdir())


def make_workdir(target: Path) -> Path:
    """A fresh private directory beside ``target`` (stale ones of killed restores are removed)."""
    parent = target.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    for stale in parent.glob(f".{target.name}.restoring-*"):
        shutil.rmtree(stale, ignore_errors=True)
    workdir = parent / f".{target.name}.restoring-{secrets.token_hex(4)}"
    workdir.mkdir(mode=0o700)
    return workdir


def discard(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)


def configure(workdir: Path, database_url: str | None) -> None:
    """Point the restored ``chancery.toml`` at the restored database (never at the source's).

    A server database is named by ``database_url``; a SQLite one is the data
    directory's own ``chancery.db``, so any ``database_url`` goes. ``data_dir`` goes too.
    """
    path = workdir / CONFIG_FILE
    values: dict[str, Any] = {}
    if path.exists():
        try:
            values = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            raise ConfigurationError(f"the backed-up {CONFIG_FILE} is not valid TOML") from None
    values.pop("data_dir", None)
    values.pop("database_url", None)
    if database_url is not None:
        values["database_url"] = database_url
    if not values and not path.exists():
        return
    text = "".join(f"{key} = {_toml_value(key, value)}\n" for key, value in values.items())
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("# Restored by `chancery backup restore`: database_url names the restored database.\n" + text)


def put_in_place(workdir: Path, target: Path, now: dt.datetime) -> Path | None:
    """Flush ``workdir`` and rename it to ``target``; a non-empty ``target`` is moved aside first.

    Returns where the previous contents went, if anywhere.
    """
    fsync_tree(workdir)
    os.chmod(workdir, 0o700)
    target = target.absolute()
    aside = None
    if is_non_empty(target):
        aside = target.with_name(f"{target.name}.before-restore-{now:%Y%m%dT%H%M%S}")
        os.rename(target, aside)
    os.rename(workdir, target)  # replaces an empty directory atomically
    fsync_directory(target.parent)
    return aside


def _toml_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    raise ConfigurationError(f"the backed-up {CONFIG_FILE} has a setting {key} this restore cannot rewrite")
