"""``chancery audit ...``: check, export and read the tamper-evident audit log."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from chancery.cli.session import application, console, err_console, operator
from chancery.domain.audit import AuditRecord
from chancery.domain.queries import AuditFilter

app = typer.Typer(help="The audit log: verify its hash chain and signatures, export it, read it.", no_args_is_help=True)


@app.command("verify")
def verify() -> None:
    """Check every entry's hash, the chain and the signed checkpoints; exit 0 when intact,
    1 naming the first bad entry otherwise.

    Example: chancery audit verify
    """
    with application() as chancery:
        report = chancery.audit.verify(operator())
    if report.intact:
        unsigned = report.newest - report.newest_signed
        note = f"; the newest {unsigned} not yet covered by a checkpoint" if unsigned else ""
        console.print(
            f"audit log intact: {report.entries} entries, {report.checkpoints} signed checkpoints{note}",
            highlight=False,
        )
        return
    err_console.print(
        f"[red]audit log damaged at entry {report.first_bad}:[/] {escape(report.problem)}", highlight=False
    )
    raise typer.Exit(1)


@app.command("export")
def export(out: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None) -> None:
    """Every entry as JSON lines, oldest first (with each entry's hash and its predecessor's).

    Example: chancery audit export --out audit.jsonl
    """
    with application() as chancery:
        handle = out.open("w", encoding="utf-8") if out else sys.stdout
        try:
            count = 0
            for record in chancery.audit.export(operator()):
                handle.write(json.dumps(as_json(record), ensure_ascii=False) + "\n")
                count += 1
        finally:
            if out:
                handle.close()
    if out:
        console.print(f"{count} entries written to {out}", highlight=False)


@app.command("list")
def list_entries(
    action: Annotated[
        str | None, typer.Option(help="Actions starting with this, e.g. login. or certificate.revoked.")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Done by this principal.")] = None,
    ca: Annotated[str | None, typer.Option(help="On this CA.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
) -> None:
    """The newest entries, filtered.

    Example: chancery audit list --action login. --limit 20
    """
    with application() as chancery:
        records = chancery.audit.search(operator(), AuditFilter(action=action, actor=actor, ca=ca), limit)
    table = Table("#", "when", "action", "outcome", "actor", "CA", "target")
    for r in records:
        table.add_row(
            str(r.sequence),
            f"{r.occurred_at:%Y-%m-%d %H:%M:%S}",
            r.action,
            r.outcome,
            r.actor,
            r.ca or "",
            r.target or "",
        )
    console.print(table)


@app.command("checkpoint")
def checkpoint() -> None:
    """Sign the newest entry with the audit key now (the server does it every minute).

    Example: chancery audit checkpoint
    """
    with application() as chancery:
        sequence = chancery.audit.checkpoint(operator())
    console.print(f"checkpoint signed at entry {sequence}" if sequence else "nothing new to sign", highlight=False)


def as_json(record: AuditRecord) -> dict[str, object]:
    return {
        "sequence": record.sequence,
        "occurred_at": record.occurred_at.isoformat(),
        "action": record.action,
        "outcome": record.outcome,
        "actor": record.actor,
        "ca": record.ca,
        "target": record.target,
        "details": record.details,
        "previous_hash": record.previous_hash,
        "entry_hash": record.entry_hash,
    }
