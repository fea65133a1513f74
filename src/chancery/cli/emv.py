"""``chancery emv ...``: the EMV payment CA (scheme CA keys, issuer keys, ICC certificates)."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from chancery.cli import emv_brands
from chancery.cli.session import application, console, operator, read_input, write_output
from chancery.emv.brands import MAX_FILE_BYTES
from chancery.emv.capk import parse_capk_json
from chancery.emv.errors import EmvError, Reason
from chancery.emv.fields import Expiry, parse_hex, parse_pan
from chancery.emv.icc_certificate import IccCertificate, verify_icc_certificate
from chancery.emv.issuer_certificate import IssuerCertificate, verify_issuer_certificate
from chancery.emv.public_key_files import load_emv_public_key
from chancery.emv.rsa import EmvPublicKey, parse_exponent
from chancery.emv.tlv import icc_data_objects
from chancery.errors import Malformed
from chancery.services.emv.service import IccRequest, NewEmvCa, NewIssuer, certification_document

app = typer.Typer(
    help="The EMV payment CA: scheme CA keys, issuer keys, ICC public key certificates.", no_args_is_help=True
)
cas = typer.Typer(help="Scheme CA keys (RID and index).", no_args_is_help=True)
issuers = typer.Typer(help="Issuer keys and their certificates.", no_args_is_help=True)
icc = typer.Typer(help="ICC (card) public key certificates.", no_args_is_help=True)
app.add_typer(cas, name="ca")
app.add_typer(issuers, name="issuer")
app.add_typer(icc, name="icc")

BitsOption = Annotated[int, typer.Option("--bits", help="Key length: 1024 to 1984 bits, a multiple of 8.")]
ExponentOption = Annotated[int, typer.Option("--exponent", help="3 or 65537.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (upper-case hex).")]
MAX_BULK_BYTES = 64 * 1024 * 1024
KeyStoreOption = Annotated[
    str, typer.Option("--key-store", help="Where the key is made: software, or pkcs11 (the HSM, CKM_RSA_X_509).")
]


OutDirOption = Annotated[
    Path | None,
    typer.Option(
        "--out-dir",
        help="Also write each data object as a binary file (<stem>.<TAG>.bin) and all of them as <stem>.tlv.",
    ),
]


def _print_json(document: object) -> None:
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


def _write_objects(folder: Path, stem: str, objects: dict[str, bytes], tlv: bytes) -> None:
    """Binary files for card personalisation: one per tag (empty remainders left out) and the BER-TLV of all."""
    folder.mkdir(parents=True, exist_ok=True)
    for tag, value in objects.items():
        if value:
            write_output(value, folder / f"{stem}.{tag}.bin")
    write_output(tlv, folder / f"{stem}.tlv")


# -- scheme CAs ------------------------------------------------------------------------------------


@cas.command("create")
def create_ca(
    name: Annotated[str, typer.Argument(help="A short name for the CA key.")],
    rid: Annotated[str, typer.Option("--rid", help="Registered application provider identifier: 10 hex digits.")],
    index: Annotated[str, typer.Option("--index", help="CA public key index (tag 8F): 2 hex digits.")],
    bits: BitsOption,
    exponent: ExponentOption = 3,
    key_store: KeyStoreOption = "software",
) -> None:
    """Create a scheme CA key in the key store (for test CAs, private-label schemes, labs).

    Example: chancery emv ca create test-scheme --rid A000000999 --index 01 --bits 1408 --key-store pkcs11
    """
    key_index = parse_hex(index, "index", max_bytes=1)
    if len(key_index) != 1:
        raise Malformed("the index is one byte: two hex digits, e.g. 01")
    with application() as chancery:
        record = chancery.emv.create_ca(operator(), NewEmvCa(name, rid, key_index[0], bits, exponent, key_store))
    console.print(f"EMV CA {record.name}: RID {record.rid}, index {record.index:02X}, {bits} bits", highlight=False)


@cas.command("export")
def export_ca(
    name: Annotated[str, typer.Argument(help="The CA.")],
    as_json: JsonOption = False,
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
) -> None:
    """The CA public key terminals load: RID, index, modulus, exponent and SHA-1 check value.

    Example: chancery emv ca export test-scheme --json
    """
    with application() as chancery:
        capk = chancery.emv.ca_public_key(operator(), name)
    document = capk.to_json()
    if out is not None or as_json:
        write_output((json.dumps(document, indent=2) + "\n").encode(), out)
        return
    for key, value in document.items():
        console.print(f"{key:12} {value}", highlight=False)


@cas.command("list")
def list_cas() -> None:
    """Every scheme CA key.

    Example: chancery emv ca list
    """
    with application() as chancery:
        records = chancery.emv.list_cas(operator())
    table = Table("name", "RID", "index", "bits", "exponent", "created")
    for r in records:
        table.add_row(
            r.name, r.rid, f"{r.index:02X}", str(r.modulus.bit_length()), str(r.exponent), f"{r.created_at:%Y-%m-%d}"
        )
    console.print(table)


# -- issuers ---------------------------------------------------------------------------------------


@issuers.command("create")
def create_issuer(
    name: Annotated[str, typer.Argument(help="A short name for the issuer key.")],
    bin_: Annotated[str, typer.Option("--bin", help="Issuer identifier: the leftmost 3 to 8 digits of its PANs.")],
    bits: BitsOption,
    exponent: ExponentOption = 3,
    key_store: KeyStoreOption = "software",
) -> None:
    """Create an issuer key pair in the key store.

    Example: chancery emv issuer create bank --bin 476173 --bits 1152
    """
    with application() as chancery:
        record = chancery.emv.create_issuer(operator(), NewIssuer(name, bin_, bits, exponent, key_store))
    console.print(f"EMV issuer {record.name}: BIN {record.issuer_identifier}, {bits} bits", highlight=False)


@issuers.command("certify")
def certify_issuer(
    name: Annotated[str, typer.Argument(help="The issuer.")],
    ca: Annotated[str, typer.Option("--ca", help="The scheme CA that signs it.")],
    expiry: Annotated[str, typer.Option("--expiry", help="MMYY: valid through the end of that month.")],
    as_json: JsonOption = False,
    out_dir: OutDirOption = None,
) -> None:
    """The scheme CA signs the issuer's key (issuer public key certificate, format '02').

    Example: chancery emv issuer certify bank --ca test-scheme --expiry 1229 --json --out-dir perso/
    """
    with application() as chancery:
        certification = chancery.emv.certify_issuer(operator(), name, ca, expiry)
    document = certification_document(certification)
    if out_dir is not None:
        objects = {
            "8F": bytes([certification.ca_index]),
            "90": certification.certificate,
            "92": certification.remainder,
            "9F32": certification.exponent,
        }
        _write_objects(out_dir, name, objects, bytes.fromhex(document["data_objects"]))
    if as_json:
        _print_json(document)
        return
    for key, value in document.items():
        console.print(f"{key:14} {value}", highlight=False)


@issuers.command("import")
def import_certificate(
    name: Annotated[str, typer.Argument(help="The issuer.")],
    ca_key: Annotated[Path, typer.Option("--ca-key", help="The scheme's CA public key (JSON, as `emv ca export`).")],
    certificate: Annotated[
        Path | None, typer.Option("--certificate", help="JSON with certificate_90, remainder_92, exponent_9F32.")
    ] = None,
    response: Annotated[
        Path | None, typer.Option("--response", help="The brand's response file (with --brand), instead of JSON.")
    ] = None,
    brand: Annotated[str | None, typer.Option("--brand", help="The response file's brand layout.")] = None,
) -> None:
    """Keep the certificate a payment scheme signed for this issuer's key, once it verifies.

    Example: chancery emv issuer import bank --ca-key visa-test-94.json --certificate bank-cert.json
             chancery emv issuer import bank --ca-key scheme.json --brand visa --response 476173FF_000001.OUT
    """
    if (certificate is None) == (response is None) or (response is not None and brand is None):
        raise typer.BadParameter("give --certificate JSON, or --response FILE with --brand")
    capk = parse_capk_json(read_input(ca_key, "CA public key", 64 * 1024))
    with application() as chancery:
        if response is not None and brand is not None:
            data = read_input(response, "response", MAX_FILE_BYTES)
            certification = chancery.emv_requests.import_response(operator(), name, brand, data, capk)
        else:
            assert certificate is not None
            signed = _issuer_certificate(read_input(certificate, "issuer certificate", 64 * 1024))
            certification = chancery.emv.import_certification(operator(), name, capk, signed)
    console.print(f"issuer {name}: certificate from RID {certification.ca_rid} index {certification.ca_index:02X} kept, "
                  f"expires {certification.expiry}", highlight=False)  # fmt: skip


issuers.command("request")(emv_brands.request)
cas.command("answer")(emv_brands.answer)


@issuers.command("show")
def show_issuer(name: Annotated[str, typer.Argument(help="The issuer.")], as_json: JsonOption = False) -> None:
    """The issuer key and, once certified, its certificate with the card personalisation data objects.

    Example: chancery emv issuer show bank --json
    """
    with application() as chancery:
        record = chancery.emv.issuer(operator(), name)
    document: dict[str, Any] = {
        "name": record.name,
        "bin": record.issuer_identifier,
        "modulus": format(record.modulus, "X"),
        "exponent": record.exponent,
        "certification": None if record.certification is None else certification_document(record.certification),
    }
    if as_json:
        _print_json(document)
        return
    console.print_json(json.dumps(document))


@issuers.command("list")
def list_issuers() -> None:
    """Every issuer key.

    Example: chancery emv issuer list
    """
    with application() as chancery:
        records = chancery.emv.list_issuers(operator())
    table = Table("name", "BIN", "bits", "certified by", "expires")
    for r in records:
        c = r.certification
        table.add_row(r.name, r.issuer_identifier, str(r.modulus.bit_length()),
                      f"{c.ca_rid}/{c.ca_index:02X}" if c else "-", c.expiry if c else "-")  # fmt: skip
    console.print(table)


# -- cards -----------------------------------------------------------------------------------------


@icc.command("issue")
def issue_icc(
    issuer: Annotated[str, typer.Option("--issuer", help="The issuer whose key signs.")],
    pan: Annotated[str | None, typer.Option("--pan", help="The card's application PAN (tag 5A).")] = None,
    expiry: Annotated[str | None, typer.Option("--expiry", help="MMYY.")] = None,
    icc_public_key: Annotated[
        Path | None,
        typer.Option("--icc-public-key", help="The card's RSA public key: PEM, DER or JSON {modulus, exponent}."),
    ] = None,
    static_data: Annotated[str, typer.Option("--static-data", help="Static data to be authenticated (hex).")] = "",
    bulk: Annotated[
        Path | None,
        typer.Option(
            "--bulk", help="A file of cards, one per line: PAN,MMYY,MODULUS_HEX,EXPONENT_HEX[,STATIC_DATA_HEX]."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="With --bulk: write the certificates here (JSON lines).")] = None,
    as_json: JsonOption = False,
    out_dir: OutDirOption = None,
) -> None:
    """Certify a card's public key (ICC public key certificate, format '04'), or a file of them.

    A bulk file is read and checked whole first: a malformed line stops everything, naming it,
    and nothing is signed or written. The output file appears only when every card is certified.

    Example: chancery emv icc issue --issuer bank --pan 4761739001010119 --expiry 1228 --icc-public-key card.pem --json

    Example: chancery emv icc issue --issuer bank --bulk cards.csv --out certificates.jsonl
    """
    if bulk is not None:
        if out is None:
            raise typer.BadParameter("--bulk needs --out", param_hint="'--out'")
        _issue_bulk(issuer, bulk, out)
        return
    if pan is None or expiry is None or icc_public_key is None:
        raise typer.BadParameter("give --pan, --expiry and --icc-public-key (or --bulk FILE)")
    key = load_emv_public_key(read_input(icc_public_key, "ICC public key", 64 * 1024))
    data = parse_hex(static_data, "static data", max_bytes=2048)
    with application() as chancery:
        certificate = chancery.emv.issue_icc(operator(), issuer, IccRequest(pan, expiry, key, data))
    document = {**certificate.to_json(), "pan_5A": pan.strip()}
    if out_dir is not None:
        objects = {"9F46": certificate.certificate, "9F48": certificate.remainder, "9F47": certificate.exponent}
        _write_objects(out_dir, f"icc-{pan.strip()[-4:]}", objects, icc_data_objects(certificate))
    if as_json:
        _print_json(document)
        return
    for name, value in document.items():
        console.print(f"{name:18} {value}", highlight=False)


def _bulk_requests(path: Path) -> list[IccRequest]:
    requests = []
    text = read_input(path, "bulk file", MAX_BULK_BYTES).decode("ascii", "replace")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        try:
            if len(fields) not in (4, 5):
                raise Malformed("expected PAN,MMYY,MODULUS_HEX,EXPONENT_HEX[,STATIC_DATA_HEX]")
            modulus = parse_hex(fields[2], "modulus", max_bytes=248)
            exponent = parse_exponent(parse_hex(fields[3], "exponent", max_bytes=3))
            key = EmvPublicKey(modulus, exponent)
            data = parse_hex(fields[4], "static data", max_bytes=2048) if len(fields) == 5 else b""
            Expiry.parse(fields[1])
            requests.append(IccRequest(parse_pan(fields[0]), fields[1], key, data))
        except Malformed as error:
            raise Malformed(f"{path.name} line {number}: {error.detail}") from None
    if not requests:
        raise Malformed(f"{path.name} holds no cards")
    return requests


def _issue_bulk(issuer: str, path: Path, out: Path) -> None:
    requests = _bulk_requests(path)
    partial = out.with_name(out.name + ".partial")
    with application() as chancery, Progress(console=console, transient=True) as progress:
        bin_ = chancery.emv.issuer(operator(), issuer).issuer_identifier
        stray = next((n for n, r in enumerate(requests, 1) if not r.pan.startswith(bin_)), None)
        if stray is not None:  # every card is checked before the first is signed
            raise Malformed(f"{path.name} card {stray}: the PAN does not start with the issuer's BIN {bin_}")
        task = progress.add_task("certifying cards", total=len(requests))
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as sink:
                for start in range(0, len(requests), 1000):
                    batch = requests[start : start + 1000]
                    for request, certificate in zip(
                        batch, chancery.emv.issue_icc_batch(operator(), issuer, batch), strict=True
                    ):
                        sink.write(json.dumps({"pan_5A": request.pan, **certificate.to_json()}) + "\n")
                    progress.advance(task, len(batch))
            partial.replace(out)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    console.print(f"{len(requests)} ICC certificates written to {out}", highlight=False)


# -- verification ----------------------------------------------------------------------------------


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise EmvError(Reason.BAD_JSON, f"the {what} is not valid JSON") from None
    if not isinstance(document, dict):
        raise EmvError(Reason.BAD_JSON, f"the {what} is a JSON object")
    return document


def _issuer_certificate(data: bytes) -> IssuerCertificate:
    document = _json_object(data, "issuer certificate")
    return IssuerCertificate(
        parse_hex(document.get("certificate_90", ""), "certificate_90", max_bytes=248),
        parse_hex(document.get("remainder_92", ""), "remainder_92", max_bytes=248),
        parse_hex(document.get("exponent_9F32", ""), "exponent_9F32", max_bytes=3),
    )


@app.command("verify")
def verify(
    ca_key: Annotated[Path, typer.Option("--ca-key", help="CA public key JSON (as `emv ca export --json`).")],
    issuer_cert: Annotated[
        Path, typer.Option("--issuer-cert", help="Issuer certificate JSON (as `emv issuer certify --json`).")
    ],
    icc_cert: Annotated[
        list[Path] | None,
        typer.Option("--icc-cert", help="ICC certificate JSON (as `emv icc issue --json`); repeatable."),
    ] = None,
    pan: Annotated[str | None, typer.Option("--pan", help="The card's PAN (else the pan_5A in each ICC file).")] = None,
    static_data: Annotated[
        str | None, typer.Option("--static-data", help="Static data to be authenticated (hex).")
    ] = None,
) -> None:
    """Recover and check an issuer certificate with the CA key, then each ICC certificate with the
    recovered issuer key (EMV Book 2 §5.3, §6.4). Exit 0 when all verify; otherwise the first
    failure and its reason.

    Example: chancery emv verify --ca-key test-scheme.json --issuer-cert bank.json --icc-cert card.json
    """
    today = dt.datetime.now(dt.timezone.utc).date()
    capk = parse_capk_json(read_input(ca_key, "CA public key", 64 * 1024))
    issuer = verify_issuer_certificate(
        capk.key, _issuer_certificate(read_input(issuer_cert, "issuer certificate", 64 * 1024)), pan=pan, today=today
    )
    console.print(f"issuer certificate: OK  BIN {issuer.issuer_identifier}, expires {issuer.expiry.mmyy}, "
                  f"serial {issuer.serial.hex().upper()}, {8 * issuer.issuer_key.length}-bit key", highlight=False)  # fmt: skip
    for path in icc_cert or []:
        document = _json_object(read_input(path, "ICC certificate", 64 * 1024), "ICC certificate")
        certificate = IccCertificate(
            parse_hex(document.get("certificate_9F46", ""), "certificate_9F46", max_bytes=248),
            parse_hex(document.get("remainder_9F48", ""), "remainder_9F48", max_bytes=248),
            parse_hex(document.get("exponent_9F47", ""), "exponent_9F47", max_bytes=3),
        )
        card_pan = pan or str(document.get("pan_5A", ""))
        data = parse_hex(
            static_data if static_data is not None else document.get("static_data", ""), "static data", max_bytes=2048
        )
        card = verify_icc_certificate(issuer.issuer_key, certificate, pan=card_pan, static_data=data, today=today)
        console.print(f"{path.name}: OK  PAN {card.pan[:6]}...{card.pan[-4:]}, expires {card.expiry.mmyy}, "
                      f"serial {card.serial.hex().upper()}, {8 * card.icc_key.length}-bit key", highlight=False)  # fmt: skip
