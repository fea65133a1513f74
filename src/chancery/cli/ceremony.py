"""``chancery ceremony ...``: scripted key ceremonies, their transcripts, and key custodians."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from chancery.cli.custodians import CustodianPassphrases
from chancery.cli.session import application, console, err_console, operator, read_input
from chancery.errors import Conflict, NotFound
from chancery.services.ceremony import transcript as transcripts
from chancery.services.ceremony.runner import CeremonyRun
from chancery.services.ceremony.script import MAX_SCRIPT_BYTES, outputs, parse_script

app = typer.Typer(help="Run scripted key ceremonies, verify their transcripts, enrol custodians.", no_args_is_help=True)
custodian_app = typer.Typer(help="Key custodians: enrol, list, remove.", no_args_is_help=True)
app.add_typer(custodian_app, name="custodian")


class LocalDirectory:
    """The ceremony directory on disk (:class:`~chancery.services.ceremony.ports.ArtefactDirectory`)."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()

    def _path(self, relative: str) -> Path:
        path = (self._root / relative).resolve()
        if not path.is_relative_to(self._root):
            raise NotFound(f"{relative} is outside the ceremony directory")
        return path

    def exists(self, path: str) -> bool:
        return self._path(path).exists()

    def read(self, path: str) -> bytes:
        try:
            return self._path(path).read_bytes()
        except OSError as exc:
            raise NotFound(f"cannot read {path} in the ceremony directory: {exc.strerror}") from None

    def write(self, path: str, data: bytes) -> None:
        target = self._path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise Conflict(f"{path} exists already; a ceremony never overwrites a file") from None
        except OSError as exc:
            raise Conflict(f"cannot write {path}: {exc.strerror}") from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def resolve(self, path: str) -> Path:
        return self._path(path)

    def read_if_present(self, path: str) -> bytes | None:
        try:
            return self.read(path)
        except NotFound:
            return None


@app.command("run")
def run(
    script_file: Annotated[Path, typer.Argument(help="The ceremony script (YAML); its directory holds the artefacts.")],
    transcript: Annotated[
        Path | None,
        typer.Option("--transcript", help="Where the signed transcript goes (default: CEREMONY.transcript.json)."),
    ] = None,
) -> None:
    """Run a scripted root or intermediate ceremony: M of the N custodians authenticate before any
    key is used; every step is audited; a signed transcript records it all.

    Custodians' passphrases come from CHANCERY_CUSTODIAN_PASSPHRASE_<NAME> or are asked on the terminal.

    Example: chancery ceremony run root-ceremony.yaml --transcript root-ceremony.transcript.json
    """
    data = read_input(script_file, "ceremony script", limit=MAX_SCRIPT_BYTES + 1)
    script = parse_script(data, script_file.name)  # nothing is opened before the script is valid
    out = transcript or script_file.parent / f"{script.ceremony}.transcript.json"
    directory = LocalDirectory(script_file.parent)
    artefacts = {directory.resolve(path) for step in script.steps for path in outputs(step)}
    if out.exists() or out.resolve() in artefacts:
        raise Conflict(f"{out} exists already or is an artefact; a ceremony never overwrites a file")
    ceremony = CeremonyRun(script, data, script_file.name, directory)
    custodians = CustodianPassphrases()
    with application(custodians=custodians) as chancery:
        chancery.ceremonies.check(operator(), ceremony)
        names = tuple(script.custodians)
        given = custodians.collect(names, script.threshold, f"Ceremony {script.ceremony}")
        result = chancery.ceremonies.run(operator(), ceremony, given)
    LocalDirectory(out.parent).write(out.name, result.transcript)
    console.print(
        f"Ceremony [bold]{script.ceremony}[/] {result.outcome}: {result.steps_done} of {len(script.steps)} steps. "
        f"Transcript {out} (SHA-256 {result.transcript_sha256})",
        highlight=False,
    )
    if result.error is not None:
        raise result.error


