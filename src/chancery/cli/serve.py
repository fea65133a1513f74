"""``chancery serve``: the HTTP server (REST API, AIA, later OCSP/CRL/ACME/SCEP/EST/CMP)."""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chancery import wiring
from chancery.cli.custodians import CustodianPassphrases
from chancery.cli.session import prompt_passphrase, settings
from chancery.domain.custodians import PASSPHRASE_ENV_PREFIX

if TYPE_CHECKING:
    from fastapi import FastAPI


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default: CHANCERY_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: CHANCERY_PORT or 8000).")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (>1 needs CHANCERY_KEY_PASSPHRASE).")] = 1,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log every request.")] = True,
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Serve HTTPS with this PEM certificate chain (server certificate first); needs --tls-key.",
        ),
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="PEM private key of --tls-cert (unencrypted).")
    ] = None,
    client_ca: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="PEM bundle of the only CAs whose client certificates are accepted: a client certificate is "
            "asked for, not required, and one from any other CA fails the handshake. Needs --tls-cert.",
        ),
    ] = None,
) -> None:
    """Serve the REST API and public endpoints, over HTTP or, with --tls-cert and --tls-key, HTTPS (TLS 1.2+).

    Example: CHANCERY_KEY_PASSPHRASE=... chancery serve --host 127.0.0.1 --port 8000

    Example (HTTPS, client certificates): chancery serve --tls-cert server.pem --tls-key server.key --client-ca clients.pem
    """
    import uvicorn  # loaded only when serving

    tls = tls_options(tls_cert, tls_key, client_ca)
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
        **tls,
    }
    if workers > 1:
        if config.passphrase() is None and not any(name.startswith(PASSPHRASE_ENV_PREFIX) for name in os.environ):
            raise typer.BadParameter(
                "several workers cannot prompt: set CHANCERY_KEY_PASSPHRASE (or, for a key store that requires "
                "a quorum, CHANCERY_CUSTODIAN_PASSPHRASE_<NAME> of enough custodians)"
            )
        uvicorn.run("chancery.cli.serve:app_factory", factory=True, workers=workers, **options)  # type: ignore[arg-type]
        return

    def passphrase() -> bytes:  # asked only when the key store requires no quorum
        return config.passphrase() or prompt_passphrase()

    # A key store that requires a quorum is opened here, once, by its custodians (environment or prompts).
    app = wiring.create_web_app(config, passphrase, CustodianPassphrases().for_key_store)
    tune_garbage_collector()
    uvicorn.run(app, **options)  # type: ignore[arg-type]


def tls_options(cert: Path | None, key: Path | None, client_ca: Path | None) -> dict[str, Any]:
    """Uvicorn's settings for HTTPS (none without --tls-cert), once the files are known to load."""
    if client_ca is not None and cert is None:
        raise typer.BadParameter("--client-ca needs --tls-cert and --tls-key", param_hint="'--client-ca'")
    if cert is None and key is None:
        return {}
    if cert is None or key is None:
        raise typer.BadParameter("--tls-cert and --tls-key go together", param_hint="'--tls-cert' / '--tls-key'")
    from chancery.web import tls  # loaded only when serving HTTPS

    try:
        tls.server_context(cert, key, client_ca)  # fail here, with the reason, rather than in uvicorn
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        files = ", ".join(str(path) for path in (cert, key, client_ca) if path is not None)
        raise typer.BadParameter(f"cannot serve HTTPS with {files}: {exc}") from None
    return {**tls.ssl_options(cert, key, client_ca), "http": tls.HttpToolsTLSProtocol}


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
