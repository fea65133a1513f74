"""``chancery emv issuer request`` and ``chancery emv ca answer``: the brands' request and response files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chancery.cli.session import application, console, operator, read_input, write_output
from chancery.emv.brands import BRANDS, MAX_FILE_BYTES
from chancery.emv.fields import parse_hex
from chancery.services.emv.requests import BrandFiles, NewIssuerRequest

BrandOption = Annotated[str, typer.Option("--brand", help=f"The payment brand's file layout: {', '.join(BRANDS)}.")]
OutDirOption = Annotated[Path, typer.Option("--out-dir", help="Where to write the files (created if missing).")]


def request(
    name: Annotated[str, typer.Argument(help="The issuer.")],
    brand: BrandOption,
    expiry: Annotated[str, typer.Option("--expiry", help="MMYY: how long the certificate should last.")],
    out_dir: OutDirOption,
    serial: Annotated[str, typer.Option("--serial", help="Your 3-byte reference for this request (hex).")] = "000001",
    key_index: Annotated[
        str, typer.Option("--key-index", help="Mastercard: your 3-byte index for this issuer key (hex).")
    ] = "",
    service_identifier: Annotated[
        str | None, typer.Option("--service-identifier", help="Visa: the 4-byte service identifier (hex).")
    ] = None,
) -> None:
    """Write the self-signed issuer key request in the brand's layout, and its digest to read out
    to the brand when you send it. The issuer key signs it (proof of possession); it never leaves.

    Example: chancery emv issuer request bank --brand mastercard --expiry 1230 --key-index 000001 --out-dir req/
    """
    new = NewIssuerRequest(
        issuer=name,
        brand=brand,
        expiry=expiry,
        serial=parse_hex(serial, "serial", max_bytes=3),
        key_index=parse_hex(key_index, "key index", max_bytes=3),
        service_identifier=None
        if service_identifier is None
        else parse_hex(service_identifier, "service id", max_bytes=4),
    )
    with application() as chancery:
        files = chancery.emv_requests.issuer_request(operator(), new)
    _write(files, out_dir)
    console.print(f"request digest ({BRANDS[brand.lower()].request_digest}): {files.digest}", highlight=False)


def answer(
    name: Annotated[str, typer.Argument(help="The scheme CA that certifies.")],
    brand: BrandOption,
    request_file: Annotated[Path, typer.Option("--request", help="The issuer's request file.")],
    out_dir: OutDirOption,
) -> None:
    """As the scheme CA: check an issuer's request (its self-signature), certify its key, and write
    the response in the brand's layout. Confirm the request's digest with the issuer first.

    Example: chancery emv ca answer test-scheme --brand visa --request 476173FF_000001.INP --out-dir out/
    """
    data = read_input(request_file, "request", MAX_FILE_BYTES)
    with application() as chancery:
        files = chancery.emv_requests.answer_request(operator(), name, brand, data)
    _write(files, out_dir)


def _write(files: BrandFiles, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for file_name, data in files.files.items():
        write_output(data, out_dir / file_name)
        console.print(f"wrote {out_dir / file_name} ({len(data)} bytes)", highlight=False)
