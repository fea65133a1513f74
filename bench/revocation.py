"""Revocation benchmarks, one run, on this machine (`make bench-revocation`).

OCSP: responses/s of `chancery serve` pinned to one core under wrk on the other,
for a request without nonce (answered from the pre-signed cache) and with a nonce
(signed live); beside `openssl ocsp -index` (one process, same core, same load) and
raw pyca/cryptography building and signing the same response (no HTTP).

CRLs: time and peak memory (RSS of the process) to make a full CRL with 10k, 100k
and 1M revoked entries: Chancery (from its database), pyca/cryptography's builder
given the whole list at once, and `openssl ca -gencrl` from an index file.

Visibility: with 1M certificates already revoked, how long from a revocation to
OCSP answering "revoked", and how long the next delta and full CRL take.

`--quick` skips the million-entry runs. `--json` prints one JSON document.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
sys.path.insert(0, str(HERE))
from common import (  # noqa: E402
    LOAD_CORE,
    SERVER_CORE,
    chancery,
    chancery_env,
    chancery_hierarchy,
    openssl,
    openssl_ca,
    openssl_csr,
    serve,
    wrk,
)

# -- helpers ---------------------------------------------------------------------------------


def run_measured(command: list[str], **kwargs: object) -> tuple[float, str, str]:
    """Run ``command`` pinned to the server core; (seconds, stdout, stderr)."""
    started = time.perf_counter()
    completed = subprocess.run(["taskset", "-c", SERVER_CORE, *command], capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    elapsed = time.perf_counter() - started
    if completed.returncode:
        raise RuntimeError(f"{command[0]} failed: {completed.stderr[-500:]}")
    return elapsed, completed.stdout, completed.stderr


def timed(command: list[str], **kwargs: object) -> tuple[float, int, str]:
    """Elapsed seconds, peak RSS in MiB (GNU time) and stdout of one command on the server core."""
    elapsed, stdout, stderr = run_measured(["/usr/bin/time", "-f", "PEAK_KB=%M", *command], **kwargs)
    match = re.search(r"PEAK_KB=(\d+)", stderr)
    return elapsed, int(match.group(1)) // 1024 if match else -1, stdout


def ab(url: str, body: Path, requests: int, keep_alive: bool, concurrency: int = 32) -> float:
    """ApacheBench on the load core: one request per connection unless ``keep_alive``."""
    options = ["-q", "-l", "-r", "-n", str(requests), "-c", str(concurrency), "-p", str(body)]
    command = ["taskset", "-c", LOAD_CORE, "ab", *options, "-T", "application/ocsp-request"]
    if keep_alive:
        command.append("-k")
    completed = subprocess.run([*command, url], capture_output=True, text=True)
    if completed.returncode:
        raise RuntimeError(f"ab failed ({completed.returncode}): {completed.stderr[-300:]} {completed.stdout[-300:]}")
    failed = int(re.search(r"Failed requests:\s+(\d+)", completed.stdout).group(1))  # type: ignore[union-attr]
    if failed:
        raise RuntimeError(f"{failed} OCSP requests failed")
    return float(re.search(r"Requests per second:\s+([\d.]+)", completed.stdout).group(1))  # type: ignore[union-attr]


def post_script(path: Path, body: bytes) -> Path:
    escaped = "".join(f"\\{b}" for b in body)
    path.write_text(
        f'wrk.method = "POST"\nwrk.body = "{escaped}"\nwrk.headers["Content-Type"] = "application/ocsp-request"\n'
    )
    return path


# -- OCSP --------------------------------------------------------------------------------------


def ocsp_chancery(work: Path, seconds: int, port: int = 8771) -> dict[str, float]:
    env = chancery_env(work / "data", CHANCERY_BASE_URL=f"http://127.0.0.1:{port}")
    chancery_hierarchy(env)
    chancery(
        env, "cert", "issue", "--ca", "issuing", "--csr", str(openssl_csr(work, "leaf")), "--out", "leaf.pem", cwd=work
    )
    chancery(env, "ca", "export", "issuing", "--out", "ca.pem", cwd=work)
    openssl("ocsp", "-issuer", "ca.pem", "-cert", "leaf.pem", "-no_nonce", "-reqout", "plain.der", cwd=work)
    openssl("ocsp", "-issuer", "ca.pem", "-cert", "leaf.pem", "-reqout", "nonce.der", cwd=work)
    server = serve(env, port, cwd=work)
    try:
        url = f"http://127.0.0.1:{port}/ocsp"
        plain = post_script(work / "plain.lua", (work / "plain.der").read_bytes())
        nonce = post_script(work / "nonce.lua", (work / "nonce.der").read_bytes())
        wrk(url, plain, 2)
        presigned = wrk(url, plain, seconds)[0]
        wrk(url, nonce, 2)
        live = wrk(url, nonce, seconds)[0]
        # the way openssl ocsp must be driven (a new connection per request), for a like-for-like figure
        presigned_ab = ab(url, work / "plain.der", 20_000, keep_alive=False)
        live_ab = ab(url, work / "nonce.der", 10_000, keep_alive=False)
    finally:
        server.terminate()
        server.wait(30)
    return {
        "presigned_per_s": presigned,
        "nonce_per_s": live,
        "presigned_new_connection_per_s": presigned_ab,
        "nonce_new_connection_per_s": live_ab,
    }


def ocsp_openssl(work: Path, seconds: int, port: int = 8772) -> dict[str, float]:
    openssl_ca(work)
    openssl_csr(work, "leaf", "leaf")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "10",
            "-out", "leaf.pem", cwd=work)  # fmt: skip
    serial = openssl("x509", "-in", "leaf.pem", "-noout", "-serial", cwd=work).strip().split("=")[1]
    expiry = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=10)).strftime("%y%m%d%H%M%SZ")
    (work / "index.txt").write_text(f"V\t{expiry}\t\t{serial}\tunknown\t/CN=leaf\n")
    openssl("ocsp", "-issuer", "ca.pem", "-cert", "leaf.pem", "-no_nonce", "-reqout", "plain.der", cwd=work)
    openssl("ocsp", "-issuer", "ca.pem", "-cert", "leaf.pem", "-reqout", "nonce.der", cwd=work)
    responder = ["openssl", "ocsp", "-index", "index.txt", "-port", str(port), "-timeout", "5"]
    signer = ["-rsigner", "ca.pem", "-rkey", "ca.key", "-CA", "ca.pem", "-nmin", "60"]
    log = (work / "openssl-ocsp.log").open("w")
    server = subprocess.Popen(["taskset", "-c", SERVER_CORE, *responder, *signer], cwd=work, stdout=log, stderr=log)
    try:
        # a probe connection would occupy the one-at-a-time responder: wait for its banner instead
        deadline = time.monotonic() + 30
        while "waiting for OCSP client connections" not in (work / "openssl-ocsp.log").read_text():
            if time.monotonic() > deadline:
                raise RuntimeError("openssl ocsp did not start")
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/"
        # openssl ocsp answers one request per connection (HTTP/1.0): ApacheBench, not wrk, can drive it
        ab(url, work / "plain.der", 500, keep_alive=False)  # warm-up
        plain = ab(url, work / "plain.der", 20_000, keep_alive=False)
        nonce = ab(url, work / "nonce.der", 10_000, keep_alive=False)
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    return {"plain_per_s": plain, "nonce_per_s": nonce}


_PYCA_OCSP = """
import datetime as dt, json, time
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "raw")])
now = dt.datetime.now(dt.timezone.utc)
ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(1)
      .not_valid_before(now).not_valid_after(now + dt.timedelta(days=9))
      .add_extension(x509.BasicConstraints(True, None), True).sign(key, hashes.SHA256()))
