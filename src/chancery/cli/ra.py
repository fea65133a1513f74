"""``chancery ra ...``: registration authorities and their approval policy per profile.

The requests sent to an RA (submit, queue, approve, deny, cancel, download) live in
:mod:`chancery.cli.ra_requests` and are registered on the same ``ra`` command here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from chancery.cli import ra_requests
from chancery.cli.session import application, console, operator
from chancery.domain.permissions import Permission
from chancery.domain.principals import Role
from chancery.domain.registration import ProfilePolicy, RaRecord
from chancery.errors import Malformed
from chancery.services.authorization import ROLE_PERMISSIONS
from chancery.services.registration.authorities import NewRa

app = typer.Typer(
    help="Registration authorities: an approval policy per profile, requests, M-of-N approvals.",
    no_args_is_help=True,
)

# The roles that carry request:approve (a policy naming another could never be met).
APPROVER_ROLES = tuple(role for role in Role if Permission.REQUEST_APPROVE in ROLE_PERMISSIONS[role])
NameArgument = Annotated[str, typer.Argument(help="The RA's name.")]
ApprovalsOption = Annotated[int | None, typer.Option("--approvals", help="Distinct approvers needed (0 to 5).")]
RoleOption = Annotated[
    str | None,
    typer.Option("--approver-role", help=f"Approvers hold this role: {', '.join(r.value for r in APPROVER_ROLES)}."),
]
GroupOption = Annotated[
    str | None,
    typer.Option(
        "--approver-group", help="Approvers must also be in this group (a group name, or a directory group DN)."
    ),
]
LifetimeOption = Annotated[
    int | None, typer.Option("--lifetime-hours", help="A pending request expires after this long (1 to 2160).")
]


@dataclass(frozen=True)
class PolicyChange:
    """The policy options given on the command line; ``None`` keeps the current value."""

    approvals: int | None = None
    approver_role: str | None = None
    approver_group: str | None = None
    any_group: bool = False
    allow_anonymous: bool | None = None
    lifetime_hours: int | None = None
    deny_needs_reason: bool | None = None

    @property
    def empty(self) -> bool:
        return not self.any_group and all(getattr(self, f.name) is None for f in fields(self) if f.name != "any_group")

    def applied_to(self, base: ProfilePolicy) -> ProfilePolicy:
        """``base`` with these changes; :class:`Malformed` (from :class:`ProfilePolicy`) when the result is not valid."""
        if self.any_group and self.approver_group is not None:
            raise Malformed("give --approver-group or --any-group, not both")
        changes: dict[str, object] = {
            "approvals": self.approvals,
            "approver_role": _approver_role(self.approver_role) if self.approver_role is not None else None,
            "approver_group": self.approver_group or None,
            "allow_anonymous": self.allow_anonymous,
            "lifetime_hours": self.lifetime_hours,
            "deny_needs_reason": self.deny_needs_reason,
        }
        given = {key: value for key, value in changes.items() if value is not None}
        if self.any_group:
            given["approver_group"] = None
        return replace(base, **given)  # ProfilePolicy checks its own ranges


@app.command("create")
def create(
    name: NameArgument,
    ca: Annotated[str, typer.Option("--ca", help="The CA that issues what the RA approves.")],
    profile: Annotated[list[str], typer.Option("--profile", help="A profile the RA takes (repeat for more).")],
    approvals: Annotated[int, typer.Option("--approvals", help="Distinct approvers needed (0 to 5).")] = 1,
    revocation_approvals: Annotated[
        int, typer.Option("--revocation-approvals", help="Approvers a revocation request needs (0: at once).")
    ] = 0,
    lifetime_hours: Annotated[
        int, typer.Option("--lifetime-hours", help="A pending request expires after this long.")
    ] = ProfilePolicy.lifetime_hours,
    approver_role: RoleOption = None,
    approver_group: GroupOption = None,
    allow_anonymous: Annotated[
        bool, typer.Option("--allow-anonymous", help="Take requests from people who are not logged in.")
    ] = False,
    deny_without_reason: Annotated[
        bool, typer.Option("--deny-without-reason", help="Officers may deny without giving a reason.")
    ] = False,
    notify_email: Annotated[
        list[str] | None, typer.Option("--notify-email", help="Told of every new pending request (repeatable).")
    ] = None,
    description: Annotated[str, typer.Option("--description", help="What the RA is for.")] = "",
) -> None:
    """Create an RA on a CA with one policy for its profiles (dual control: operation ra.create).

    Example: chancery ra create web --ca issuing --profile tls-server --profile tls-client --approvals 2
    """
    change = PolicyChange(
        approvals=approvals,
        approver_role=approver_role,
        approver_group=approver_group,
        allow_anonymous=allow_anonymous,
        lifetime_hours=lifetime_hours,
        deny_needs_reason=not deny_without_reason,
    )
    new = NewRa(
        name=name,
        ca=ca,
        profiles=tuple(profile),
        policy=change.applied_to(ProfilePolicy()),
        revocation_approvals=revocation_approvals,
        description=description,
        notify_emails=tuple(notify_email or ()),
    )
    with application() as chancery:
        record = chancery.ras.create(operator(), new)
    console.print(
        f"RA [bold]{record.name}[/] created on CA {record.ca} for {', '.join(record.profiles)}", highlight=False
    )


@app.command("list")
def list_ras() -> None:
    """Every RA, its CA and the profiles it takes.

    Example: chancery ra list
    """
    with application() as chancery:
        records = chancery.ras.list()
    table = Table("RA", "CA", "profiles", "approvals", "revocation approvals", "created", "description")
    for r in records:
        counts = sorted({policy.approvals for _, policy in r.policies})
        table.add_row(
            r.name,
            r.ca,
            ", ".join(r.profiles),
            "/".join(str(count) for count in counts),
            str(r.revocation_approvals),
            f"{r.created_at:%Y-%m-%d}",
            r.description,
        )
    console.print(table)


@app.command("show")
def show(name: NameArgument) -> None:
    """An RA and, per profile, who must approve and how.

    Example: chancery ra show web
    """
    with application() as chancery:
        record = chancery.ras.get(name)
    _print_ra(record)


@app.command("policy")
def policy(
    name: NameArgument,
    profile: Annotated[str, typer.Option("--profile", help="The profile whose policy to add, change or remove.")],
    approvals: ApprovalsOption = None,
    allow_anonymous: Annotated[
        bool | None,
        typer.Option("--allow-anonymous/--no-anonymous", help="Take requests from people who are not logged in."),
    ] = None,
    lifetime_hours: LifetimeOption = None,
    approver_role: RoleOption = None,
    approver_group: GroupOption = None,
    any_group: Annotated[bool, typer.Option("--any-group", help="Approvers need not be in a group.")] = False,
    deny_without_reason: Annotated[
        bool | None,
        typer.Option("--deny-without-reason/--deny-needs-reason", help="Whether denying needs a reason."),
    ] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Stop taking requests for the profile.")] = False,
) -> None:
    """Add a profile to an RA, change its policy, or remove it (dual control: operation ra.set-policy).

    Options not given keep the profile's current values (a new profile starts from the defaults:
    1 approval by an ra-officer, no anonymous requests, pending 168 hours, denial needs a reason).

    Example: chancery ra policy web --profile tls-server --approvals 2 --no-anonymous
    """
    change = PolicyChange(
        approvals=approvals,
        approver_role=approver_role,
        approver_group=approver_group,
        any_group=any_group,
        allow_anonymous=allow_anonymous,
        lifetime_hours=lifetime_hours,
        deny_needs_reason=None if deny_without_reason is None else not deny_without_reason,
    )
    if remove and not change.empty:
        raise typer.BadParameter("--remove takes no policy options")
    with application() as chancery:
        current = chancery.ras.get(name)
        chosen = None if remove else change.applied_to(current.policy(profile) or ProfilePolicy())
        record = chancery.ras.set_policy(operator(), name, profile, chosen)
    if chosen is None:
        console.print(f"RA {record.name} no longer takes {profile}", highlight=False)
    else:
        console.print(f"RA {record.name}, {profile}: {describe_policy(chosen)}", highlight=False)


# The requests to an RA: their commands live in chancery.cli.ra_requests.
app.command("submit")(ra_requests.submit)
app.command("requests")(ra_requests.list_requests)
app.add_typer(ra_requests.request_app, name="request")
app.command("approve")(ra_requests.approve)
app.command("deny")(ra_requests.deny)
app.command("cancel")(ra_requests.cancel)
app.command("download")(ra_requests.download)


def describe_policy(policy: ProfilePolicy) -> str:
    who = policy.approver_role.value + (f" in group {policy.approver_group}" if policy.approver_group else "")
    plural = "" if policy.approvals == 1 else "s"
    needs = f"{policy.approvals} approval{plural} by {who}" if policy.approvals else "issued without approval"
    anonymous = ", anonymous requests allowed" if policy.allow_anonymous else ""
    return f"{needs}{anonymous}, pending requests expire after {policy.lifetime_hours} h"


def _print_ra(record: RaRecord) -> None:
    for label, value in (
        ("RA", record.name),
        ("CA", record.ca),
        ("description", record.description or "-"),
        ("revocation approvals", str(record.revocation_approvals)),
        ("notify", ", ".join(record.notify_emails) or "-"),
        ("created", f"{record.created_at:%Y-%m-%d %H:%M}Z by {record.created_by}"),
    ):
        console.print(f"[bold]{label:>20}[/]  {escape(value)}", highlight=False)
    table = Table("profile", "approvals", "approver role", "approver group", "anonymous", "pending for", "deny")
    for profile, p in record.policies:
        table.add_row(
            profile,
            str(p.approvals),
            p.approver_role.value,
            p.approver_group or "-",
            "yes" if p.allow_anonymous else "no",
            f"{p.lifetime_hours} h",
            "needs a reason" if p.deny_needs_reason else "reason optional",
        )
    console.print(table)


def _approver_role(text: str) -> Role:
    try:
        role = Role(text)
    except ValueError:
        role = None
    if role is None or role not in APPROVER_ROLES:
        raise Malformed(f"unknown approver role {text!r}; use one of: {', '.join(r.value for r in APPROVER_ROLES)}")
    return role
