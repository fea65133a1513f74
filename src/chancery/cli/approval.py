"""``chancery approval ...``: dual control, the operations waiting for a second administrator."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from chancery.cli.session import application, console, operator, read_secret
from chancery.domain.approvals import OperationState, PendingOperation
from chancery.domain.principals import Principal
from chancery.wiring import Application

app = typer.Typer(help="Approve or reject operations waiting under dual control.", no_args_is_help=True)
AsOption = Annotated[
    str | None,
    typer.Option("--as", help="Act as this local user (asks for its password) instead of as the shell's user."),
]
PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="With --as: read the password from stdin.")]
IdArgument = Annotated[str, typer.Argument(help="The operation's id.")]


def acting(chancery: Application, as_user: str | None, password_stdin: bool) -> Principal:
    """The shell's operator, or a local user who proves who they are with a password."""
    if as_user is None:
        return operator()
    password = read_secret(password_stdin, f"Password for {as_user}: ", confirm=False)
    return chancery.authenticator.password_login(as_user, password, source="cli").principal


@app.command("list")
def list_operations(
    all_states: Annotated[bool, typer.Option("--all", help="Also the finished ones.")] = False,
    as_user: AsOption = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Operations waiting for approval.

    Example: chancery approval list
    """
    with application() as chancery:
        principal = acting(chancery, as_user, password_stdin)
        operations = chancery.dual_control.list(principal, None if all_states else OperationState.PENDING)
    table = Table("id", "state", "what", "requested by", "approvals", "expires")
    for o in operations:
        table.add_row(
            o.operation_id,
            o.state.value,
            o.summary,
            o.requested_by,
            f"{len(o.approvals)}/{o.approvals_required}",
            f"{o.expires_at:%Y-%m-%d %H:%M}Z",
        )
    console.print(table)


@app.command("approve")
def approve(operation_id: IdArgument, as_user: AsOption = None, password_stdin: PasswordStdin = False) -> None:
    """Approve an operation; with the last approval it runs.

    Example: echo "$PASSWORD" | chancery approval approve 5c1f0e9a7b3d2e41 --as bob --password-stdin
    """
    with application() as chancery:
        operation = chancery.dual_control.approve(acting(chancery, as_user, password_stdin), operation_id)
    _report(operation)


@app.command("reject")
def reject(
    operation_id: IdArgument,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
    as_user: AsOption = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Reject an operation: it will not run.

    Example: chancery approval reject 5c1f0e9a7b3d2e41 --reason "wrong subject"
    """
    with application() as chancery:
        operation = chancery.dual_control.reject(acting(chancery, as_user, password_stdin), operation_id, reason)
    _report(operation)


def _report(operation: PendingOperation) -> None:
    if operation.state is OperationState.PENDING:
        console.print(
            f"approved; {operation.summary} waits for {operation.approvals_required - len(operation.approvals)} more",
            highlight=False,
        )
    elif operation.state is OperationState.EXECUTED:
        console.print(f"approved and done: {operation.summary}", highlight=False)
    elif operation.state is OperationState.FAILED:
        console.print(f"approved, but it failed: {operation.result}", highlight=False)
        raise typer.Exit(4)
    else:
        console.print(f"{operation.summary}: {operation.state.value}", highlight=False)
