"""``chancery acme ...``: ACME directories (each bound to an RA and profile, with its policy) and
external account binding keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from chancery.cli.session import application, console, operator
from chancery.domain.acme import CHALLENGE_TYPES, DirectoryPolicy, DirectoryRecord
from chancery.domain.revocation import RevocationReason
from chancery.services.acme.directories import NewDirectory

app = typer.Typer(help="ACME (RFC 8555) directories, accounts and external account binding keys.", no_args_is_help=True)
directory_app = typer.Typer(help="ACME directories: /acme/NAME/directory.", no_args_is_help=True)
eab_app = typer.Typer(help="External account binding keys (RFC 8555 §7.3.4).", no_args_is_help=True)
account_app = typer.Typer(help="ACME accounts: list, deactivate, revoke their certificates.", no_args_is_help=True)
app.add_typer(directory_app, name="directory")
app.add_typer(eab_app, name="eab")
app.add_typer(account_app, name="account")

NameArgument = Annotated[str, typer.Argument(help="The directory's name (in its URL).")]
DirectoryOption = Annotated[str, typer.Option("--directory", help="The ACME directory.")]


@directory_app.command("create")
def create(
    name: NameArgument,
    ra: Annotated[str, typer.Option("--ra", help="The RA orders go to (its approval policy applies).")],
    profile: Annotated[
        str | None, typer.Option("--profile", help="One of the RA's profiles (default: its first).")
    ] = None,
    require_eab: Annotated[
        bool, typer.Option("--require-eab", help="Accounts need an external account binding.")
    ] = False,
    challenge: Annotated[
        list[str] | None,
        typer.Option("--challenge", help=f"A challenge type to offer ({', '.join(CHALLENGE_TYPES)}); repeat."),
    ] = None,
    allow_domain: Annotated[
        list[str] | None, typer.Option("--allow-domain", help="Only names under this suffix; repeat.")
    ] = None,
    deny_domain: Annotated[
        list[str] | None, typer.Option("--deny-domain", help="Never names under this suffix; repeat.")
    ] = None,
    no_wildcards: Annotated[bool, typer.Option("--no-wildcards", help="Refuse wildcard names.")] = False,
    identifier_types: Annotated[str, typer.Option("--identifier-types", help="Comma-separated: dns, ip.")] = "dns,ip",
    validity_days: Annotated[
        int | None, typer.Option("--validity-days", help="Certificate validity (default: the profile's).")
    ] = None,
    caa_identity: Annotated[
        list[str] | None,
        typer.Option("--caa-identity", help="Check CAA (RFC 8659) for this issuer domain name; repeat."),
    ] = None,
    orders_per_hour: Annotated[int, typer.Option("--orders-per-hour", help="New orders per account per hour.")] = 300,
    certificates_per_week: Annotated[
        int, typer.Option("--certificates-per-week", help="Certificates per registered domain per week.")
    ] = 500,
    terms_of_service: Annotated[
        str | None, typer.Option("--terms-of-service", help="URL clients must agree to.")
    ] = None,
) -> None:
    """Create an ACME directory.

    Example: chancery acme directory create web --ra web --require-eab --challenge http-01 --challenge dns-01
    """
    policy = DirectoryPolicy(
        require_eab=require_eab,
        challenges=tuple(challenge) if challenge else CHALLENGE_TYPES,
        identifier_types=tuple(t.strip() for t in identifier_types.split(",") if t.strip()),
        allow_domains=tuple(allow_domain or ()),
        deny_domains=tuple(deny_domain or ()),
        wildcards=not no_wildcards,
        validity_days=validity_days,
        caa_identities=tuple(caa_identity or ()),
        orders_per_hour=orders_per_hour,
        certificates_per_domain_week=certificates_per_week,
        terms_of_service=terms_of_service,
    )
    with application() as chancery:
        record = chancery.acme.directories.create(operator(), NewDirectory(name, ra, profile, policy))
    console.print(f"ACME directory [bold]{record.name}[/] on RA {record.ra}, profile {record.profile}", highlight=False)
    console.print(f"URL: {chancery.settings.base_url.rstrip('/')}/acme/{record.name}/directory", highlight=False)


@directory_app.command("list")
def list_directories() -> None:
    """Every ACME directory.

    Example: chancery acme directory list
    """
    with application() as chancery:
        records = chancery.acme.directories.list(operator())
    table = Table("directory", "RA", "profile", "EAB", "challenges", "created")
    for r in records:
        table.add_row(
            r.name,
            r.ra,
            r.profile,
            "required" if r.policy.require_eab else "optional",
            ", ".join(r.policy.challenges),
            f"{r.created_at:%Y-%m-%d}",
        )
    console.print(table)


@directory_app.command("show")
def show(name: NameArgument) -> None:
    """A directory and its policy.

    Example: chancery acme directory show web
    """
    with application() as chancery:
        record = chancery.acme.directories.show(operator(), name)
    _print(record)


def _print(record: DirectoryRecord) -> None:
    p = record.policy
    console.print(f"[bold]{record.name}[/]  RA {record.ra}, profile {record.profile}", highlight=False)
    rows = {
        "external account binding": "required" if p.require_eab else "optional",
        "challenges": ", ".join(p.challenges),
        "identifier types": ", ".join(p.identifier_types),
        "allowed domains": ", ".join(p.allow_domains) or "any",
        "denied domains": ", ".join(p.deny_domains) or "none",
        "wildcards": "yes" if p.wildcards else "no",
        "validity": f"{p.validity_days} days" if p.validity_days else "the profile's default",
        "CAA identities": ", ".join(p.caa_identities) or "(CAA not checked)",
        "orders per account per hour": str(p.orders_per_hour),
        "certificates per domain per week": str(p.certificates_per_domain_week),
        "authorization reuse": f"{p.authz_reuse_days} days",
    }
    for label, value in rows.items():
        console.print(f"  {label}: {value}", highlight=False)


@eab_app.command("create")
def eab_create(directory: DirectoryOption) -> None:
    """Create an external account binding key; prints "KID HMAC_B64URL" (the key is shown once).

    Example: chancery acme eab create --directory web
    """
    with application() as chancery:
        key = chancery.acme.eab.create(operator(), directory)
    typer.echo(f"{key.kid} {key.hmac_key}")


@eab_app.command("list")
def eab_list(directory: DirectoryOption) -> None:
    """The directory's EAB keys and the accounts bound to them.

    Example: chancery acme eab list --directory web
    """
    with application() as chancery:
        keys = chancery.acme.eab.list(operator(), directory)
    table = Table("kid", "created", "by", "account", "revoked")
    for k in keys:
        revoked = f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else ""
        table.add_row(k.kid, f"{k.created_at:%Y-%m-%d %H:%M}", k.created_by, k.account_id or "", revoked)
    console.print(table)


@eab_app.command("revoke")
def eab_revoke(kid: Annotated[str, typer.Argument(help="The key's kid.")]) -> None:
    """Revoke an EAB key: it binds no (further) account.

    Example: chancery acme eab revoke 3q2-7w...
    """
    with application() as chancery:
        chancery.acme.eab.revoke(operator(), kid)
    console.print(f"EAB key {kid} revoked", highlight=False)


@account_app.command("list")
def account_list(directory: DirectoryOption) -> None:
    """The directory's accounts.

    Example: chancery acme account list --directory web
    """
    with application() as chancery:
        accounts = chancery.acme.operators.accounts(operator(), directory)
    table = Table("account", "status", "contact", "EAB kid", "created")
    for a in accounts:
        table.add_row(
            a.account_id, a.status.value, ", ".join(a.contact), a.eab_kid or "", f"{a.created_at:%Y-%m-%d %H:%M}"
        )
    console.print(table)


@account_app.command("deactivate")
def account_deactivate(account_id: Annotated[str, typer.Argument(help="The account's id.")]) -> None:
    """Deactivate an account: it can do nothing more.

    Example: chancery acme account deactivate Zm9v...
    """
    with application() as chancery:
        chancery.acme.operators.deactivate(operator(), account_id)
    console.print(f"account {account_id} deactivated", highlight=False)


@account_app.command("revoke-certificates")
def account_revoke(
    account_id: Annotated[str, typer.Argument(help="The account's id.")],
    reason: Annotated[str, typer.Option("--reason", help="RFC 5280 reason, e.g. keyCompromise.")] = "unspecified",
) -> None:
    """Revoke every certificate an account obtained.

    Example: chancery acme account revoke-certificates Zm9v... --reason keyCompromise
    """
    with application() as chancery:
        done = chancery.acme.operators.revoke_all(operator(), account_id, RevocationReason.parse(reason))
    console.print(f"revoked {len(done.revoked)}; already revoked {len(done.already)}", highlight=False)
