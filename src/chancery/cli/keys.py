"""``chancery keys ...``: where CA keys live (the software store, a PKCS#11 token)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from chancery.cli.session import application, console, operator
from chancery.domain.keystores import PinKind, PinSource, Pkcs11Config

app = typer.Typer(help="Where CA keys live: the sealed software store, or a PKCS#11 token (HSM).", no_args_is_help=True)


@app.command("configure-pkcs11")
def configure_pkcs11(
    module: Annotated[Path, typer.Option("--module", help="The PKCS#11 module (a .so file).")],
    token_label: Annotated[str | None, typer.Option("--token-label", help="The token's label.")] = None,
    slot: Annotated[int | None, typer.Option("--slot", help="The token's slot id (instead of its label).")] = None,
    pin_env: Annotated[
        str | None, typer.Option("--pin-env", help="Environment variable that holds the user PIN.")
    ] = None,
    pin_file: Annotated[Path | None, typer.Option("--pin-file", help="File whose first line is the PIN.")] = None,
    pin_prompt: Annotated[bool, typer.Option("--pin-prompt", help="Ask for the PIN on the terminal.")] = False,
) -> None:
    """Use a PKCS#11 token for CA keys: logs in once to check, then stores the configuration
    (never the PIN). CAs created with --key-store pkcs11 then generate their keys there.

    Example: chancery keys configure-pkcs11 --module /usr/lib/softhsm/libsofthsm2.so --token-label ca --pin-env HSM_PIN
    """
    sources = [
        PinSource(PinKind.ENV, pin_env) if pin_env else None,
        PinSource(PinKind.FILE, str(pin_file.absolute())) if pin_file else None,
        PinSource(PinKind.PROMPT) if pin_prompt else None,
    ]
    chosen = [source for source in sources if source is not None]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --pin-env, --pin-file and --pin-prompt")
    if (token_label is None) == (slot is None):
        raise typer.BadParameter("give exactly one of --token-label and --slot")
    config = Pkcs11Config(module=str(module.absolute()), pin=chosen[0], token_label=token_label, slot=slot)
    with application() as chancery:
        info = chancery.key_stores.configure_pkcs11(operator(), config)
    console.print(
        f"PKCS#11 token {escape(info.label)!r} ({escape(info.manufacturer)} {escape(info.model)}, serial "
        f"{escape(info.serial)}) configured; PIN from {config.pin.describe()}. Create CAs with --key-store pkcs11 "
        f"(key types: {' '.join(info.key_types)}).",
        highlight=False,
    )


@app.command("show")
def show(
    check: Annotated[bool, typer.Option("--check/--no-check", help="Log in to the token to check it.")] = True,
) -> None:
    """Show the PKCS#11 configuration, the token, and the keys Chancery uses in it.

    Example: chancery keys show
    """
    with application() as chancery:
        report = chancery.key_stores.report(operator(), check_token=check)
    console.print("[bold]software store[/]  sealed keys (AES-256-GCM) in the database", highlight=False)
    if report.pkcs11 is None:
        console.print("[bold]PKCS#11[/]  not configured (chancery keys configure-pkcs11)", highlight=False)
        return
    config = report.pkcs11.config
    for label, value in (
        ("module", config.module),
        ("token", config.describe_token()),
        ("PIN from", config.pin.describe()),
        ("configured", f"{report.pkcs11.updated_at:%Y-%m-%d %H:%M}Z by {report.pkcs11.updated_by}"),
    ):
        console.print(f"[bold]{label:>10}[/]  {escape(value)}", highlight=False)
    if report.token is not None:
        token = report.token
        console.print(
            f"[bold]{'reached':>10}[/]  {escape(token.label)} ({escape(token.manufacturer)} {escape(token.model)}, "
            f"serial {escape(token.serial)}); key types: {' '.join(token.key_types)}",
            highlight=False,
        )
    elif report.token_problem is not None:
        console.print(f"[bold]{'reached':>10}[/]  [red]no[/]: {escape(report.token_problem)}", highlight=False)
    table = Table("label", "key id", "type", "purpose", "CA", "adopted", "public key SHA-256")
    for use in report.keys:
        key = use.key
        digest = hashlib.sha256(key.public_key_der).hexdigest()[:16]
        table.add_row(
            key.label, key.key_id, key.key_type, key.purpose, use.ca or "-", "yes" if key.adopted else "no", digest
        )
    console.print(table)
