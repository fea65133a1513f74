"""DESIGN.md invariant 1 under `kill -9`: every certificate a client received is in the database."""

import threading
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from tests.interop.conftest import Cli, openssl_csr
from tests.interop.server import Server

pytestmark = [pytest.mark.interop, pytest.mark.slow]
CLIENTS = 8
KILL_AFTER = 300


def test_kill_9_during_bulk_issuance_loses_nothing_handed_out(cli: Cli, tmp_path: Path) -> None:
    cli.hierarchy("ec-p256", "--admin-token-out", str(tmp_path / "token"))
    headers = {"Authorization": f"Bearer {(tmp_path / 'token').read_text().strip()}"}
    csr = openssl_csr(tmp_path, "leaf").read_text()

    server = Server(cli).start()
    received: list[tuple[str, str]] = []
    lock = threading.Lock()
    enough = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
            while True:
                try:
                    response = http.post("/api/v1/cas/issuing/certificates", json={"csr": csr, "profile": "tls-server"})
                except httpx.TransportError:
                    return  # the server died under us
                assert response.status_code == 201, response.text
                with lock:
                    received.append((response.json()["serial_number"], response.json()["certificate"]))
                    if len(received) >= KILL_AFTER:
                        enough.set()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        assert enough.wait(120), "clients did not get enough certificates"
        server.kill()
        for thread in threads:
            thread.join(30)
    finally:
        server.stop()

    assert len(received) >= KILL_AFTER
    restarted = Server(cli).start()
    try:
        with httpx.Client(base_url=restarted.url, headers=headers, timeout=10) as http:
            for serial, pem in received:
                response = http.get(f"/api/v1/cas/issuing/certificates/{serial}?format=der")
                assert response.status_code == 200, f"certificate {serial} was handed out but is not stored"
                assert x509.load_der_x509_certificate(response.content) == x509.load_pem_x509_certificate(pem.encode())
            stored = http.get("/api/v1/cas/issuing/certificates?status=valid&limit=500").json()
            assert stored["items"]
    finally:
        restarted.stop()
