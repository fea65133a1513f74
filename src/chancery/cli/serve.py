"""``chancery serve``: the HTTP server (REST API, AIA, later OCSP/CRL/ACME/SCEP/EST/CMP)."""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING, Annotated

import typer

from chancery import wiring
from chancery.cli.session import prompt_passphrase, settings

if TYPE_CHECKING:
    from fastapi import FastAPI


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default: CHANCERY_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: CHANCERY_PORT or 8000).")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (>1 needs CHANCERY_KEY_PASSPHRASE).")] = 1,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log every request.")] = True,
) -> None:
    """Serve the REST API and public endpoints.

    Example: CHANCERY_KEY_PASSPHRASE=... chancery serve --host 127.0.0.1 --port 8000
    """
    import uvicorn  # loaded only when serving

    config = settings()
    options = {
        "host": host or config.host,
        "port": port or config.port,
        "log_level": config.log_level.lower(),
        "access_log": access_log,
        "loop": "uvloop",
        "http": "httptools",
        # X-Forwarded-For is trusted only when Chancery sits behind a proxy that sets it
        # (set FORWARDED_ALLOW_IPS); by default the peer address is the client.
        "proxy_headers": "FORWARDED_ALLOW_IPS" in os.environ,
    }
    if workers > 1:
        if config.passphrase() is None:
            raise typer.BadParameter("several workers cannot prompt: set CHANCERY_KEY_PASSPHRASE")
        uvicorn.run("chancery.cli.serve:app_factory", factory=True, workers=workers, **options)  # type: ignore[arg-type]
        return
    app = wiring.create_web_app(config, config.passphrase() or prompt_passphrase())
    tune_garbage_collector()
    uvicorn.run(app, **options)  # type: ignore[arg-type]


def app_factory() -> FastAPI:
    """Entry point for worker processes (settings and passphrase from the environment)."""
    app = wiring.create_web_app(settings())
    tune_garbage_collector()
    return app


def tune_garbage_collector() -> None:
    """Exempt the long-lived start-up objects from collection and collect young objects less often.

    A request allocates thousands of short-lived objects; with CPython's default
    threshold (700) the collector would run several times per request and walk
    every object the application loaded at start-up.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
