"""``chancery token ...``: API tokens (shown once, stored as hashes)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from chancery.cli.crl import parse_duration
from chancery.cli.session import application, console, operator, write_output

app = typer.Typer(help="API tokens for users: create, list, revoke.", no_args_is_help=True)


@app.command("create")
def create(
    user: Annotated[str, typer.Option(help="The token acts as this user, with the user's roles.")],
    expires: Annotated[str | None, typer.Option(help="Lifetime: 30d, 12h, 30m; at most 3660d (default: 90d).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the token here (mode 0600) instead of printing it.")] = None,
    ca: Annotated[str | None, typer.Option(help="Only on this CA.")] = None,
    name: Annotated[str, typer.Option(help="A label for the token.")] = "cli",
) -> None:
    """Create a token; without --out, only the token is printed (for scripts).

    Example: chancery token create --user alice --expires 30d --out alice.token
    """
    lifetime = dt.timedelta(seconds=parse_duration(expires)) if expires else None
    with application() as chancery:
        token = chancery.tokens.create_for_user(operator(), user, name, lifetime, ca)
    if out is None:
        sys.stdout.write(token.token + "\n")
        return
    write_output((token.token + "\n").encode(), out, mode=0o600)
    expiry = f", expires {token.record.expires_at:%Y-%m-%d %H:%M}Z" if token.record.expires_at else ""
    console.print(f"token {token.record.token_id} for {user} written to {out}{expiry}", highlight=False)


@app.command("list")
def list_tokens() -> None:
    """Every token (ids and owners; secrets are never stored).

    Example: chancery token list
    """
    with application() as chancery:
        records = chancery.tokens.list(operator())
        now = chancery.clock.now()
    table = Table("id", "name", "user", "roles", "CA", "created", "expires", "state")
    for r in records:
        state = "revoked" if r.revoked_at else "expired" if not r.usable_at(now) else "active"
        table.add_row(
            r.token_id,
            r.name,
            r.user_name or "-",
            ",".join(sorted(r.roles)) or "(the user's)",
            r.ca_scope or "any",
            f"{r.created_at:%Y-%m-%d}",
            f"{r.expires_at:%Y-%m-%d %H:%M}Z" if r.expires_at else "never",
            state,
        )
    console.print(table)


@app.command("revoke")
def revoke(token_id: Annotated[str, typer.Argument(help="The token's id (`chancery token list`).")]) -> None:
    """Revoke a token at once.

    Example: chancery token revoke 3f9a0c1e2b4d5a67
    """
    with application() as chancery:
        chancery.tokens.revoke(operator(), token_id)
    console.print(f"token {token_id} revoked", highlight=False)
