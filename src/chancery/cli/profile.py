"""``chancery profile ...``: certificate and subject-DN profiles as YAML files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from chancery.cli.session import application, console, operator, read_input, write_output
from chancery.pki.describe import describe_certificate
from chancery.pki.profiles import parse_profile_text
from chancery.pki.profiles.files import MAX_PROFILE_BYTES

app = typer.Typer(help="Certificate profiles and subject-DN profiles (YAML).", no_args_is_help=True)
NameArgument = Annotated[str, typer.Argument(help="The profile's name.")]
VersionOption = Annotated[int | None, typer.Option("--version", min=1, help="A stored version (default: the newest).")]


@app.command("list")
def list_profiles() -> None:
    """The newest version of every profile.

    Example: chancery profile list
    """
    with application() as chancery:
        records = chancery.profiles.list(operator())
    table = Table()
    for column in ("name", "kind", "version", "changed", "by"):
        table.add_column(column, no_wrap=True)
    table.add_column("description", overflow="ellipsis", no_wrap=True)
    for record in records:
        description = str(json.loads(record.document_json).get("description", ""))
        table.add_row(
            record.name,
            record.kind.value,
            str(record.version),
            f"{record.created_at:%Y-%m-%d %H:%M}Z",
            record.created_by,
            description,
        )
    console.print(table)


@app.command("import")
def import_profile(
    file: Annotated[Path, typer.Argument(help="A profile YAML (or JSON) file.")],
    comment: Annotated[str, typer.Option(help="Why; kept with the new version.")] = "",
) -> None:
    """Create a profile, or store a file as the next version of an existing one.

    An invalid file changes nothing and every problem is listed. An unchanged
    file creates no version.

    Example: chancery profile import tls-server.yaml --comment "allow P-521"
    """
    document = parse_profile_text(read_input(file, "profile file", limit=MAX_PROFILE_BYTES))
    with application() as chancery:
        saved = chancery.profiles.save(operator(), document, comment)
    record = saved.record
    if not saved.created:
        console.print(f"profile {record.name} is unchanged (version {record.version})", highlight=False)
        return
    verb = "created" if record.version == 1 else "updated to"
    console.print(f"profile {record.name} {verb} version {record.version}", highlight=False)
    for dependent in saved.dependents:
        console.print(f"  {dependent.name} is now version {dependent.version} (uses it)", highlight=False)


@app.command("export")
def export_profile(
    name: NameArgument,
    version: VersionOption = None,
    out: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None,
) -> None:
    """A profile version as YAML, ready to edit and import again.

    Example: chancery profile export tls-server --out tls-server.yaml
    """
    with application() as chancery:
        text = chancery.profiles.export(operator(), name, version)
    write_output(text.encode("utf-8"), out)


@app.command("versions")
def versions(name: NameArgument) -> None:
    """Every version of a profile: when, by whom and why.

    Example: chancery profile versions tls-server
    """
    with application() as chancery:
        records = chancery.profiles.versions(operator(), name)
    table = Table("version", "changed", "by", "subject-DN profile", "comment")
    for record in records:
        subject = f"{record.subject_profile} v{record.subject_version}" if record.subject_profile else "-"
        table.add_row(
            str(record.version), f"{record.created_at:%Y-%m-%d %H:%M}Z", record.created_by, subject, record.comment
        )
    console.print(table)


@app.command("preview")
def preview(
    name: NameArgument,
    ca: Annotated[str, typer.Option("--ca", help="The CA that would issue.")],
    csr: Annotated[Path, typer.Option("--csr", help="The CSR (PEM or DER).")],
    days: Annotated[int | None, typer.Option("--days", help="Validity in days (default: the profile's).")] = None,
    version: VersionOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the preview as JSON.")] = False,
) -> None:
    """What the profile would issue for a CSR, and what the linter says; issues nothing.

    Example: chancery profile preview tls-server --ca issuing --csr www.csr
    """
    with application() as chancery:
        result = chancery.previews.preview(operator(), name, ca, read_input(csr, "CSR"), days, version)
    fields = describe_certificate(result.certificate)
    report = result.report
    findings = [
        {"code": f.code, "severity": f.severity, "message": f.message, "accepted": report.accepted(f)}
        for f in report.findings
    ]
    if as_json:
        document = {
            "profile": result.profile.name,
            "version": result.profile.version,
            "ca": result.ca,
            "certificate": fields,
            "lint": {"passed": not report.blocking, "findings": findings},
        }
        typer.echo(json.dumps(document, indent=2))
        return
    console.print(f"profile {result.profile.ref}, CA {result.ca} (nothing issued)", highlight=False)
    for label in ("subject", "issuer", "not_before", "not_after"):
        console.print(f"  {label}: {fields[label]}", highlight=False)
    key = fields["public_key"]
    console.print(f"  key: {key['algorithm']} {key.get('bits') or key.get('curve') or ''}".rstrip(), highlight=False)
    for extension in fields["extensions"]:
        critical = " (critical)" if extension["critical"] else ""
        console.print(escape(f"  {extension['name']}{critical}: {json.dumps(extension['value'])}"), highlight=False)
    verdict = "passes" if not report.blocking else "FAILS"
    console.print(f"lint ({', '.join(s.value for s in result.profile.lint.sets)}): {verdict}", highlight=False)
    for finding in findings:
        accepted = " (accepted by the profile)" if finding["accepted"] else ""
        line = f"  {finding['severity']} {finding['code']}: {finding['message']}".rstrip(": ")
        console.print(escape(line + accepted), highlight=False)
    if report.blocking:
        raise typer.Exit(2)