@app.command("verify")
def verify(
    transcript: Annotated[Path, typer.Argument(help="A ceremony transcript.")],
    artefacts: Annotated[
        Path | None, typer.Option("--artefacts", help="Where the artefacts are (default: the transcript's directory).")
    ] = None,
    key_sha256: Annotated[
        str | None, typer.Option("--key-sha256", help="Insist on this signer (SHA-256 of its public key, hex).")
    ] = None,
) -> None:
    """Check a transcript's signature and every artefact's SHA-256; exit 0 when all match,
    1 naming the first mismatch. Needs no data directory.

    Example: chancery ceremony verify root-ceremony.transcript.json --artefacts ./artefacts
    """
    data = read_input(transcript, "transcript", limit=transcripts.MAX_TRANSCRIPT_BYTES)
    directory = LocalDirectory(artefacts or transcript.parent)
    report = transcripts.verify(data, directory.read_if_present, key_sha256)
    if not report.ok:
        err_console.print(f"[red]transcript does not verify:[/] {escape(report.problem)}", highlight=False)
        raise typer.Exit(1)
    console.print(
        f"Transcript of ceremony {report.ceremony} ({report.outcome}) verifies: signature good, "
        f"{report.artefacts} artefacts match. Signed by the key with SHA-256 {report.key_sha256}",
        highlight=False,
    )


@custodian_app.command("add")
def add_custodian(name: Annotated[str, typer.Argument(help="Lower-case letters, digits and '_'.")]) -> None:
    """Enrol a key custodian with a passphrase only they know (CHANCERY_CUSTODIAN_PASSPHRASE_<NAME>,
    else typed twice on the terminal). Chancery keeps an Argon2id verifier, never the passphrase.

    Example: chancery ceremony custodian add alice
    """
    passphrase = CustodianPassphrases().new_passphrase(name)
    with application() as chancery:
        chancery.custodians.enrol(operator(), name, passphrase)
    console.print(f"Custodian {name} enrolled", highlight=False)


@custodian_app.command("remove")
def remove_custodian(name: str) -> None:
    """Remove a custodian (refused while they hold a share of the key store's secret).

    Example: chancery ceremony custodian remove carol
    """
    with application() as chancery:
        chancery.custodians.remove(operator(), name)
    console.print(f"Custodian {name} removed", highlight=False)


@custodian_app.command("list")
def list_custodians() -> None:
    """List the custodians, and the quorum the key store requires (if any).

    Example: chancery ceremony custodian list
    """
    with application() as chancery:
        records, quorum = chancery.custodians.list(operator())
    holders = set(quorum.custodians) if quorum else set()
    table = Table("name", "enrolled", "by", "key store share")
    for record in records:
        share = "yes" if record.name in holders else "-"
        table.add_row(record.name, f"{record.created_at:%Y-%m-%d %H:%M}Z", record.created_by, share)
    console.print(table)
    if quorum is None:
        console.print("The key store opens with its passphrase (no quorum required).")
    else:
        console.print(
            f"The key store opens with {quorum.threshold} of {', '.join(quorum.custodians)} "
            f"(since {quorum.created_at:%Y-%m-%d %H:%M}Z).",
            highlight=False,
        )


def require_quorum(
    custodians: Annotated[str, typer.Option("--custodians", help="Comma-separated custodian names (N).")],
    threshold: Annotated[int, typer.Option("--threshold", help="How many of them open the key store (M).")],
) -> None:
    """Make the software key store open only with M of N custodians' passphrases.

    Every custodian named is present (their passphrase seals their share). The store is re-keyed
    under a fresh secret split among them: CHANCERY_KEY_PASSPHRASE (or the previous quorum) opens
    nothing afterwards. Stop every server first.

    Example: chancery keys require-quorum --custodians alice,bob,carol --threshold 2
    """
    names = tuple(name.strip() for name in custodians.split(",") if name.strip())
    passphrases = CustodianPassphrases()
    with application(custodians=passphrases) as chancery:
        chancery.custodians.check_enrolled(names)
        given = passphrases.collect(names, len(names), "Splitting the key store's secret")
        quorum = chancery.key_quorum.require(operator(), names, threshold, given)
    console.print(
        f"The key store now opens with {quorum.threshold} of the custodians {', '.join(quorum.custodians)}; "
        "its passphrase opens nothing any more.",
        highlight=False,
    )
