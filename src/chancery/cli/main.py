"""The ``chancery`` command."""

from __future__ import annotations

import logging
import sys

import typer
from rich.markup import escape

from chancery import __version__
from chancery.cli import (
    acme,
    approval,
    audit,
    backup,
    ca,
    ceremony,
    cert,
    crl,
    demo,
    emv,
    init,
    keys,
    ldap,
    notify,
    policy,
    profile,
    ra,
    role,
    scep,
    serve,
    token,
    user,
)
from chancery.cli.errors import EXIT_CODES
from chancery.cli.session import err_console
from chancery.errors import CAError, ErrorKind

app = typer.Typer(
    name="chancery",
    help="Chancery: an enterprise certificate authority. Data directory: CHANCERY_DATA_DIR (default ./chancery-data).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.command("init")(init.init)
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)
app.add_typer(ca.app, name="ca")
app.add_typer(cert.app, name="cert")
app.add_typer(crl.app, name="crl")
app.add_typer(profile.app, name="profile")
app.add_typer(user.app, name="user")
app.add_typer(user.groups, name="group")
app.add_typer(role.app, name="role")
app.add_typer(token.app, name="token")
app.add_typer(ldap.app, name="ldap")
app.add_typer(audit.app, name="audit")
app.add_typer(backup.app, name="backup")
app.add_typer(approval.app, name="approval")
app.add_typer(policy.app, name="policy")
app.add_typer(ra.app, name="ra")
app.add_typer(acme.app, name="acme")
app.add_typer(scep.app, name="scep")
app.add_typer(emv.app, name="emv")
app.add_typer(notify.app, name="notify")
app.add_typer(keys.app, name="keys")
keys.app.command("require-quorum")(ceremony.require_quorum)
app.add_typer(ceremony.app, name="ceremony")


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


def main() -> None:
    """Run the CLI, turning :class:`CAError` into a message and an exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except CAError as error:
        if error.kind is ErrorKind.APPROVAL_REQUIRED:  # recorded, not failed: another administrator approves it
            err_console.print(f"[yellow]waiting for approval:[/] {escape(error.detail)}", highlight=False)
        else:
            # the detail may quote what the user typed, or a syntax such as '<role>[@<CA>[/<profile>]]': not markup
            err_console.print(f"[red]error:[/] {escape(error.detail)}", highlight=False)
        sys.exit(EXIT_CODES[error.kind])
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors and the unexpected
        import click

        # newer typer raises its bundled copy of click's exceptions (typer._click), not click's own
        if isinstance(exc, click.ClickException | typer.TyperException) and hasattr(exc, "show"):
            exc.show()
            sys.exit(exc.exit_code)
        logging.getLogger("chancery").exception("unexpected error")
        sys.exit(1)


if __name__ == "__main__":
    main()
