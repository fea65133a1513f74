"""``chancery crl ...``: CRL publication and each CA's revocation settings."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from chancery.cli.session import application, console, operator, write_output
from chancery.domain.revocation_records import CrlScope, OcspSigning
from chancery.errors import Malformed

app = typer.Typer(help="Publish CRLs and set how each CA publishes revocation.", no_args_is_help=True)
CaOption = Annotated[str, typer.Option("--ca", help="The CA.")]
_DURATION = re.compile(r"^(\d+)([smhd]?)$")


def parse_duration(text: str) -> int:
    """Seconds from ``90``, ``90s``, ``30m``, ``12h`` or ``7d``."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise Malformed(f"invalid duration {text!r}: use a number with s, m, h or d (7d, 12h)")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


@app.command("generate")
def generate(
    ca: CaOption,
    out: Annotated[Path | None, typer.Option(help="Write the new full CRL here (else only publish).")] = None,
    format: Annotated[str, typer.Option("--format", help="der or pem.")] = "der",  # noqa: A002
) -> None:
    """Publish a new full CRL (and its partitions and a delta CRL) now.

    Example: chancery crl generate --ca issuing --out issuing.crl
    """
    if format not in ("der", "pem"):
        raise Malformed("format must be der or pem")
    with application() as chancery:
        published = chancery.crls.publish(operator(), ca)
        full = published.full
        if out is not None:
            crl = x509.load_der_x509_crl(full.der)
            data = full.der if format == "der" else crl.public_bytes(Encoding.PEM)
            write_output(data, out)
        console.print(
            f"CRL {full.crl_number} of {ca}: {len(x509.load_der_x509_crl(full.der))} entries, next update "
            f"{full.next_update:%Y-%m-%d %H:%M}Z; delta {published.delta.crl_number}; "
            f"{len(published.partitions)} partition(s)" + (f" -> {out}" if out else ""),
            highlight=False,
        )


@app.command("show")
def show(
    ca: CaOption,
    delta: Annotated[bool, typer.Option("--delta", help="The delta CRL.")] = False,
    partition: Annotated[int | None, typer.Option(help="One partition's CRL.")] = None,
) -> None:
    """Show the CRL currently served.

    Example: chancery crl show --ca issuing --delta
    """
    scope = CrlScope.DELTA if delta else CrlScope.PARTITION if partition is not None else CrlScope.FULL
    with application() as chancery:
        record = chancery.crls.current(ca, scope, -1 if partition is None else partition)
        crl = x509.load_der_x509_crl(record.der)
        rows = [
            ("scope", scope.value + (f" {partition}" if partition is not None else "")),
            ("CRL number", str(record.crl_number)),
            ("base CRL", str(record.base_crl_number) if record.base_crl_number else "-"),
            ("this update", f"{record.this_update:%Y-%m-%d %H:%M:%S}Z"),
            ("next update", f"{record.next_update:%Y-%m-%d %H:%M:%S}Z"),
            ("entries", str(len(crl))),
            ("size", f"{len(record.der)} bytes"),
        ]
        for label, value in rows:
            console.print(f"[bold]{label:>12}[/]  {value}", highlight=False)


@app.command("configure")
def configure(
    ca: CaOption,
    validity: Annotated[str | None, typer.Option(help="Full CRL validity, e.g. 7d.")] = None,
    delta_validity: Annotated[str | None, typer.Option(help="Delta CRL validity, e.g. 1d.")] = None,
    partitions: Annotated[int | None, typer.Option(help="Number of CRL partitions (0: one CRL; only grows).")] = None,
    ocsp_validity: Annotated[str | None, typer.Option(help="OCSP response validity, e.g. 1d.")] = None,
    ocsp_signing: Annotated[str | None, typer.Option(help="responder (delegated) or ca.")] = None,
) -> None:
    """Set how a CA publishes revocation (only the options given change).

    Example: chancery crl configure --ca issuing --validity 3d --partitions 16 --ocsp-signing responder
    """
    with application() as chancery:
        current = chancery.revocation_settings.get(operator(), ca)
        changes: dict[str, object] = {}
        if validity is not None:
            changes["crl_validity"] = parse_duration(validity)
        if delta_validity is not None:
            changes["delta_validity"] = parse_duration(delta_validity)
        if partitions is not None:
            changes["partitions"] = partitions
        if ocsp_validity is not None:
            changes["ocsp_validity"] = parse_duration(ocsp_validity)
        if ocsp_signing is not None:
            try:
                changes["ocsp_signing"] = OcspSigning(ocsp_signing)
            except ValueError:
                raise Malformed("--ocsp-signing is responder or ca") from None
        updated = chancery.revocation_settings.configure(operator(), replace(current, **changes))  # type: ignore[arg-type]
        console.print(
            f"{ca}: CRL {updated.crl_validity}s, delta {updated.delta_validity}s, {updated.partitions} partition(s), "
            f"OCSP {updated.ocsp_validity}s signed by {updated.ocsp_signing.value}",
            highlight=False,
        )
