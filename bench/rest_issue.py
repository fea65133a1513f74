"""Benchmark (b): end-to-end REST issuance, every certificate durable before its response.

A fresh data directory on SQLite (WAL, synchronous=FULL: each commit is fsync'd
before it returns), a P-256 root and issuing CA, `chancery serve` pinned to one
core and wrk pinned to the other, POSTing a CSR to /api/v1/cas/issuing/certificates.
Afterwards every 201 the load generator counted is checked against the database.
``lint`` sets the tls-server profile's lint mode first (every, sampled or off);
by default the profile is used as shipped (sampled, 1%).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import chancery, chancery_env, chancery_hierarchy, cpu_seconds, serve, wrk  # noqa: E402


def csr_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "www.example.com")]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("www.example.com")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def set_lint_mode(env: dict[str, str], work: Path, mode: str) -> None:
    """Edit the tls-server profile's lint mode the way an operator would (export, edit, import)."""
    import yaml

    document = yaml.safe_load(chancery(env, "profile", "export", "tls-server"))
    document["lint"]["mode"] = mode
    path = work / "tls-server.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    chancery(env, "profile", "import", str(path), "--comment", f"benchmark: lint {mode}")


def run(seconds: int = 15, connections: int = 32, port: int = 8761, lint: str | None = None) -> dict[str, float]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs it (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="chancery-bench-"))
    env = chancery_env(work / "data")
    server = None
    try:
        chancery_hierarchy(env, "--admin-token-out", str(work / "token"))
        token = (work / "token").read_text().strip()
        if lint is not None:
            set_lint_mode(env, work, lint)
        body = json.dumps({"csr": csr_pem(), "profile": "tls-server"})
        script = work / "post.lua"
        script.write_text(
            f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
            f'wrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer {token}"\n'
        )
        server = serve(env, port)
        url = f"http://127.0.0.1:{port}/api/v1/cas/issuing/certificates"
        wrk(url, script, 3)  # warm-up
        cpu_before = cpu_seconds(server.pid)  # taskset execs the server in place: this pid is the server
        rate, total, errors = wrk(url, script, seconds, connections)
        cpu_used = cpu_seconds(server.pid) - cpu_before
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


if __name__ == "__main__":
    result = run(seconds=int(sys.argv[1]) if len(sys.argv) > 1 else 15, lint=sys.argv[2] if len(sys.argv) > 2 else None)
    print(
        f"REST issuance, durable (SQLite WAL, synchronous=FULL), 1 core: {result['rest_per_s']:.0f} certificates/s "
        f"({result['requests']} answered, {result['stored']} stored, {result['connections']} connections); "
        f"{result['cpu_us_per_certificate']:.0f} CPU-us per certificate, server core {result['cpu_busy']:.0%} busy"
    )
