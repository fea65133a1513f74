"""``chancery role ...``: who holds which role, where."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from chancery.cli.session import application, console, operator
from chancery.domain.principals import Role
from chancery.errors import Malformed
from chancery.services.identity.accounts import NewGrant

app = typer.Typer(help="Grant and revoke roles, on everything or on a CA, profile or RA.", no_args_is_help=True)


@app.command("grant")
def grant(
    role: Annotated[str, typer.Argument(help=f"One of: {', '.join(r.value for r in Role)}.")],
    user: Annotated[str | None, typer.Option(help="To this user.")] = None,
    group: Annotated[str | None, typer.Option(help="To every member of this group.")] = None,
    ca: Annotated[str | None, typer.Option(help="Only on this CA.")] = None,
    profile: Annotated[str | None, typer.Option(help="Only for this profile.")] = None,
    ra: Annotated[str | None, typer.Option(help="Only in this RA.")] = None,
) -> None:
    """Grant a role (a sensitive operation: with dual control on, another administrator approves).

    Example: chancery role grant ra-officer --user alice --ca issuing-1
    """
    try:
        chosen = Role(role)
    except ValueError:
        raise Malformed(f"unknown role {role!r}; use one of: {', '.join(r.value for r in Role)}") from None
    with application() as chancery:
        record = chancery.accounts.grant(operator(), NewGrant(chosen, user, group, ca, profile, ra))
    console.print(
        f"granted {record.grant} to {record.grantee_kind.value} {record.grantee} (grant {record.grant_id})",
        highlight=False,
    )


@app.command("revoke")
def revoke(grant_id: Annotated[int, typer.Argument(help="The grant's number (`chancery role list`).")]) -> None:
    """Revoke a role grant (a sensitive operation).

    Example: chancery role revoke 7
    """
    with application() as chancery:
        chancery.accounts.revoke_grant(operator(), grant_id)
    console.print(f"grant {grant_id} revoked", highlight=False)


@app.command("list")
def list_grants() -> None:
    """Every role grant.

    Example: chancery role list
    """
    with application() as chancery:
        records = chancery.accounts.list_grants(operator())
    table = Table("grant", "to", "role", "CA", "profile", "RA", "by", "when")
    for r in records:
        table.add_row(
            str(r.grant_id),
            f"{r.grantee_kind.value} {r.grantee}",
            r.role.value,
            r.ca or "any",
            r.profile or "any",
            r.ra or "any",
            r.created_by,
            f"{r.created_at:%Y-%m-%d}",
        )
    console.print(table)
