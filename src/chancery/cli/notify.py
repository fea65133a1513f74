"""``chancery notify ...``: webhooks and e-mail about RA requests, and the delivery log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chancery.cli.session import application, console, operator, read_input, read_secret
from chancery.domain.notifications import EVENTS, SmtpSecurity
from chancery.services.notifications.settings import LoggedDelivery, NewWebhook, SmtpConfiguration

app = typer.Typer(help="Notifications of RA requests: webhooks, e-mail, the delivery log.", no_args_is_help=True)
webhook = typer.Typer(help="Signed webhooks: POSTed JSON when a request changes.", no_args_is_help=True)
smtp = typer.Typer(help="The SMTP server mail goes through.", no_args_is_help=True)
app.add_typer(webhook, name="webhook")
app.add_typer(smtp, name="smtp")


def _say(text: str) -> None:
    console.print(text, highlight=False, markup=False, soft_wrap=True)


@webhook.command("add")
def webhook_add(
    url: Annotated[str, typer.Option(help="http:// or https:// URL that receives the POSTs.")],
    ra: Annotated[str | None, typer.Option(help="Only this RA's requests (default: every RA).")] = None,
    event: Annotated[
        list[str] | None,
        typer.Option("--event", help=f"Send only these; repeat (default: all of {', '.join(EVENTS)})."),
    ] = None,
    ca_file: Annotated[
        Path | None, typer.Option("--ca-file", help="PEM CAs to trust for this https URL instead of the system's.")
    ] = None,
) -> None:
    """Subscribe a URL; prints its id and its signing secret, which is shown this once only.

    Example: chancery notify webhook add --url https://hooks.example.com/chancery --ra web --event issued --event denied
    """
    pem = read_input(ca_file, "CA file").decode("utf-8", "replace") if ca_file else None
    with application() as chancery:
        created = chancery.notifications.settings.add_webhook(operator(), NewWebhook(url, ra, tuple(event or ()), pem))
    record = created.subscription
    _say(f"webhook {record.subscription_id} -> {record.url} ({record.ra or 'every RA'}: {', '.join(record.events)})")
    _say(f"secret: {created.secret}")
    _say("Keep the secret where the receiver can check signatures with it: it is not shown again.")


@webhook.command("list")
def webhook_list() -> None:
    """The subscriptions (never their secrets).

    Example: chancery notify webhook list
    """
    with application() as chancery:
        records = chancery.notifications.settings.webhooks(operator())
    if not records:
        _say("no webhook subscriptions")
    for r in records:
        trust = "own CAs" if r.ca_certificates_pem else "system CAs"
        created = f"{r.created_at:%Y-%m-%d %H:%M}Z by {r.created_by}"
        _say(f"{r.subscription_id}  {r.url}  ra={r.ra or '*'}  events={','.join(r.events)}  {trust}  {created}")


@webhook.command("remove")
def webhook_remove(
    subscription_id: Annotated[str, typer.Argument(help="The id (`chancery notify webhook list`).")],
) -> None:
    """Unsubscribe; deliveries still waiting for it are marked failed.

    Example: chancery notify webhook remove 3f9a0c1e2b4d5a67
    """
    with application() as chancery:
        record = chancery.notifications.settings.remove_webhook(operator(), subscription_id)
    _say(f"webhook {record.subscription_id} ({record.url}) removed")


@app.command("deliveries")
def deliveries(
    failed: Annotated[bool, typer.Option("--failed", help="Only deliveries that gave up.")] = False,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """The delivery log: each webhook and mail, its state, and every attempt's status or error.

    Example: chancery notify deliveries --failed
    """
    with application() as chancery:
        logged = chancery.notifications.settings.deliveries(operator(), failed_only=failed, limit=limit)
    if not logged:
        _say("no deliveries")
    for entry in logged:
        _print_delivery(entry)


def _print_delivery(entry: LoggedDelivery) -> None:
    d = entry.delivery
    when = f"next {d.next_attempt_at:%Y-%m-%d %H:%M:%S}Z" if d.state.value == "pending" else ""
    _say(
        f"{d.delivery_id}  {d.created_at:%Y-%m-%d %H:%M:%S}Z  {d.channel.value} {d.event} request {d.request_id}"
        f" -> {d.target}  {d.state.value} after {d.attempts} attempt(s) {when}".rstrip()
    )
    for attempt in entry.attempts:
        status = f"status {attempt.status}" if attempt.status is not None else "no answer"
        result = "ok" if attempt.ok else f"failed: {attempt.error}" if attempt.error else "failed"
        _say(f"    #{attempt.number} {attempt.at:%Y-%m-%d %H:%M:%S}Z  {status}  {result}")


@app.command("send")
def send() -> None:
    """Deliver what is due now, from this host (the server does this by itself).

    Example: chancery notify send
    """
    with application() as chancery:
        report = chancery.notifications.dispatcher.deliver_due()
    _say(f"{report.delivered} delivered, {report.retrying} to be retried, {report.failed} failed")


@smtp.command("configure")
def smtp_configure(
    host: Annotated[str, typer.Option(help="The SMTP server (a relay or submission server).")],
    port: Annotated[int, typer.Option(help="587 for starttls, 465 for tls, 25 for a local relay.")],
    from_address: Annotated[str, typer.Option("--from", help="The sender address of every mail.")],
    security: Annotated[SmtpSecurity, typer.Option(help="none, starttls (RFC 3207) or tls.")] = SmtpSecurity.STARTTLS,
    username: Annotated[str | None, typer.Option(help="Log in as this user (needs starttls or tls).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    ca_file: Annotated[
        Path | None, typer.Option("--ca-file", help="PEM CAs to trust for the server instead of the system's.")
    ] = None,
) -> None:
    """Set the SMTP server; the password is sealed by the key store and never shown again.

    Example: echo "$SMTP_PASSWORD" | chancery notify smtp configure --host smtp.example.com --port 587 --from ca@example.com --username chancery --password-stdin
    """
    password = read_secret(password_stdin, "SMTP password: ") if username else None
    pem = read_input(ca_file, "CA file").decode("utf-8", "replace") if ca_file else None
    configuration = SmtpConfiguration(host, port, from_address, security, username, password, pem)
    with application() as chancery:
        settings = chancery.notifications.settings.configure_smtp(operator(), configuration)
    _say(
        f"SMTP server {settings.host}:{settings.port} ({settings.security.value}) configured, from {settings.from_address}"
    )


@smtp.command("show")
def smtp_show() -> None:
    """The SMTP settings (never the password).

    Example: chancery notify smtp show
    """
    with application() as chancery:
        settings = chancery.notifications.settings.smtp(operator())
    if settings is None:
        _say("no SMTP server configured: no mail is sent")
        return
    for label, value in (
        ("host", f"{settings.host}:{settings.port}"),
        ("security", settings.security.value),
        ("from", settings.from_address),
        ("user", settings.username or "(none)"),
        ("password", "set" if settings.password_sealed else "(none)"),
        ("trusted CAs", "given" if settings.ca_certificates_pem else "the system's"),
        ("updated", f"{settings.updated_at:%Y-%m-%d %H:%M}Z by {settings.updated_by}"),
    ):
        _say(f"{label:>12}  {value}")


@smtp.command("test")
def smtp_test(to: Annotated[str, typer.Option(help="Send the test message here.")]) -> None:
    """Send a test message now and say whether the server took it.

    Example: chancery notify smtp test --to pki-team@example.com
    """
    with application() as chancery:
        chancery.notifications.settings.test_smtp(operator(), to)
    _say(f"test message sent to {to}")
