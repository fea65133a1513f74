"""``chancery ra submit | requests | request show | approve | deny | cancel | download``.

Approving and denying are done by people: the shell's operator (``cli:USER``) is not a
person, so officers act with ``--as USER`` and prove it with their password, as
``chancery approval approve`` does (DESIGN.md invariant 4).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from chancery.cli.approval import AsOption, PasswordStdin, acting
from chancery.cli.session import application, console, err_console, read_input, write_output
from chancery.domain.exports import ExportFormat
from chancery.domain.registration import RequestRecord, RequestState
from chancery.errors import CAError, ErrorKind, Malformed
from chancery.services.profiles.preview import Preview
from chancery.services.registration.decisions import Decision
from chancery.services.registration.intake import CsrSubmission

request_app = typer.Typer(help="One request to an RA.", no_args_is_help=True)
IdArgument = Annotated[str, typer.Argument(help="The request ID, e.g. 7K2M-9QXR-3VTD-H8PA.")]
DOWNLOAD_FORMATS = (ExportFormat.PEM, ExportFormat.DER, ExportFormat.P7B)


def submit(
    ra: Annotated[str, typer.Argument(help="The RA's name.")],
    profile: Annotated[str, typer.Option("--profile", help="The profile to issue under.")],
    csr: Annotated[Path, typer.Option("--csr", help="The CSR (PEM or DER).")],
    email: Annotated[str | None, typer.Option("--email", help="Where to tell the requester of decisions.")] = None,
    note: Annotated[str, typer.Option("--note", help="A note for the officers.")] = "",
    as_user: AsOption = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Submit a CSR to an RA; prints only the request ID on stdout (for scripts), details on stderr.

    Example: REQUEST=$(chancery ra submit web --profile tls-server --csr www.csr --email ops@example.com)
    """
    data = read_input(csr, "CSR")
    with application() as chancery:
        principal = acting(chancery, as_user, password_stdin)
        submission = CsrSubmission(ra, profile, data, contact_email=email, note=note)
        request = chancery.ra_intake.submit_csr(principal, submission).request
    sys.stdout.write(request.request_id + "\n")
    sys.stdout.flush()
    err_console.print(f"request {request.request_id}: {escape(_outcome(request))}", highlight=False)


