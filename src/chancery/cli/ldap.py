"""``chancery ldap ...``: log in with an LDAP / Active Directory account."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chancery.cli.session import application, console, operator, read_input, read_secret
from chancery.services.identity.directory_settings import LdapConfiguration

app = typer.Typer(help="The LDAP / Active Directory directory users log in with.", no_args_is_help=True)


@app.command("configure")
def configure(
    url: Annotated[str, typer.Option(help="ldap://HOST:PORT or ldaps://HOST:PORT.")],
    base_dn: Annotated[str, typer.Option("--base-dn", help="Where users (and groups) are searched.")],
    bind_dn: Annotated[str, typer.Option("--bind-dn", help="The service account that searches.")],
    bind_password_stdin: Annotated[
        bool, typer.Option("--bind-password-stdin", help="Read the service account's password from stdin.")
    ] = False,
    user_filter: Annotated[
        str, typer.Option("--user-filter", help="{username} is replaced (escaped).")
    ] = "(uid={username})",
    group_map: Annotated[
        list[str] | None,
        typer.Option(
            "--group-map", help="GROUP_DN=ROLE, GROUP_DN=ROLE@CA or GROUP_DN=ROLE@CA/PROFILE; repeat for more groups."
        ),
    ] = None,
    start_tls: Annotated[bool, typer.Option("--start-tls", help="StartTLS on an ldap:// URL.")] = False,
    ca_file: Annotated[
        Path | None, typer.Option("--ca-file", help="PEM CAs that issued the server's certificate.")
    ] = None,
    verify: Annotated[
        bool,
        typer.Option("--verify/--no-verify", help="Bind with the service account and search once before storing."),
    ] = True,
) -> None:
    """Configure the directory (a sensitive operation). The password is sealed by the key store.

    The service account binds and searches once first: a wrong URL, DN, password or TLS setting
    is refused here and nothing is stored (--no-verify stores it anyway, e.g. before the directory exists).

    Example: echo "$BIND_PASSWORD" | chancery ldap configure --url ldaps://dc1.corp.example:636 --base-dn dc=corp,dc=example --bind-dn cn=chancery,ou=services,dc=corp,dc=example --bind-password-stdin --user-filter "(sAMAccountName={username})" --group-map "cn=PKI Officers,ou=groups,dc=corp,dc=example=ra-officer@issuing"
    """
    password = read_secret(bind_password_stdin, "Service account password: ", confirm=False)
    pem = read_input(ca_file, "CA file").decode("utf-8", "replace") if ca_file else None
    configuration = LdapConfiguration(
        url, base_dn, bind_dn, password, user_filter, start_tls, pem, tuple(group_map or ())
    )
    with application() as chancery:
        settings = chancery.directory.configure(operator(), configuration, verify=verify)
    console.print(
        f"LDAP directory {settings.url} configured ({len(settings.group_mappings)} group mapping(s))", highlight=False
    )


@app.command("show")
def show() -> None:
    """The directory settings (never the password).

    Example: chancery ldap show
    """
    with application() as chancery:
        settings = chancery.directory.current(operator())
    if settings is None:
        console.print("no LDAP directory configured")
        return
    for label, value in (
        ("url", settings.url),
        ("base DN", settings.base_dn),
        ("bind DN", settings.bind_dn),
        ("user filter", settings.user_filter),
        ("StartTLS", "yes" if settings.start_tls else "no"),
        ("trusted CAs", "given" if settings.ca_certificates_pem else "the system's"),
    ):
        console.print(f"{label:>12}  {value}", highlight=False, markup=False)
    for mapping in settings.group_mappings:
        console.print(f"{'group':>12}  {mapping.group_dn} -> {mapping.grant}", highlight=False, markup=False)


@app.command("test")
def test(username: Annotated[str, typer.Argument(help="A directory user name.")]) -> None:
    """Find a user with the service account: its entry, its groups and the roles they map to.

    Example: chancery ldap test alice
    """
    with application() as chancery:
        check = chancery.directory.check(operator(), username)
    if check.user is None:
        console.print(f"{username}: not found in the directory", highlight=False, markup=False)
        raise typer.Exit(3)
    console.print(f"{username}: {check.user.dn} ({check.user.display_name})", highlight=False, markup=False)
    for group in check.user.groups:
        console.print(f"  group {group}", highlight=False, markup=False)
    for grant in check.grants:
        console.print(f"  role  {grant}", highlight=False, markup=False)
    if not check.grants:
        console.print("  no group maps to a role: this user could log in but do nothing", highlight=False)
