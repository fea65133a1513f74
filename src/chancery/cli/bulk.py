"""Bulk issuance from a folder of CSRs, with a progress bar."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from chancery.cli.session import console, err_console, write_output
from chancery.domain.principals import Principal
from chancery.errors import CAError
from chancery.pki.encoding import to_pem
from chancery.services.authority.issuance import IssuanceService, IssueFromCsr

CSR_SUFFIXES = (".csr", ".pem", ".der", ".req")
MAX_CSR_FILE = 256 * 1024
WORKERS = 8  # concurrent issuances share group commits


def issue_directory(
    issuance: IssuanceService,
    principal: Principal,
    source: Path,
    target: Path,
    ca: str,
    profile: str,
    days: int | None,
) -> list[tuple[Path, str]]:
    """Issue one certificate per CSR file; write ``<stem>.crt.pem`` into ``target``.

    Returns the failures (file, reason); successes are on disk when this returns.
    """
    files = sorted(
        p
        for p in source.iterdir()
        if p.is_file() and p.suffix.lower() in CSR_SUFFIXES and not p.name.endswith(".crt.pem")
    )
    target.mkdir(parents=True, exist_ok=True)
    failures: list[tuple[Path, str]] = []

    def one(path: Path) -> None:
        if path.stat().st_size > MAX_CSR_FILE:
            raise ValueError("file larger than 256 KiB")
        issued = issuance.issue_from_csr(
            principal, IssueFromCsr(ca=ca, profile=profile, csr=path.read_bytes(), validity_days=days)
        )
        write_output(to_pem([issued.certificate]), target / f"{path.stem}.crt.pem")

    columns = (TextColumn("Issuing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress, ThreadPoolExecutor(WORKERS) as pool:
        task = progress.add_task("issue", total=len(files))
        futures = {pool.submit(one, path): path for path in files}
        for future in as_completed(futures):
            try:
                future.result()
            except (CAError, ValueError, OSError) as exc:
                failures.append((futures[future], getattr(exc, "detail", None) or str(exc)))
            progress.advance(task)
    for path, reason in failures:
        err_console.print(f"[red]{path.name}[/]: {reason}", highlight=False)
    console.print(f"{len(files) - len(failures)} issued, {len(failures)} failed, into {target}")
    return failures
