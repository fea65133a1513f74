"""``chancery user ...`` and ``chancery group ...``: local users and groups."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from chancery.cli.session import application, console, operator, read_secret

app = typer.Typer(
    help="Local users: add, list, disable, passwords, second factor, certificate login.", no_args_is_help=True
)
groups = typer.Typer(help="Groups of users (roles can be granted to a group).", no_args_is_help=True)
NameArgument = Annotated[str, typer.Argument(help="The user's name.")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]


@app.command("add")
def add(
    name: NameArgument,
    password_stdin: PasswordStdin = False,
    display_name: Annotated[str, typer.Option(help="Full name, for people reading the audit log.")] = "",
    no_password: Annotated[bool, typer.Option("--no-password", help="Tokens or a client certificate only.")] = False,
) -> None:
    """Add a local user (Argon2id password hash; at least 12 characters).

    Example: echo "$PASSWORD" | chancery user add alice --password-stdin
    """
    password = None if no_password else read_secret(password_stdin, f"Password for {name}: ")
    with application() as chancery:
        chancery.accounts.add_user(operator(), name, password, display_name)
    console.print(f"user [bold]{name}[/] added", highlight=False)


@app.command("list")
def list_users() -> None:
    """Users, where they come from, and their state.

    Example: chancery user list
    """
    with application() as chancery:
        users = chancery.accounts.list_users(operator())
        now = chancery.clock.now()
    table = Table("name", "source", "state", "2FA", "last login", "display name")
    for user in users:
        state = "disabled" if user.disabled else "locked" if user.locked_at(now) else "active"
        last = f"{user.last_login_at:%Y-%m-%d %H:%M}Z" if user.last_login_at else "-"
        table.add_row(user.name, user.source.value, state, "totp" if user.totp_sealed else "-", last, user.display_name)
    console.print(table)


@app.command("disable")
def disable(name: NameArgument) -> None:
    """Disable a user: its sessions end and its tokens stop working.

    Example: chancery user disable bob
    """
    with application() as chancery:
        chancery.accounts.set_disabled(operator(), name, True)
    console.print(f"user {name} disabled", highlight=False)


@app.command("enable")
def enable(name: NameArgument) -> None:
    """Enable a disabled user again.

    Example: chancery user enable bob
    """
    with application() as chancery:
        chancery.accounts.set_disabled(operator(), name, False)
    console.print(f"user {name} enabled", highlight=False)


@app.command("unlock")
def unlock(name: NameArgument) -> None:
    """Lift a lockout after repeated failed logins.

    Example: chancery user unlock alice
    """
    with application() as chancery:
        chancery.accounts.unlock(operator(), name)
    console.print(f"user {name} unlocked", highlight=False)


@app.command("passwd")
def passwd(name: NameArgument, password_stdin: PasswordStdin = False) -> None:
    """Set a local user's password.

    Example: echo "$NEW_PASSWORD" | chancery user passwd alice --password-stdin
    """
    password = read_secret(password_stdin, f"New password for {name}: ")
    with application() as chancery:
        chancery.accounts.set_password(operator(), name, password)
    console.print(f"password of {name} set", highlight=False)


@app.command("totp")
def enrol_totp(
    name: NameArgument, remove: Annotated[bool, typer.Option("--remove", help="Stop asking for codes.")] = False
) -> None:
    """Require a one-time code (TOTP, RFC 6238) at login; prints the otpauth:// URI once.

    Example: chancery user totp alice
    """
    with application() as chancery:
        if remove:
            chancery.accounts.remove_totp(operator(), name)
            console.print(f"one-time codes no longer required for {name}", highlight=False)
            return
        enrolment = chancery.accounts.enrol_totp(operator(), name)
    console.print("Add this to the authenticator app (shown once):")
    console.print(enrolment.uri, markup=False, highlight=False, soft_wrap=True)


@app.command("map-certificate")
def map_certificate(
    name: NameArgument,
    subject: Annotated[str | None, typer.Option(help="The client certificate's subject DN (RFC 4514).")] = None,
    san: Annotated[str | None, typer.Option(help="Or one of its SANs: email:..., UPN:..., DNS:...")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the mapping.")] = False,
) -> None:
    """Let ``name`` log in with a TLS client certificate (``chancery serve --client-ca``).

    Example: chancery user map-certificate alice --san email:alice@example.com
    """
    if clear == (subject is not None or san is not None) or (subject is not None and san is not None):
        raise typer.BadParameter("give --subject or --san (one), or --clear")
    match = None if clear else (f"subject:{subject}" if subject is not None else f"san:{san}")
    with application() as chancery:
        chancery.accounts.set_certificate_match(operator(), name, match)
    console.print(f"certificate login for {name}: {match or 'off'}", highlight=False, markup=False)


@groups.command("add")
def add_group(name: Annotated[str, typer.Argument(help="The group's name.")], description: str = "") -> None:
    """Create a group.

    Example: chancery group add ops --description "CA operations team"
    """
    with application() as chancery:
        chancery.accounts.add_group(operator(), name, description)
    console.print(f"group [bold]{name}[/] added", highlight=False)


@groups.command("list")
def list_groups() -> None:
    """Groups and their members.

    Example: chancery group list
    """
    with application() as chancery:
        records = chancery.accounts.list_groups(operator())
    table = Table("group", "members", "description")
    for group in records:
        table.add_row(group.name, ", ".join(group.members) or "-", group.description)
    console.print(table)


@groups.command("add-member")
def add_member(group: str, user: str) -> None:
    """Put a user in a group.

    Example: chancery group add-member ops alice
    """
    with application() as chancery:
        chancery.accounts.set_membership(operator(), group, user, True)
    console.print(f"{user} is now in {group}", highlight=False)


@groups.command("remove-member")
def remove_member(group: str, user: str) -> None:
    """Take a user out of a group.

    Example: chancery group remove-member ops alice
    """
    with application() as chancery:
        chancery.accounts.set_membership(operator(), group, user, False)
    console.print(f"{user} is no longer in {group}", highlight=False)
