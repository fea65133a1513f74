"""``chancery policy ...``: dual control and account lockout settings."""

from __future__ import annotations

from typing import Annotated

import typer

from chancery.cli.session import application, console, operator
from chancery.services.policies import RULES

app = typer.Typer(help="Dual control and lockout policies.", no_args_is_help=True)


@app.command("show")
def show() -> None:
    """Every policy and its value.

    Example: chancery policy show
    """
    with application() as chancery:
        values = chancery.policies.current(operator())
    for name, value in values.items():
        console.print(f"{name:<26} {value:>5}   {RULES[name].meaning}", highlight=False, markup=False)


@app.command("set")
def set_policy(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(RULES)}.")],
    value: Annotated[int, typer.Argument(help="The new value.")],
) -> None:
    """Set a policy; relaxing one (fewer approvals, no lockout) needs dual control when it is on.

    Example: chancery policy set dual-control.approvals 1
    """
    with application() as chancery:
        chancery.policies.set(operator(), name, value)
    console.print(f"{name} = {value}", highlight=False)