def answer():
    builder = (ocsp.OCSPResponseBuilder()
        .add_response(ca, ca, hashes.SHA1(), ocsp.OCSPCertStatus.GOOD, now, now + dt.timedelta(days=1), None, None)
        .responder_id(ocsp.OCSPResponderEncoding.HASH, ca)
        .add_extension(x509.OCSPNonce(b"0123456789abcdef"), False))
    return builder.sign(key, hashes.SHA256())
for _ in range(300): answer()
count, start = 0, time.perf_counter()
while time.perf_counter() - start < SECONDS:
    answer(); count += 1
print(json.dumps({"per_s": count / (time.perf_counter() - start)}))
"""


def ocsp_pyca(seconds: int) -> float:
    _, out, _ = run_measured([PYTHON, "-c", _PYCA_OCSP.replace("SECONDS", str(seconds))])
    return float(json.loads(out)["per_s"])


# -- CRLs --------------------------------------------------------------------------------------

_CHANCERY_CRL = """
import json, sys, time
from chancery import wiring
from chancery.domain.principals import local_operator
from chancery.settings import load_settings
app = wiring.build(load_settings({}, data_dir=sys.argv[1]), b"benchmark passphrase")
app.keys.unlock(); app.hierarchy.list(local_operator("bench"))
start = time.perf_counter()
published = app.crls.publish(local_operator("bench"), "issuing")
print(json.dumps({"seconds": time.perf_counter() - start, "bytes": len(published.full.der)}))
app.close()
"""

_PYCA_CRL = """
import datetime as dt, json, os, sys, time
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
count = int(sys.argv[1])
key = ec.generate_private_key(ec.SECP256R1())
now = dt.datetime.now(dt.timezone.utc)
start = time.perf_counter()
revoked = [x509.RevokedCertificateBuilder().serial_number(int.from_bytes(os.urandom(16), "big") >> 1)
           .revocation_date(now).add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), False).build()
           for _ in range(count)]
