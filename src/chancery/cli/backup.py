"""``chancery backup``: encrypted backups that a quorum of custodians restores.

Custodian ``i``'s passphrase comes from CHANCERY_CUSTODIAN_PASSPHRASE_<i>, else a
hidden prompt. The key store passphrase (CHANCERY_KEY_PASSPHRASE, or a prompt)
of the installation that made a backup opens its backup key.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from chancery import wiring
from chancery.cli.custodians import CustodianPassphrases
from chancery.cli.session import application, console, err_console, operator, prompt_passphrase, prompt_pin, settings
from chancery.errors import KeystoreUnavailable
from chancery.services.backup.creation import CreateBackup
from chancery.services.backup.restoration import RestoreBackup
from chancery.services.backup.verification import BackupVerifier, VerifyBackup, VerifyReport

app = typer.Typer(help="Encrypted backups restored by a quorum of custodians.", no_args_is_help=True)
PASSPHRASE_VARIABLE = "CHANCERY_CUSTODIAN_PASSPHRASE_{}"  # noqa: S105 - a variable name, not a secret
Shares = Annotated[list[Path], typer.Option("--share", help="A custodian's share file (repeat for each custodian).")]


@app.command("create")
def create(
    out: Annotated[Path, typer.Option("--out", help="The backup file to write (must not exist).")],
    custodians: Annotated[int, typer.Option("--custodians", help="N: how many custodians get a share.")],
    threshold: Annotated[int, typer.Option("--threshold", help="M: how many shares a restore needs.")],
    share_dir: Annotated[Path, typer.Option("--share-dir", help="Where the N share files are written.")],
) -> None:
    """Back up the database, sealed keys and data-directory files; split the key among custodians.

    Example: chancery backup create --out ca.backup --custodians 5 --threshold 3 --share-dir shares/
    """
    request = CreateBackup(out, custodians, threshold, share_dir)
    with application() as chancery, RichProgress() as progress:
        result = chancery.backups.create(operator(), request, _CustodianPrompt(confirm=True), progress)
    manifest = result.manifest
    err_console.print(
        f"Backup {manifest.backup_id} written to [bold]{escape(str(result.path))}[/]: "
        f"{sum(manifest.database.row_counts.values())} rows of the {manifest.database.kind} database, "
        f"{len(manifest.database.software_keys)} sealed keys, {len(manifest.files)} data-directory files."
    )
    for path in result.shares:
        err_console.print(f"  share for custodian {path.name.rsplit('custodian-', 1)[-1].split('.')[0]}: {path}")
    err_console.print(
        f"Restoring needs {threshold} of these {custodians} custodians AND the key store passphrase of this "
        "installation. Keep the SHA-256 below with the backup's records:"
    )
    typer.echo(f"{result.sha256}  {result.path}")


@app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="The backup file.")],
    share: Shares = [],  # noqa: B006 - typer reads the default, never mutates it
) -> None:
    """Check a backup without restoring it (see the report for what was and was not checked).

    Without secrets: structure, end marker and digests. With the key store passphrase of the
    installation that made it (CHANCERY_KEY_PASSPHRASE): the trailer's MAC, i.e. every byte.
    With --share files of a quorum of custodians: every chunk decrypted and checked.
    """
    passphrase = settings().passphrase()
    opener = None
    if passphrase is not None or share:
        opener = wiring.backup_key_opener(
            lambda: passphrase or prompt_passphrase(), CustodianPassphrases().for_key_store
        )
    with RichProgress() as progress:
        report = BackupVerifier().verify(VerifyBackup(file, tuple(share), opener), _CustodianPrompt(), progress)
    _print_report(report)


@app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="The backup file.")],
    to: Annotated[Path, typer.Option("--to", help="The new data directory (absent or empty).")],
    share: Shares,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Restore into this (new, empty) PostgreSQL database; default SQLite."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a non-empty directory or database (dual control applies).")
    ] = False,
) -> None:
    """Restore a backup into a new data directory; nothing is written unless all of it checks out.

    Example: chancery backup restore ca.backup --to /srv/chancery-restored --share s1 --share s2 --share s3
    """
    config = settings()
    restorer = wiring.backup_restorer(
        lambda: config.passphrase() or prompt_passphrase(),
        CustodianPassphrases().for_key_store,
        pin_prompt=prompt_pin,
    )
    request = RestoreBackup(file, to, tuple(share), database_url, force)
    with RichProgress() as progress:
        result = restorer.restore(operator(), request, _CustodianPrompt(), progress)
    manifest = result.manifest
    console.print(
        f"Restored backup {manifest.backup_id} ({manifest.created_at:%Y-%m-%d %H:%M:%S}Z, "
        f"{sum(manifest.database.row_counts.values())} rows) into [bold]{escape(str(result.target))}[/] "
        f"with custodians {', '.join(map(str, result.custodians))}."
    )
    if result.moved_aside is not None:
        console.print(f"The previous contents were moved to {escape(str(result.moved_aside))}.")
    if database_url is not None:
        console.print("Its chancery.toml names the restored PostgreSQL database (unset CHANCERY_DATABASE_URL).")
    for note in result.notes:
        console.print(escape(note))
    console.print(f"Use it with CHANCERY_DATA_DIR={escape(str(result.target))} and the same key store passphrase.")


def _print_report(report: VerifyReport) -> None:
    typer.echo(f"{report.sha256}  {report.path}")
    for line in report.manifest.summary_lines():
        console.print(escape(line))
    for check in report.checks:
        mark = {True: "[green]ok[/]", False: "[red]FAILED[/]", None: "[yellow]not checked[/]"}[check.passed]
        console.print(f"{check.what}: {mark} - {escape(check.detail)}")


class _CustodianPrompt:
    """Custodian ``i``'s passphrase: CHANCERY_CUSTODIAN_PASSPHRASE_<i>, else a hidden prompt."""

    def __init__(self, confirm: bool = False) -> None:
        self._confirm = confirm

    def __repr__(self) -> str:
        return "_CustodianPrompt(<hidden>)"

    def __call__(self, custodian: int) -> bytes:
        variable = PASSPHRASE_VARIABLE.format(custodian)
        value = os.environ.get(variable)
        if value:
            return value.encode()
        if not sys.stdin.isatty():
            raise KeystoreUnavailable(f"no passphrase for custodian {custodian}: set {variable} (no terminal here)")
        first = getpass.getpass(f"Passphrase of backup custodian {custodian}: ")
        if self._confirm and getpass.getpass("Repeat it: ") != first:
            raise typer.BadParameter(f"custodian {custodian}'s passphrases differ")
        return first.encode()


class RichProgress:
    """rich progress bars on stderr, only on a terminal (:class:`chancery.domain.backups.Progress`)."""

    def __init__(self) -> None:
        columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn())
        self._bars = Progress(*columns, console=err_console, transient=True, disable=not err_console.is_terminal)
        self._task: object | None = None

    def __enter__(self) -> RichProgress:
        self._bars.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._bars.stop()

    def start(self, label: str, total: int | None) -> None:
        self._task = self._bars.add_task(label, total=total)

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._bars.advance(self._task, amount)  # type: ignore[arg-type]

    def done(self) -> None:
        if self._task is not None:
            self._bars.remove_task(self._task)  # type: ignore[arg-type]
            self._task = None
