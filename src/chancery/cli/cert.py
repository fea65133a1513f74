"""``chancery cert ...``: certificates of a CA."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from chancery.cli.bulk import issue_directory
from chancery.cli.session import application, console, operator, read_input, read_secret, write_output
from chancery.domain.exports import ExportFormat
from chancery.domain.keytypes import KeyType
from chancery.domain.names import CAName
from chancery.domain.queries import MAX_PAGE_SIZE, CertificateFilter, PageRequest, RevocationFilter
from chancery.domain.records import CertificateRecord, CertificateStatus
from chancery.domain.revocation import RevocationReason
from chancery.domain.serials import SerialNumber
from chancery.errors import Malformed
from chancery.pki.encoding import to_pem
from chancery.services.authority.issuance import IssueFromCsr, IssueWithNewKey
from chancery.services.certificates import ExportRequest, RevokeRequest
from chancery.wiring import Application

app = typer.Typer(help="Issue, revoke, renew, list and export certificates.", no_args_is_help=True)

CaOption = Annotated[str, typer.Option("--ca", help="The issuing CA.")]
DaysOption = Annotated[int | None, typer.Option("--days", help="Validity in days (default: the profile's).")]
OutOption = Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")]


@app.command("issue")
def issue(
    ca: CaOption,
    profile: Annotated[str, typer.Option(help="A certificate profile (`chancery profile list`).")] = "tls-server",
    csr: Annotated[Path | None, typer.Option(help="One CSR (PEM or DER).")] = None,
    csr_dir: Annotated[Path | None, typer.Option("--csr-dir", help="Issue for every *.csr/*.pem/*.der here.")] = None,
    out: OutOption = None,
    out_dir: Annotated[Path | None, typer.Option("--out-dir", help="With --csr-dir: where certificates go.")] = None,
    days: DaysOption = None,
    chain: Annotated[bool, typer.Option("--chain", help="Append the CA chain to the PEM output.")] = False,
) -> None:
    """Issue from a CSR, or from a whole folder of CSRs with a progress bar.

    Example: chancery cert issue --ca issuing --profile tls-server --csr www.csr --out www.pem

    Example (bulk): chancery cert issue --ca issuing --profile tls-client --csr-dir requests/ --out-dir issued/
    """
    if (csr is None) == (csr_dir is None):
        raise typer.BadParameter("give exactly one of --csr and --csr-dir")
    with application() as chancery:
        if csr_dir is not None:
            failures = issue_directory(chancery.issuance, operator(), csr_dir, out_dir or csr_dir, ca, profile, days)
            if failures:
                raise typer.Exit(code=2)
            return
        assert csr is not None
        issued = chancery.issuance.issue_from_csr(
            operator(), IssueFromCsr(ca=ca, profile=profile, csr=read_input(csr, "CSR"), validity_days=days)
        )
        write_output(to_pem([issued.certificate, *issued.chain] if chain else [issued.certificate]), out)
        if out is not None:
            console.print(f"Issued serial {issued.record.serial.hex} to {issued.record.subject} -> {out}")


@app.command("generate")
def generate(
    ca: CaOption,
    subject: Annotated[str, typer.Option(help='Subject DN, e.g. "CN=alice,O=Example".')],
    p12_out: Annotated[Path, typer.Option("--p12-out", help="Where to write the PKCS#12 (mode 0600).")],
    profile: Annotated[str, typer.Option(help="Profile of the certificate.")] = "tls-client",
    san: Annotated[
        list[str] | None, typer.Option("--san", help="DNS:..., IP:..., email:..., URI:... (repeatable).")
    ] = None,
    key_type: Annotated[str, typer.Option("--key-type")] = "ec-p256",
    days: DaysOption = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the PKCS#12 password from stdin.")
    ] = False,
) -> None:
    """Generate the key on the CA side and write key + certificate + chain as a PKCS#12.

    Example: chancery cert generate --ca issuing --subject "CN=alice" --san email:alice@example.com --p12-out alice.p12
    """
    password = read_secret(password_stdin, "PKCS#12 password: ")
    with application() as chancery:
        result = chancery.issuance.issue_with_new_key(
            operator(),
            IssueWithNewKey(
                ca=ca,
                profile=profile,
                subject=subject,
                key_type=KeyType.parse(key_type),
                password=password,
                sans=tuple(san or ()),
                validity_days=days,
            ),
        )
        write_output(result.pkcs12, p12_out, mode=0o600)
        console.print(f"Issued serial {result.issued.record.serial.hex}; PKCS#12 written to {p12_out}")


@app.command("revoke")
def revoke(
    serial: Annotated[str, typer.Argument(help="Serial number (hex).")],
    ca: CaOption,
    reason: Annotated[
        str, typer.Option(help="RFC 5280 reason, e.g. keyCompromise, superseded, certificateHold.")
    ] = "unspecified",
    invalidity_date: Annotated[str | None, typer.Option(help="When the key was compromised (ISO 8601, UTC).")] = None,
) -> None:
    """Revoke a certificate (certificateHold can be released later).

    Example: chancery cert revoke 5f3a9c... --ca issuing --reason keyCompromise
    """
    request = RevokeRequest(
        ca=ca,
        serial=SerialNumber.from_hex(serial),
        reason=RevocationReason.parse(reason),
        invalidity_date=_instant(invalidity_date),
    )
    with application() as chancery:
        record = chancery.certificates.revoke(operator(), request)
        console.print(f"Revoked {record.serial.hex} ({request.reason.name})")


@app.command("revoke-bulk")
def revoke_bulk(
    ca: CaOption,
    reason: Annotated[str, typer.Option(help="RFC 5280 reason for all of them.")] = "unspecified",
    profile: Annotated[str | None, typer.Option(help="Only certificates of this profile.")] = None,
    issued_after: Annotated[str | None, typer.Option(help="Only issued at or after (ISO 8601).")] = None,
    issued_before: Annotated[str | None, typer.Option(help="Only issued before (ISO 8601).")] = None,
    key_sha256: Annotated[str | None, typer.Option(help="Only those with this key (SHA-256 of its SPKI, hex).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would be revoked.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Revoke every valid (or held) certificate of a CA that matches, with a progress bar.

    Example: chancery cert revoke-bulk --ca issuing --profile tls-client --issued-before 2026-06-01 --reason superseded --dry-run
    """
    query = RevocationFilter(
        ca_name=CAName(ca),
        profile=profile,
        issued_after=_instant(issued_after),
        issued_before=_instant(issued_before),
        public_key_sha256=key_sha256.lower() if key_sha256 else None,
    )
    revocation_reason = RevocationReason.parse(reason)
    with application() as chancery:
        counted = chancery.bulk_revocation.revoke(operator(), query, revocation_reason, dry_run=True)
        if dry_run or counted.matched == 0:
            console.print(f"{counted.matched} certificate(s) of {ca} match")
            return
        if not yes and not typer.confirm(
            f"Revoke {counted.matched} certificate(s) of {ca} ({revocation_reason.name})?"
        ):
            raise typer.Exit(code=1)
        columns = (TextColumn("Revoking"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("revoke", total=counted.matched)
            result = chancery.bulk_revocation.revoke(
                operator(),
                query,
                revocation_reason,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        console.print(f"{result.revoked} certificate(s) of {ca} revoked ({revocation_reason.name})")


@app.command("release-hold")
def release_hold(serial: str, ca: CaOption) -> None:
    """Take a certificate off hold.

    Example: chancery cert release-hold 5f3a9c... --ca issuing
    """
    with application() as chancery:
        record = chancery.certificates.release_hold(operator(), ca, SerialNumber.from_hex(serial))
        console.print(f"{record.serial.hex} is valid again")


@app.command("renew")
def renew(serial: str, ca: CaOption, days: DaysOption = None, out: OutOption = None) -> None:
    """Issue a new certificate for the same key and names.

    Example: chancery cert renew 5f3a9c... --ca issuing --out www-renewed.pem
    """
    with application() as chancery:
        issued = chancery.issuance.renew(operator(), ca, SerialNumber.from_hex(serial), days)
        write_output(to_pem([issued.certificate]), out)
        if out is not None:
            console.print(f"Renewed as serial {issued.record.serial.hex} -> {out}")


@app.command("rekey")
def rekey(
    serial: str,
    ca: CaOption,
    csr: Annotated[Path, typer.Option(help="CSR with the new key.")],
    days: DaysOption = None,
    out: OutOption = None,
) -> None:
    """Issue a new certificate for a new key, keeping the subject and names.

    Example: chancery cert rekey 5f3a9c... --ca issuing --csr www-newkey.csr --out www.pem
    """
    with application() as chancery:
        issued = chancery.issuance.rekey(operator(), ca, SerialNumber.from_hex(serial), read_input(csr, "CSR"), days)
        write_output(to_pem([issued.certificate]), out)
        if out is not None:
            console.print(f"Re-keyed as serial {issued.record.serial.hex} -> {out}")


@app.command("list")
def list_certificates(
    ca: Annotated[str | None, typer.Option("--ca", help="Only this CA.")] = None,
    status: Annotated[str | None, typer.Option(help="valid, expired, revoked, on-hold or reserved.")] = None,
    subject: Annotated[str | None, typer.Option(help="Subject contains this text.")] = None,
    san: Annotated[str | None, typer.Option(help="A SAN contains this text.")] = None,
    profile: Annotated[str | None, typer.Option(help="Issued under this profile.")] = None,
    expiring_within: Annotated[
        int | None, typer.Option("--expiring-within", help="Valid, expiring within N days.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """List and search certificates.

    Example: chancery cert list --ca issuing --status valid --expiring-within 30
    """
    query = CertificateFilter(
        ca_name=CAName(ca) if ca else None,
        status=_status(status),
        subject_contains=subject,
        san_contains=san,
        profile=profile,
        expiring_within=dt.timedelta(days=expiring_within) if expiring_within is not None else None,
    )
    with application() as chancery:
        records = _collect(chancery, query, limit)
        now = chancery.clock.now()
        if as_json:
            for r in records:
                typer.echo(json.dumps(_as_dict(r, now)))
            return
        table = Table("CA", "serial", "status", "profile", "subject", "SANs", "not after")
        for r in records:
            table.add_row(
                r.ca_name,
                r.serial.hex,
                r.status(now).value,
                r.profile,
                r.subject,
                ", ".join(r.sans),
                f"{r.not_after:%Y-%m-%d}",
            )
        console.print(table)


@app.command("show")
def show(serial: str, ca: CaOption) -> None:
    """Show one certificate.

    Example: chancery cert show 5f3a9c... --ca issuing
    """
    with application() as chancery:
        record = chancery.certificates.get(operator(), ca, SerialNumber.from_hex(serial))
        for key, value in _as_dict(record, chancery.clock.now()).items():
            console.print(f"[bold]{key:>18}[/]  {value}", highlight=False)


@app.command("export")
def export(
    serial: str,
    ca: CaOption,
    format: Annotated[str, typer.Option("--format", help="pem, der, p7b or p12.")] = "pem",  # noqa: A002
    chain: Annotated[bool, typer.Option("--chain", help="PEM: append the CA chain.")] = False,
    out: OutOption = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="p12: read the password from stdin.")
    ] = False,
) -> None:
    """Export a certificate; PKCS#12 only when Chancery generated the key.

    Example: chancery cert export 5f3a9c... --ca issuing --format p7b --out www.p7b
    """
    fmt = ExportFormat.parse(format)
    password = read_secret(password_stdin, "PKCS#12 password: ") if fmt is ExportFormat.P12 else None
    with application() as chancery:
        data = chancery.certificates.export(
            operator(),
            ExportRequest(
                ca=ca, serial=SerialNumber.from_hex(serial), format=fmt, include_chain=chain, password=password
            ),
        )
        write_output(data, out, mode=0o600 if fmt is ExportFormat.P12 else 0o644)


def _collect(chancery: Application, query: CertificateFilter, limit: int) -> list[CertificateRecord]:
    records: list[CertificateRecord] = []
    cursor = None
    while len(records) < limit:
        page = chancery.certificates.search(
            operator(), query, PageRequest(limit=min(MAX_PAGE_SIZE, limit - len(records)), cursor=cursor)
        )
        records.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return records


def _as_dict(r: CertificateRecord, now: dt.datetime) -> dict[str, object]:
    return {
        "ca": r.ca_name,
        "serial_number": r.serial.hex,
        "status": r.status(now).value,
        "profile": r.profile,
        "profile_version": r.profile_version,
        "subject": r.subject,
        "sans": list(r.sans),
        "not_before": r.not_before.isoformat(),
        "not_after": r.not_after.isoformat(),
        "revoked_at": r.revocation.revoked_at.isoformat() if r.revocation else None,
        "revocation_reason": r.revocation.reason.name if r.revocation else None,
        "renewal_of": r.renewal_of.hex if r.renewal_of else None,
    }


def _status(text: str | None) -> CertificateStatus | None:
    if text is None:
        return None
    try:
        return CertificateStatus(text.lower())
    except ValueError:
        raise Malformed(
            f"unknown status {text!r}; use one of: {', '.join(s.value for s in CertificateStatus)}"
        ) from None


def _instant(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise Malformed(f"invalid date {text!r}: use ISO 8601, e.g. 2026-11-20T08:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