builder = x509.CertificateRevocationListBuilder(
    issuer_name=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pyca")]), last_update=now,
    next_update=now + dt.timedelta(days=7), extensions=[], revoked_certificates=revoked)
der = builder.sign(key, hashes.SHA256()).public_bytes(Encoding.DER)
print(json.dumps({"seconds": time.perf_counter() - start, "bytes": len(der)}))
"""


def crl_chancery(work: Path, count: int) -> dict[str, float]:
    data = work / f"chancery-{count}"
    subprocess.run([PYTHON, str(HERE / "revocation_setup.py"), str(data), str(count)], check=True)
    _, peak, out = timed([PYTHON, "-c", _CHANCERY_CRL, str(data)])
    return {**json.loads(out), "peak_mib": peak, "data_dir": str(data)}


def crl_pyca(count: int) -> dict[str, float]:
    _, peak, out = timed([PYTHON, "-c", _PYCA_CRL, str(count)])
    return {**json.loads(out), "peak_mib": peak}


def crl_openssl(work: Path, count: int) -> dict[str, float]:
    folder = work / f"openssl-{count}"
    folder.mkdir()
    openssl_ca(folder)
    expiry = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=300)).strftime("%y%m%d%H%M%SZ")
    revoked_at = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).strftime("%y%m%d%H%M%SZ")
    with (folder / "index.txt").open("w") as index:
        for _ in range(count):
            serial = format(int.from_bytes(os.urandom(16), "big") >> 1, "032X")
            index.write(f"R\t{expiry}\t{revoked_at},keyCompromise\t{serial}\tunknown\t/CN=x{serial}\n")
    (folder / "crlnumber").write_text("1000\n")
    (folder / "openssl.cnf").write_text(
        "[ca]\ndefault_ca = bench\n[bench]\ndatabase = index.txt\ncrlnumber = crlnumber\ncertificate = ca.pem\n"
        "private_key = ca.key\ndefault_md = sha256\ndefault_crl_days = 7\nunique_subject = no\n"
    )
    seconds, peak, _ = timed(["openssl", "ca", "-config", "openssl.cnf", "-gencrl", "-out", "crl.pem"], cwd=folder)
    return {"seconds": seconds, "peak_mib": peak, "bytes": (folder / "crl.pem").stat().st_size}


_VISIBILITY = """
import json, sys, time
from chancery import wiring
from chancery.domain.principals import local_operator
from chancery.domain.revocation import RevocationReason
from chancery.domain.revocation_records import CrlScope
from chancery.domain.serials import SerialNumber
from chancery.pki.ocsp import make_cert_id
from chancery.pki import der
from chancery.services.authority.issuance import IssueFromCsr
from chancery.services.certificates import RevokeRequest
from chancery.settings import load_settings
from cryptography import x509
from cryptography.x509 import ocsp
app = wiring.build(load_settings({}, data_dir=sys.argv[1]), b"benchmark passphrase")
op = local_operator("bench")
app.crls.publish(op, "issuing")
issued = app.issuance.issue_from_csr(op, IssueFromCsr("issuing", "tls-server", open(sys.argv[2], "rb").read()))
request = der.sequence(der.sequence(der.sequence(der.sequence(make_cert_id(issued.chain[0], issued.certificate.serial_number)))))
assert ocsp.load_der_ocsp_response(app.ocsp.answer(request).der).certificate_status is ocsp.OCSPCertStatus.GOOD
start = time.perf_counter()
app.certificates.revoke(op, RevokeRequest("issuing", SerialNumber(issued.certificate.serial_number), RevocationReason.keyCompromise))
status = ocsp.load_der_ocsp_response(app.ocsp.answer(request).der).certificate_status
ocsp_ms = (time.perf_counter() - start) * 1000
assert status is ocsp.OCSPCertStatus.REVOKED
start = time.perf_counter()
delta = app.crls.current("issuing", CrlScope.DELTA)
delta_s = time.perf_counter() - start
assert x509.load_der_x509_crl(delta.der).get_revoked_certificate_by_serial_number(issued.certificate.serial_number)
start = time.perf_counter()
full = app.crls.publish(op, "issuing").full
full_s = time.perf_counter() - start
assert x509.load_der_x509_crl(full.der).get_revoked_certificate_by_serial_number(issued.certificate.serial_number)
print(json.dumps({"ocsp_ms": ocsp_ms, "delta_crl_s": delta_s, "full_crl_s": full_s}))
app.close()
"""


def visibility(work: Path, data_dir: str) -> dict[str, float]:
    openssl_csr(work, "v", "v.example.com")
    _, out, _ = run_measured([PYTHON, "-c", _VISIBILITY, data_dir, str(work / "v.csr")])
    return json.loads(out)  # type: ignore[no-any-return]


# -- report ------------------------------------------------------------------------------------


def main() -> None:
    quick = "--quick" in sys.argv
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs it")
    seconds = 5 if quick else 10
    sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    with tempfile.TemporaryDirectory(prefix="chancery-revocation-bench-") as tmp:
        work = Path(tmp)
        for name in ("chancery-ocsp", "openssl-ocsp"):
            (work / name).mkdir()
        result: dict[str, object] = {
            "ocsp": {
                "chancery": ocsp_chancery(work / "chancery-ocsp", seconds),
                "openssl": ocsp_openssl(work / "openssl-ocsp", seconds),
                "pyca_live_per_s": ocsp_pyca(seconds),
            }
        }
        crls = {}
        for count in sizes:
            crls[count] = {
                "chancery": crl_chancery(work, count),
                "pyca": crl_pyca(count),
                "openssl": crl_openssl(work, count),
            }
        result["crl"] = crls
        result["visibility"] = visibility(work, str(crls[sizes[-1]]["chancery"]["data_dir"]))
        result["visibility"]["revoked_already"] = sizes[-1]  # type: ignore[index]
    if "--json" in sys.argv:
        print(json.dumps(result, indent=2, default=str))
        return
    report(result)


def report(result: dict[str, object]) -> None:
    ocsp = result["ocsp"]  # type: ignore[assignment]
    ours, peer = ocsp["chancery"], ocsp["openssl"]  # type: ignore[index]
    print("OCSP, server on one core, load generator on the other, 32 concurrent clients")
    print("                                   keep-alive (wrk)   new connection per request (ab)")
    for label, kept, fresh, theirs in (
        ("pre-signed (no nonce)", "presigned_per_s", "presigned_new_connection_per_s", "plain_per_s"),
        ("live-signed (nonce)  ", "nonce_per_s", "nonce_new_connection_per_s", "nonce_per_s"),
    ):
        print(
            f"  Chancery {label}   {ours[kept]:9.0f} /s      {ours[fresh]:9.0f} /s = {ours[fresh] / peer[theirs]:.1f}x openssl"
        )
    print(f"  openssl ocsp -index (no nonce)            -          {peer['plain_per_s']:9.0f} /s")
    print(f"  openssl ocsp -index (nonce)               -          {peer['nonce_per_s']:9.0f} /s")
    print(f"  raw pyca/cryptography build+sign  {ocsp['pyca_live_per_s']:9.0f} /s (live, no HTTP)")  # type: ignore[index]
    print("CRL generation (full CRL, P-256 CA), seconds / peak RSS of the process")
    for count, runs in result["crl"].items():  # type: ignore[attr-defined]
        cells = "   ".join(f"{who} {r['seconds']:6.2f} s {r['peak_mib']:5d} MiB" for who, r in runs.items())
        print(f"  {count:>9,} entries: {cells}")
    seen = result["visibility"]  # type: ignore[assignment]
    print(f"Revocation visible, {seen['revoked_already']:,} already revoked:")  # type: ignore[index]
    print(f"  OCSP answers revoked {seen['ocsp_ms']:.1f} ms after the revoke call began")  # type: ignore[index]
    print(f"  next delta CRL made in {seen['delta_crl_s'] * 1000:.0f} ms, next full CRL in {seen['full_crl_s']:.2f} s")  # type: ignore[index]


if __name__ == "__main__":
    main()