def list_requests(
    ra: Annotated[str | None, typer.Option("--ra", help="Only this RA's requests.")] = None,
    state: Annotated[
        str, typer.Option("--state", help=f"{'|'.join(s.value for s in RequestState)}|all (comma-separated).")
    ] = "pending",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many, newest first.")] = 200,
    as_user: AsOption = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """The queue: requests in the given states (default: pending), newest first.

    Example: chancery ra requests --ra web --state pending,failed
    """
    states = _states(state)
    with application() as chancery:
        principal = acting(chancery, as_user, password_stdin)
        requests = chancery.ra_decisions.queue(principal, states, ra, limit)
    table = Table("id", "state", "RA", "profile", "kind", "subject", "requester", "approvals", "submitted", "expires")
    for r in requests:
        table.add_row(
            r.request_id,
            r.state.value,
            r.ra,
            r.profile,
            r.kind.value,
            escape(r.subject),
            escape(r.requester),
            f"{len(r.approvals)}/{r.approvals_required}",
            f"{r.submitted_at:%Y-%m-%d %H:%M}Z",
            f"{r.expires_at:%Y-%m-%d %H:%M}Z" if r.state is RequestState.PENDING else "-",
        )
    console.print(table)


@request_app.command("show")
def show(request_id: IdArgument, as_user: AsOption = None, password_stdin: PasswordStdin = False) -> None:
    """A request: what it asks for, its approvals, and what the linter says of the certificate it would get.

    Example: chancery ra request show 7K2M-9QXR-3VTD-H8PA
    """
    with application() as chancery:
        principal = acting(chancery, as_user, password_stdin)
        request = chancery.ra_decisions.details(principal, request_id)
        preview: Preview | CAError | None = None
        if request.state is RequestState.PENDING and request.csr is not None:
            try:
                preview = chancery.ra_decisions.lint_preview(principal, request.request_id)
            except CAError as refused:  # e.g. the profile changed since: the officer should know
                preview = refused
    _print_request(request)
    _print_preview(preview)


def approve(
    request_id: IdArgument,
    as_user: AsOption = None,
    password_stdin: PasswordStdin = False,
    comment: Annotated[str, typer.Option("--comment", help="Kept with the approval and in the audit log.")] = "",
) -> None:
    """Approve a pending request as an officer; the approval that completes the count issues it.

    Example: echo "$PASSWORD" | chancery ra approve 7K2M-9QXR-3VTD-H8PA --as alice --password-stdin
    """
    with application() as chancery:
        principal = acting(chancery, as_user, password_stdin)
        request = _as_person(as_user, lambda: chancery.ra_decisions.approve(principal, Decision(request_id, comment)))
    console.print(f"approved; request {request.request_id}: {escape(_outcome(request))}", highlight=False)
    if request.state is RequestState.FAILED:
        raise typer.Exit(4)


def deny(
    request_id: IdArgument,
    as_user: AsOption = None,
    password_stdin: PasswordStdin = False,
    reason: Annotated[str, typer.Option("--reason", help="Why (told to the requester, kept in the audit log).")] = "",
) -> None:
    """Deny a pending request as an officer.

    Example: echo "$PASSWORD" | chancery ra deny 7K2M-9QXR-3VTD-H8PA --as alice --password-stdin --reason "unknown host"
    """
    with application() as chancery:
        principal = acting(chancery, as_user, password_stdin)
        request = _as_person(as_user, lambda: chancery.ra_decisions.deny(principal, Decision(request_id, reason)))
    console.print(f"request {request.request_id} denied", highlight=False)


def cancel(
    request_id: IdArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")] = "",
    as_user: AsOption = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Withdraw a pending request (its requester, or an officer of the RA).

    Example: chancery ra cancel 7K2M-9QXR-3VTD-H8PA --reason "submitted twice"
    """
    with application() as chancery:
        principal = acting(chancery, as_user, password_stdin)
        request = chancery.ra_decisions.cancel(principal, Decision(request_id, reason))
    console.print(f"request {request.request_id} cancelled", highlight=False)


def download(
    request_id: IdArgument,
    format: Annotated[str, typer.Option("--format", help="pem (with the chain), der or p7b.")] = "pem",  # noqa: A002
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of standard output.")] = None,
) -> None:
    """The certificate an issued request got; the request ID is all it takes.

    Example: chancery ra download 7K2M-9QXR-3VTD-H8PA --out www.pem
    """
    fmt = ExportFormat.parse(format, DOWNLOAD_FORMATS)
    with application() as chancery:
        data = chancery.ra_delivery.certificate(request_id, fmt)
    write_output(data, out)
    if out is not None:
        err_console.print(f"certificate of request {request_id} written to {escape(str(out))}", highlight=False)


def _as_person(as_user: str | None, decide: Callable[[], RequestRecord]) -> RequestRecord:
    """Run an officer's decision; when the shell's operator was refused, say how to act as a person."""
    try:
        return decide()
    except CAError as refused:
        if as_user is None and refused.kind is ErrorKind.FORBIDDEN:
            err_console.print("hint: officers decide as themselves: --as USER --password-stdin", highlight=False)
        raise


def _states(text: str) -> tuple[RequestState, ...]:
    if text.strip().lower() == "all":
        return tuple(RequestState)
    chosen: list[RequestState] = []
    for word in (w.strip().lower() for w in text.split(",") if w.strip()):
        try:
            chosen.append(RequestState(word))
        except ValueError:
            choices = ", ".join(s.value for s in RequestState)
            raise Malformed(f"unknown state {word[:20]!r}; use one of: {choices}, all") from None
    if not chosen:
        raise Malformed("give at least one state, or all")
    return tuple(dict.fromkeys(chosen))


def _outcome(request: RequestRecord) -> str:
    """One line on where a request stands, for the person who just acted on it."""
    waiting = request.approvals_required - len(request.approvals)
    if request.state is RequestState.PENDING:
        plural = "" if waiting == 1 else "s"
        return f"pending at RA {request.ra}, waits for {waiting} more approval{plural} ({request.profile})"
    if request.state is RequestState.ISSUED:
        return f"issued, certificate {request.serial} (chancery ra download {request.request_id})"
    if request.state is RequestState.REVOKED:
        return f"carried out, certificate {request.target_serial} revoked"
    if request.state is RequestState.FAILED:
        return f"failed: the CA refused it: {request.error}"
    return request.state.value


def _print_request(r: RequestRecord) -> None:
    rows = [
        ("request", f"{r.request_id} ({r.kind.value})"),
        ("state", r.state.value),
        ("RA", f"{r.ra} (CA {r.ca}), profile {r.profile}"),
        ("requester", r.requester + (f" <{r.contact_email}>" if r.contact_email else "")),
        ("submitted", f"{r.submitted_at:%Y-%m-%d %H:%M}Z"),
        ("expires", f"{r.expires_at:%Y-%m-%d %H:%M}Z" if r.state is RequestState.PENDING else "-"),
        ("subject", r.subject or "-"),
        ("SANs", ", ".join(r.sans) or "-"),
        ("key", r.key_summary or "-"),
        ("certificate", r.target_serial or r.serial or "-"),
        ("approvals", f"{len(r.approvals)} of {r.approvals_required}"),
    ]
    if r.decided_by or r.decided_at:
        when = f" at {r.decided_at:%Y-%m-%d %H:%M}Z" if r.decided_at else ""
        rows.append(("decided", f"{r.decided_by or 'chancery'}{when}"))
    if r.reason:
        rows.append(("note" if r.state is RequestState.PENDING else "reason", r.reason))
    if r.error:
        rows.append(("error", r.error))
    for label, value in rows:
        console.print(f"[bold]{label:>12}[/]  {escape(value)}", highlight=False)
    if r.approvals:
        table = Table("approved by", "when", "comment")
        for a in r.approvals:
            table.add_row(escape(a.approver), f"{a.approved_at:%Y-%m-%d %H:%M}Z", escape(a.comment))
        console.print(table)


def _print_preview(preview: Preview | CAError | None) -> None:
    if preview is None:
        return
    if isinstance(preview, CAError):
        console.print(f"lint preview: not available: {escape(preview.detail)}", highlight=False)
        return
    report = preview.report
    verdict = "passes" if not report.blocking else "FAILS (the CA would refuse to sign)"
    console.print(f"lint preview ({preview.profile.ref}, CA {preview.ca}): {verdict}", highlight=False)
    if not report.findings:
        console.print("  no findings", highlight=False)
    for finding in report.findings:
        accepted = " (accepted by the profile)" if report.accepted(finding) else ""
        line = f"  {finding.severity} {finding.code}: {finding.message}".rstrip(": ")
        console.print(escape(line + accepted), highlight=False)
