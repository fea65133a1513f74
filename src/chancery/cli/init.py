"""``chancery init``: create the data directory, database schema, key store and first admin token."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chancery import wiring
from chancery.cli.session import application, console, operator, write_output


def init(
    admin_token_out: Annotated[
        Path | None, typer.Option(help="Write the admin token to this file (mode 0600) instead of printing it.")
    ] = None,
) -> None:
    """Initialise Chancery in CHANCERY_DATA_DIR (default ./chancery-data). Safe to run again.

    Example: CHANCERY_KEY_PASSPHRASE=... chancery init --admin-token-out admin.token
    """
    with application(initialised=False, confirm_passphrase=True) as app:
        token = wiring.initialise(app, operator())
        console.print(f"Chancery initialised in [bold]{app.settings.data_dir}[/] ({_db(app)})")
        if token is None:
            console.print("An admin token already exists; none was created.")
            return
        if admin_token_out is not None:
            write_output((token.token + "\n").encode(), admin_token_out, mode=0o600)
            console.print(f"Admin API token written to {admin_token_out} (shown nowhere else).")
        else:
            console.print("Admin API token (shown once, store it now):")
            console.print(token.token, markup=False, highlight=False, soft_wrap=True)


def _db(app: wiring.Application) -> str:
    return "SQLite" if app.database.is_sqlite else "PostgreSQL"
