"""Benchmark: SCEP enrollments per second over HTTP (PKCSReq, RSA-2048 client and CA keys).

Chancery (``chancery serve`` on SQLite, an RSA-2048 root and issuing CA, an RA that needs no
approval, one-time challenges) against micromdm's ``scepserver`` (Debian ``scep``: an
RSA-2048 CA, a static challenge), each pinned to one core while the load generator runs on
the other. Every message is built before the clock starts (fresh senderNonce and
transactionID; Chancery's each carries its own challenge), then POSTed by concurrent
keep-alive clients; a SUCCESS CertRep is one enrollment. Afterwards every answer is checked.

    python bench/scep.py [ENROLLMENTS] [CONCURRENCY]
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import AttributeOID, NameOID

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from common import LOAD_CORE, SERVER_CORE, chancery, chancery_env, serve, wait_for  # noqa: E402

from chancery.pki.scep import (  # noqa: E402
    ClientRequest,
    MessageType,
    PkiStatus,
    build_pki_message,
    certificates_in,
    parse_cert_rep,
    transient_certificate,
)

KEYS = 16  # device keys, reused across messages (each message has its own subject, transactionID and nonce;
# micromdm refuses a second certificate for a subject it has issued to)
PKI = {"Content-Type": "application/x-pki-message"}


def device_keys() -> list[tuple[rsa.RSAPrivateKey, x509.Certificate]]:
    now = dt.datetime.now(dt.UTC)
    keys = []
    for i in range(KEYS):
        key = rsa.generate_private_key(65537, 2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"bench-device-{i}")])
        keys.append((key, transient_certificate(key, name, now)))
    return keys


def messages(recipient: x509.Certificate, challenges: list[str], tag: str) -> list[bytes]:
    built = []
    keys = device_keys()
    for i, challenge in enumerate(challenges):
        key, certificate = keys[i % KEYS]
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{tag}-device-{i}")]))
            .add_attribute(AttributeOID.CHALLENGE_PASSWORD, challenge.encode())
            .sign(key, hashes.SHA256())
        )
        request = ClientRequest(
            message_type=MessageType.PKCS_REQ,
            content=csr.public_bytes(Encoding.DER),
            signer_key=key,
            signer_certificate=certificate,
            recipient=recipient,
            transaction_id=hashlib.sha256(f"{tag}-{i}".encode()).hexdigest(),
        )
        built.append(build_pki_message(request))
    return built


def post_all(url: str, bodies: list[bytes], concurrency: int) -> tuple[float, list[bytes]]:
    """POST every body with ``concurrency`` keep-alive clients; (seconds, answers in order)."""
    answers: list[bytes] = [b""] * len(bodies)
    cursor = iter(range(len(bodies)))
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(timeout=60) as client:
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                response = client.post(url, content=bodies[index], headers=PKI)
                answers[index] = response.content if response.status_code == 200 else b""

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, answers


def successes(answers: list[bytes]) -> int:
    good = 0
    for answer in answers:
        if answer and parse_cert_rep(answer).status is PkiStatus.SUCCESS:
            good += 1
    return good


def ra_certificate(url: str) -> x509.Certificate:
    """The certificate to encrypt to: the one with an RSA key that is not a CA (else the CA)."""
    body = httpx.get(url, params={"operation": "GetCACert"}).content
    try:
        certificates = certificates_in(body)
    except Exception:  # noqa: BLE001 - a single DER certificate (no RA)
        return x509.load_der_x509_certificate(body)
    for certificate in certificates:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        if isinstance(certificate.public_key(), rsa.RSAPublicKey) and not constraints.ca:
            return certificate
    return certificates[0]


def run_chancery(work: Path, count: int, concurrency: int, port: int = 8771) -> tuple[float, int]:
    env = chancery_env(work / "chancery")
    chancery(env, "init")
    chancery(env, "ca", "create-root", "root", "--subject", "CN=Bench Root", "--key-type", "rsa-2048")
    chancery(env, "ca", "create-intermediate", "issuing", "--parent", "root", "--subject", "CN=Bench Issuing",
             "--key-type", "rsa-2048")  # fmt: skip
    chancery(env, "ra", "create", "devices", "--ca", "issuing", "--profile", "device", "--approvals", "0")
    chancery(env, "scep", "configure", "--ra", "devices")
    warm = 50
    challenges = chancery(env, "scep", "challenge", "create", "--ra", "devices", "--count", str(count + warm)).split()
    server = serve(env, port)
    try:
        url = f"http://127.0.0.1:{port}/scep"
        bodies = messages(ra_certificate(url), challenges, "chancery")
        post_all(url + "?operation=PKIOperation", bodies[:warm], concurrency)
        seconds, answers = post_all(url + "?operation=PKIOperation", bodies[warm:], concurrency)
    finally:
        server.terminate()
        server.wait(30)
    return count / seconds, successes(answers)


def run_micromdm(work: Path, count: int, concurrency: int, port: int = 8772) -> tuple[float, int]:
    depot = work / "depot"
    subprocess.run(["scepserver", "ca", "-init", "-depot", str(depot), "-keySize", "2048"], check=True,
                   capture_output=True, cwd=work)  # fmt: skip
    server = subprocess.Popen(["taskset", "-c", SERVER_CORE, "scepserver", "-depot", str(depot), "-port", str(port),
                               "-challenge", "bench-secret"], cwd=work, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(port)
        url = f"http://127.0.0.1:{port}/scep"
        warm = 50
        bodies = messages(ra_certificate(url), ["bench-secret"] * (count + warm), "micromdm")
        post_all(url + "?operation=PKIOperation", bodies[:warm], concurrency)
        seconds, answers = post_all(url + "?operation=PKIOperation", bodies[warm:], concurrency)
    finally:
        server.terminate()
        server.wait(30)
    return count / seconds, successes(answers)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    if shutil.which("scepserver") is None:
        raise SystemExit("scepserver is missing: apt-get install scep")
    os.sched_setaffinity(0, {int(LOAD_CORE)})  # the load generator stays off the server's core
    work = Path(tempfile.mkdtemp(prefix="chancery-bench-scep-"))
    try:
        micromdm_rate, micromdm_ok = run_micromdm(work, count, concurrency)
        chancery_rate, chancery_ok = run_chancery(work, count, concurrency)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"SCEP PKCSReq enrollments over HTTP, RSA-2048 client and CA, {count} each, {concurrency} clients")
    print(f"{'server':<24}{'enrollments/s':>15}{'SUCCESS':>10}")
    print(f"{'micromdm scepserver':<24}{micromdm_rate:>15.0f}{micromdm_ok:>10}")
    print(f"{'Chancery':<24}{chancery_rate:>15.0f}{chancery_ok:>10}")
    print(f"Chancery / micromdm: {chancery_rate / micromdm_rate:.2f}")


if __name__ == "__main__":
    main()
