"""``chancery ca ...``: the CA hierarchy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from chancery.cli.session import application, console, operator, read_input, write_output
from chancery.domain.exports import ExportFormat
from chancery.domain.keystores import KeyLocation, location_of
from chancery.domain.keytypes import KeyType
from chancery.pki.encoding import to_pem
from chancery.services.authority.hierarchy import NewCA
from chancery.services.authority.issuance import IssueFromCsr

app = typer.Typer(help="Create, import, list and export CAs.", no_args_is_help=True)

KeyTypeOption = Annotated[str, typer.Option("--key-type", help=f"One of: {' '.join(k.value for k in KeyType)}.")]
DaysOption = Annotated[int | None, typer.Option("--days", help="Validity in days (default: the profile's).")]
PathLengthOption = Annotated[
    int | None, typer.Option("--path-length", help="pathLenConstraint: how many CA levels may follow below.")
]
KeyStoreOption = Annotated[
    str, typer.Option("--key-store", help="Where the CA key is made: software or pkcs11 (the configured HSM token).")
]
ExistingKeyOption = Annotated[
    str | None,
    typer.Option(
        "--existing-key-label",
        help="Adopt this key already in the HSM token instead of generating one (implies --key-store pkcs11).",
    ),
]


@app.command("create-root")
def create_root(
    name: Annotated[str, typer.Argument(help="Short name used in URLs and commands.")],
    subject: Annotated[str, typer.Option(help='Subject DN, e.g. "CN=Example Root CA,O=Example,C=DE".')],
    key_type: KeyTypeOption = "ec-p384",
    days: DaysOption = None,
    path_length: PathLengthOption = None,
    key_store: KeyStoreOption = "software",
    existing_key_label: ExistingKeyOption = None,
) -> None:
    """Create a self-signed root CA (keep this data directory offline).

    Example: chancery ca create-root root --subject "CN=Example Root CA,O=Example" --key-type ec-p384 --days 7300

    Example (key in the HSM): chancery ca create-root root --subject "CN=Example Root CA" --key-store pkcs11
    """
    with application() as chancery:
        new = NewCA(
            name=name,
            subject=subject,
            key_type=KeyType.parse(key_type),
            validity_days=days,
            path_length=path_length,
            key_store=_key_store(key_store, existing_key_label),
            existing_key_label=existing_key_label,
        )
        record = chancery.hierarchy.create_root(operator(), new)
        console.print(
            f"Root CA [bold]{record.name}[/] created: {record.subject}, valid until {record.not_after:%Y-%m-%d}"
        )


@app.command("create-intermediate")
def create_intermediate(
    name: Annotated[str, typer.Argument(help="Short name of the new CA.")],
    subject: Annotated[str, typer.Option(help="Subject DN of the new CA.")],
    parent: Annotated[str | None, typer.Option(help="Local parent CA that signs it now.")] = None,
    csr_out: Annotated[
        Path | None,
        typer.Option("--csr-out", help="Parent is offline: write a CSR here and import the certificate later."),
    ] = None,
    key_type: KeyTypeOption = "ec-p256",
    days: DaysOption = None,
    path_length: PathLengthOption = None,
    key_store: KeyStoreOption = "software",
    existing_key_label: ExistingKeyOption = None,
) -> None:
    """Create an intermediate (issuing) CA, signed by a local parent or by an offline one.

    Example: chancery ca create-intermediate issuing --parent root --subject "CN=Issuing CA 1,O=Example"

    Example (offline root): chancery ca create-intermediate issuing --subject "CN=Issuing CA 1" --csr-out issuing.csr
    """
    if (parent is None) == (csr_out is None):
        raise typer.BadParameter("give exactly one of --parent and --csr-out")
    new = NewCA(
        name=name,
        subject=subject,
        key_type=KeyType.parse(key_type),
        validity_days=days,
        path_length=path_length,
        parent=parent,
        key_store=_key_store(key_store, existing_key_label),
        existing_key_label=existing_key_label,
    )
    with application() as chancery:
        if parent is not None:
            record = chancery.hierarchy.create_intermediate(operator(), new)
            console.print(
                f"Intermediate CA [bold]{record.name}[/] created under {parent}, valid until "
                f"{record.not_after:%Y-%m-%d}"
            )
            return
        assert csr_out is not None
        pending = chancery.hierarchy.create_pending(operator(), new)
        write_output(pending.csr_pem.encode(), csr_out)
        console.print(
            f"CA [bold]{name}[/] is pending. Carry {csr_out} to the parent, sign it there "
            f"(`chancery ca sign-csr ROOT {csr_out.name} --profile sub-ca --out CERT`), then run "
            f"`chancery ca import-certificate {name} CERT --chain ROOT.pem`."
        )


def _key_store(key_store: str, existing_key_label: str | None) -> str:
    """The key store named; a key is adopted from the HSM only."""
    return KeyLocation.PKCS11.value if existing_key_label is not None else KeyLocation.parse(key_store).value


@app.command("sign-csr")
def sign_csr(
    ca: Annotated[str, typer.Argument(help="The signing CA (typically the offline root).")],
    csr_file: Annotated[Path, typer.Argument(help="CSR (PEM or DER) of the subordinate CA.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the certificate (PEM).")],
    profile: Annotated[str, typer.Option(help="Profile; sub-ca for subordinate CAs.")] = "sub-ca",
    days: DaysOption = None,
    path_length: PathLengthOption = None,
    chain: Annotated[bool, typer.Option("--chain", help="Append the signing CA's chain to the output.")] = False,
) -> None:
    """Sign a CSR carried over from another machine (the offline half of the root ceremony).

    Example: chancery ca sign-csr root issuing.csr --profile sub-ca --out issuing.pem
    """
    with application() as chancery:
        issued = chancery.issuance.issue_from_csr(
            operator(),
            IssueFromCsr(
                ca=ca, profile=profile, csr=read_input(csr_file, "CSR"), validity_days=days, path_length=path_length
            ),
        )
        certs = [issued.certificate, *issued.chain] if chain else [issued.certificate]
        write_output(to_pem(certs), out)
        console.print(f"Signed {issued.record.subject} (serial {issued.record.serial.hex}) -> {out}")


@app.command("import-certificate")
def import_certificate(
    name: Annotated[str, typer.Argument(help="The pending CA.")],
    cert_file: Annotated[Path, typer.Argument(help="Its certificate (PEM, DER or PKCS#7; may include the chain).")],
    chain: Annotated[Path | None, typer.Option(help="The parents' certificates, up to the root.")] = None,
) -> None:
    """Activate a pending CA with the certificate its (offline or third-party) parent issued.

    Example: chancery ca import-certificate issuing issuing.pem --chain root.pem
    """
    with application() as chancery:
        record = chancery.hierarchy.import_certificate(
            operator(), name, read_input(cert_file, "certificate"), read_input(chain, "chain") if chain else None
        )
        console.print(f"CA [bold]{record.name}[/] is active: {record.subject}, valid until {record.not_after:%Y-%m-%d}")


@app.command("import-trust-anchor")
def import_trust_anchor(cert_file: Annotated[Path, typer.Argument(help="A self-signed root certificate.")]) -> None:
    """Trust a third-party root, so chains ending in it can be imported without repeating it.

    Example: chancery ca import-trust-anchor partner-root.pem
    """
    with application() as chancery:
        anchor = chancery.hierarchy.import_trust_anchor(operator(), read_input(cert_file, "certificate"))
        console.print(f"Trust anchor imported: {anchor.subject} (SHA-256 {anchor.fingerprint_sha256})")


@app.command("retire")
def retire(
    name: Annotated[str, typer.Argument(help="The CA to retire.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
) -> None:
    """Stop a CA from issuing, for good; it keeps publishing CRLs and answering OCSP.

    Certificates it issued stay valid: revoke them first if they must not be.
    Under dual control this waits for another administrator's approval.

    Example: chancery ca retire issuing-2019 --reason "replaced by issuing-2025"
    """
    with application() as chancery:
        chancery.hierarchy.retire(operator(), name, reason)
    console.print(f"CA {name} retired: it issues nothing more; CRLs and OCSP continue", highlight=False)


@app.command("list")
def list_cas() -> None:
    """List CAs.

    Example: chancery ca list
    """
    with application() as chancery:
        table = Table("name", "status", "subject", "key", "parent", "path len", "not after")
        for r in chancery.hierarchy.list(operator()):
            table.add_row(
                r.name,
                r.status.value,
                r.subject,
                r.key_type.value,
                r.parent or ("-" if r.is_root else "external"),
                "-" if r.path_length is None else str(r.path_length),
                f"{r.not_after:%Y-%m-%d}" if r.not_after else "-",
            )
        console.print(table)


@app.command("show")
def show(name: str) -> None:
    """Show one CA and its URLs.

    Example: chancery ca show issuing
    """
    with application() as chancery:
        r = chancery.hierarchy.get(operator(), name)
        for label, value in (
            ("name", r.name),
            ("status", r.status.value),
            ("subject", r.subject),
            ("key type", r.key_type.value),
            ("key store", location_of(r.key_id).value),
            ("parent", r.parent or "-"),
            ("not after", f"{r.not_after:%Y-%m-%d %H:%M:%SZ}" if r.not_after else "-"),
            ("CRL", r.urls.crl),
            ("OCSP", r.urls.ocsp),
            ("caIssuers", r.urls.ca_issuers),
        ):
            console.print(f"[bold]{label:>10}[/]  {value}", highlight=False)


@app.command("csr")
def csr(name: str, out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None) -> None:
    """Print the CSR of a pending CA again.

    Example: chancery ca csr issuing --out issuing.csr
    """
    with application() as chancery:
        write_output(chancery.hierarchy.pending_csr(operator(), name).encode(), out)


@app.command("export")
def export(
    name: str,
    format: Annotated[str, typer.Option("--format", help="pem, der or p7b.")] = "pem",  # noqa: A002
    chain: Annotated[bool, typer.Option("--chain", help="Include the parents up to the root.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
) -> None:
    """Export a CA certificate (and its chain).

    Example: chancery ca export issuing --chain --format p7b --out issuing-chain.p7b
    """
    fmt = ExportFormat.parse(format, (ExportFormat.PEM, ExportFormat.DER, ExportFormat.P7B))
    with application() as chancery:
        write_output(chancery.hierarchy.export(operator(), name, fmt, include_chain=chain), out)
