"""Benchmark (b): end-to-end REST issuance, every certificate durable before its response.

A fresh data directory on SQLite (WAL, synchronous=FULL: each commit is fsync'd
before it returns), a P-256 root and issuing CA, `chancery serve` pinned to one
core and wrk pinned to the other, POSTing a CSR to /api/v1/cas/issuing/certificates.
Afterwards every 201 the load generator counted is checked against the database.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SERVER_CORE, LOAD_CORE = "0", "1"
PASSPHRASE = "benchmark passphrase"


def _csr_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "www.example.com")]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("www.example.com")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def _chancery(env: dict[str, str], *args: str) -> str:
    exe = str(Path(sys.executable).with_name("chancery"))
    return subprocess.run([exe, *args], env=env, check=True, capture_output=True, text=True).stdout


def _wait(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def _wrk(url: str, script: Path, connections: int, seconds: int) -> tuple[float, int, int]:
    out = subprocess.run(
        ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, total, int(errors.group(1)) if errors else 0


def run(seconds: int = 15, connections: int = 32, port: int = 8761) -> dict[str, float]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs it (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="chancery-bench-"))
    env = {**os.environ, "CHANCERY_DATA_DIR": str(work / "data"), "CHANCERY_KEY_PASSPHRASE": PASSPHRASE}
    env.pop("CHANCERY_DATABASE_URL", None)
    server = None
    try:
        _chancery(env, "init", "--admin-token-out", str(work / "token"))
        _chancery(env, "ca", "create-root", "root", "--subject", "CN=Bench Root", "--key-type", "ec-p256")
        _chancery(
            env,
            "ca",
            "create-intermediate",
            "issuing",
            "--parent",
            "root",
            "--subject",
            "CN=Bench Issuing",
            "--key-type",
            "ec-p256",
        )
        token = (work / "token").read_text().strip()
        body = json.dumps({"csr": _csr_pem(), "profile": "tls-server"})
        script = work / "post.lua"
        script.write_text(
            f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
            f'wrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer {token}"\n'
        )
        exe = str(Path(sys.executable).with_name("chancery"))
        server = subprocess.Popen(
            ["taskset", "-c", SERVER_CORE, exe, "serve", "--port", str(port), "--no-access-log"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        _wait(f"{base}/health")
        url = f"{base}/api/v1/cas/issuing/certificates"
        _wrk(url, script, connections, 3)  # warm-up
        cpu_before = _cpu_seconds(server.pid)
        rate, total, errors = _wrk(url, script, connections, seconds)
        cpu_used = _cpu_seconds(server.pid) - cpu_before
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
    with sqlite3.connect(work / "data" / "chancery.db") as db:
        stored = db.execute("SELECT count(*) FROM certificates WHERE ca_name='issuing' AND state='issued'").fetchone()[
            0
        ]
    shutil.rmtree(work, ignore_errors=True)
    if errors:
        raise SystemExit(f"{errors} requests failed")
    if stored < total:
        raise SystemExit(f"only {stored} of {total} answered certificates are stored")
    return {
        "rest_per_s": rate,
        "requests": total,
        "stored": stored,
        "connections": connections,
        "cpu_us_per_certificate": cpu_used / total * 1e6,
        "cpu_busy": cpu_used / seconds,
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of the server and its threads (taskset execs it in place, so the pid is the server)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    result = run(seconds=int(sys.argv[1]) if len(sys.argv) > 1 else 15)
    print(
        f"REST issuance, durable (SQLite WAL, synchronous=FULL), 1 core: {result['rest_per_s']:.0f} certificates/s "
        f"({result['requests']} answered, {result['stored']} stored, {result['connections']} connections); "
        f"{result['cpu_us_per_certificate']:.0f} CPU-us per certificate, server core {result['cpu_busy']:.0%} busy"
    )
