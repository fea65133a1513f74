"""``chancery scep ...``: which RAs answer SCEP (RFC 8894), and their one-time challenges."""

from __future__ import annotations

from typing import Annotated

import typer
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from rich.table import Table

from chancery.cli.session import application, console, operator
from chancery.domain.scep import DEFAULT_TTL, parse_ttl
from chancery.services.scep.challenges import NewChallenges
from chancery.services.scep.directory import ScepSetup

app = typer.Typer(help="SCEP enrollment (RFC 8894): SCEP RAs and one-time challenges.", no_args_is_help=True)
challenge_app = typer.Typer(help="One-time SCEP challenges (challengePassword).", no_args_is_help=True)
app.add_typer(challenge_app, name="challenge")

RaOption = Annotated[str, typer.Option("--ra", help="The RA that answers SCEP.")]


@app.command("configure")
def configure(
    ra: RaOption,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="The RA profile to issue under (default: device, if the RA takes it)."),
    ] = None,
    default: Annotated[bool, typer.Option("--default/--not-default", help="Serve this RA at /scep.")] = True,
    allow_3des: Annotated[
        bool, typer.Option("--allow-3des/--no-3des", help="Accept 3DES envelopes from older clients (AES always).")
    ] = True,
    allow_des: Annotated[
        bool,
        typer.Option(
            "--allow-des/--no-des",
            help="Accept single-DES envelopes (micromdm-based clients send nothing else; never advertised).",
        ),
    ] = True,
    full_chain: Annotated[
        bool,
        typer.Option("--full-chain", help="GetCACert also lists EC CA certificates (clients that pin a CA)."),
    ] = False,
    next_ca: Annotated[
        str | None, typer.Option("--next-ca", help="During a CA rollover: the CA GetNextCACert announces.")
    ] = None,
    new_certificate: Annotated[
        bool, typer.Option("--new-certificate", help="Issue a new RA key and certificate now.")
    ] = False,
    key_store: Annotated[
        str, typer.Option("--key-store", help="Where a new RA key is made: software or pkcs11 (the HSM).")
    ] = "software",
) -> None:
    """Make an RA answer SCEP at /scep/RA (and /scep when it is the default), issuing its RA certificate
    (RSA-2048, profile scep-ra) when it has none.

    Example: chancery scep configure --ra devices
    """
    setup = ScepSetup(
        ra=ra,
        profile=profile,
        default=default,
        allow_3des=allow_3des,
        allow_des=allow_des,
        next_ca=next_ca,
        full_chain=full_chain,
        new_certificate=new_certificate,
        key_store=key_store,
    )
    with application() as chancery:
        chancery.profiles.install_builtins(operator())  # the scep-ra profile, on installations older than it
        service = chancery.scep.configure(operator(), setup)
    certificate = x509.load_der_x509_certificate(service.certificate)
    where = "/scep and " if service.is_default else ""
    console.print(
        f"RA [bold]{service.ra}[/] answers SCEP at {where}/scep/{service.ra} (profile {service.profile}); "
        f"RA certificate {certificate.subject.rfc4514_string()}, valid until {certificate.not_valid_after_utc:%Y-%m-%d}, "
        f"SHA-256 {certificate.fingerprint(hashes.SHA256()).hex()}",
        highlight=False,
    )


@app.command("list")
def list_services() -> None:
    """The RAs that answer SCEP.

    Example: chancery scep list
    """
    with application() as chancery:
        services = chancery.scep.list()
    table = Table("RA", "profile", "default", "3DES", "DES", "RA certificate until", "next CA")
    for service in services:
        certificate = x509.load_der_x509_certificate(service.certificate)
        table.add_row(
            service.ra,
            service.profile,
            "yes" if service.is_default else "",
            "yes" if service.allow_3des else "no",
            "yes" if service.allow_des else "no",
            f"{certificate.not_valid_after_utc:%Y-%m-%d}",
            service.next_ca or "",
        )
    console.print(table)


@challenge_app.command("create")
def create_challenge(
    ra: RaOption,
    subject: Annotated[
        str | None,
        typer.Option("--subject", help="Only for subjects matching this pattern, e.g. 'CN=printer-*'."),
    ] = None,
    ttl: Annotated[str, typer.Option("--ttl", help="Lifetime: 90s, 15m, 1h, 7d (at most 30d).")] = "1h",
    count: Annotated[int, typer.Option("--count", help="How many challenges (one per line).")] = 1,
) -> None:
    """Print one-time challenges for SCEP enrollment at an RA (only the challenges, one per line).

    Example: chancery scep challenge create --ra devices --ttl 1h
    """
    new = NewChallenges(ra=ra, ttl=parse_ttl(ttl) if ttl else DEFAULT_TTL, count=count, subject=subject)
    with application() as chancery:
        issued = chancery.scep_challenges.create(operator(), new)
    typer.echo("\n".join(issued.challenges))
