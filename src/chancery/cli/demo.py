"""``chancery demo``: a throw-away demo hierarchy, then serve (what `make run` does). Never for production."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel

from chancery import wiring
from chancery.cli.serve import tune_garbage_collector
from chancery.cli.session import console, operator, settings, write_output
from chancery.domain.keytypes import KeyType
from chancery.services.authority.hierarchy import NewCA

PASSPHRASE_FILE = "DEMO-ONLY-key-passphrase"  # noqa: S105 - a file name
ROOT, ISSUING = "demo-root", "demo-issuing"


def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Create a demo root + issuing CA (ECDSA P-256) on SQLite if none exists, then serve.

    The demo keeps its passphrase next to the keys, which defeats the sealing:
    it is for trying Chancery out, never for real certificates.

    Example: chancery demo --port 8000
    """
    import uvicorn  # loaded only when serving

    config = settings()
    passphrase_file = config.data_dir / PASSPHRASE_FILE
    passphrase = config.passphrase() or _demo_passphrase(passphrase_file)
    app = wiring.build(config, passphrase)
    try:
        if not wiring.is_initialised(app):
            _create(app, passphrase_file)
        else:
            console.print(f"Using the existing demo in {config.data_dir} (delete it to start over).")
    finally:
        app.close()
    web = wiring.create_web_app(config, passphrase)
    tune_garbage_collector()
    uvicorn.run(web, host=host, port=port, loop="uvloop", http="httptools")


def _demo_passphrase(path: Path) -> bytes:
    if path.exists():
        return path.read_text().strip().encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(24)
    write_output(value.encode() + b"\n", path, mode=0o600)
    return value.encode()


def _create(app: wiring.Application, passphrase_file: Path) -> None:
    token = wiring.initialise(app, operator())
    app.hierarchy.create_root(operator(), NewCA(ROOT, "CN=Chancery Demo Root CA,O=Chancery Demo", KeyType.EC_P256))
    app.hierarchy.create_intermediate(
        operator(), NewCA(ISSUING, "CN=Chancery Demo Issuing CA,O=Chancery Demo", KeyType.EC_P256, parent=ROOT)
    )
    token_text = token.token if token else "(an admin token already existed)"
    console.print(
        Panel.fit(
            f"[bold red]DEMO ONLY - not for real certificates[/]\n\n"
            f"CAs: [bold]{ROOT}[/] (root) and [bold]{ISSUING}[/] (issuing), ECDSA P-256, in {app.settings.data_dir}\n"
            f"Admin API token (shown once): [bold]{token_text}[/]\n"
            f"Key store passphrase (chosen for the demo, stored in {passphrase_file}): "
            f"[bold]{passphrase_file.read_text().strip()}[/]",
            title="Chancery demo",
        ),
        highlight=False,
    )
