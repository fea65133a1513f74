"""Benchmark: complete ACME orders/s (RFC 8555) from Chancery beside Pebble, in the same run.

One order is the whole flow a client such as certbot drives: newOrder -> read the authorization ->
answer its http-01 challenge (the bench's own responder serves the key authorization) -> poll until
the authorization is valid -> finalize with a fresh P-256 CSR -> poll until the order is valid ->
download the certificate chain. Each order names its own DNS identifier, so no authorization is
reused; each certificate's name is checked. The same client (a small ES256 JWS client over httpx,
below) drives both servers with the same concurrency, the same number of orders, a warm-up first,
and polls both every POLL seconds (Retry-After is ignored alike, so the servers' hints don't decide).

Chancery: `chancery serve` over HTTPS on SQLite (WAL, synchronous=FULL), a P-256 root and issuing CA,
RA ``bench`` (tls-server, no approval), directory ``bench`` (http-01, limits raised),
CHANCERY_ACME_VALIDATION_HOST=127.0.0.1 and CHANCERY_ACME_HTTP01_PORT at the responder.
Pebble (Debian's): the same TLS certificate, httpPort at the responder, PEBBLE_VA_NOSLEEP=1,
PEBBLE_WFE_NONCEREJECT=0 (no made-up badNonce), PEBBLE_AUTHZREUSE=0, and names resolved to
127.0.0.1 by `pebble-challtestsrv` as its DNS server. Servers run on core 0; the client, the
responder and pebble-challtestsrv on core 1. The measured orders run in alternating chunks
(Chancery, Pebble, Chancery, ...) so drift in the machine's speed affects both alike.

    python bench/acme.py [--orders 240] [--concurrency 8] [--warmup 24] [--chunks 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import hashlib
import ipaddress
import json
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    CHANCERY,
    LOAD_CORE,
    SERVER_CORE,
    chancery,
    chancery_env,
    chancery_hierarchy,
    cpu_seconds,
    wait_for,  # noqa: E402
)

JOSE = "application/jose+json"
PHASES = ("order", "validation", "finalize", "download")  # newOrder + authz; challenge to valid; CSR to valid; chain
POLL = 0.02  # seconds between polls of a pending authorization or a processing order, for both servers


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- TLS for both listeners -------------------------------------------------------------------


def tls_files(folder: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1: (ca.pem, server.pem, server.key)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench TLS CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    server = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = folder / "tls-ca.pem", folder / "tls.pem", folder / "tls.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


# -- the http-01 responder (on the client's event loop) -----------------------------------------


class Responder:
    """Answers GET /.well-known/acme-challenge/TOKEN with the key authorization it was given."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode("ascii", "replace")
            body = self.tokens.get(path.rsplit("/", 1)[-1], "").encode()
            status = b"200 OK" if body else b"404 Not Found"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, IndexError, ConnectionError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()


# -- one small ACME client for both servers ---------------------------------------------------


@dataclass
class Account:
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    kid: str | None = None

    @property
    def jwk(self) -> dict[str, str]:
        numbers = self.key.public_key().public_numbers()
        x, y = (b64(n.to_bytes(32, "big")) for n in (numbers.x, numbers.y))
        return {"crv": "P-256", "kty": "EC", "x": x, "y": y}

    @property
    def thumbprint(self) -> str:  # RFC 7638
        return b64(hashlib.sha256(json.dumps(self.jwk, separators=(",", ":"), sort_keys=True).encode()).digest())

    def sign(self, header: dict[str, Any], payload: Any) -> bytes:
        protected = b64(json.dumps(header).encode())
        encoded = "" if payload is None else b64(json.dumps(payload).encode())
        r, s = decode_dss_signature(self.key.sign(f"{protected}.{encoded}".encode(), ec.ECDSA(hashes.SHA256())))
        signature = b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        return json.dumps({"protected": protected, "payload": encoded, "signature": signature}).encode()


class OrderFailed(Exception):
    pass


class Client:
    """JWS over httpx (RFC 8555 §6.2): ES256, a pool of the nonces the server handed out."""

    def __init__(self, http: httpx.AsyncClient, directory: dict[str, Any]) -> None:
        self.http = http
        self.directory = directory
        self.nonces: list[str] = []
        self.phases: dict[str, float] = dict.fromkeys(PHASES, 0.0)  # seconds spent, summed over orders
        self.requests = 0

    async def post(self, account: Account, url: str, payload: Any) -> httpx.Response:
        for _ in range(5):
            nonce = self.nonces.pop() if self.nonces else await self._fresh_nonce()
            header: dict[str, Any] = {"alg": "ES256", "nonce": nonce, "url": url}
            header.update({"kid": account.kid} if account.kid else {"jwk": account.jwk})
            response = await self.http.post(url, content=account.sign(header, payload), headers={"Content-Type": JOSE})
            self.requests += 1
            if "Replay-Nonce" in response.headers:
                self.nonces.append(response.headers["Replay-Nonce"])
            if response.status_code < 400:
                return response
            if "badNonce" not in response.text:
                raise OrderFailed(f"{url}: {response.status_code} {response.text[:300]}")
        raise OrderFailed(f"{url}: badNonce five times")

    async def _fresh_nonce(self) -> str:
        return (await self.http.head(self.directory["newNonce"])).headers["Replay-Nonce"]

    async def register(self) -> Account:
        account = Account()
        response = await self.post(account, self.directory["newAccount"], {"termsOfServiceAgreed": True})
        account.kid = response.headers["Location"]
        return account

    async def order(self, account: Account, name: str, responder: Responder) -> x509.Certificate:
        """The whole flow for one DNS name; the certificate, checked to name it."""
        clock = time.perf_counter()

        def lap(phase: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            self.phases[phase] += now - clock
            clock = now

        created = await self.post(
            account, self.directory["newOrder"], {"identifiers": [{"type": "dns", "value": name}]}
        )
        order_url, order = created.headers["Location"], created.json()
        authz_url = order["authorizations"][0]
        authz = (await self.post(account, authz_url, None)).json()
        lap("order")
        challenge = next(c for c in authz["challenges"] if c["type"] == "http-01")
        responder.tokens[challenge["token"]] = f"{challenge['token']}.{account.thumbprint}"
        try:
            await self.post(account, challenge["url"], {})
            while authz["status"] in ("pending", "processing"):
                await asyncio.sleep(POLL)
                authz = (await self.post(account, authz_url, None)).json()
        finally:
            del responder.tokens[challenge["token"]]
        if authz["status"] != "valid":
            raise OrderFailed(f"{name}: authorization {authz['status']}: {authz}")
        lap("validation")
        order = (await self.post(account, order["finalize"], {"csr": b64(csr_der(name))})).json()
        while order["status"] in ("ready", "processing"):
            await asyncio.sleep(POLL)
            order = (await self.post(account, order_url, None)).json()
        if order["status"] != "valid" or "certificate" not in order:
            raise OrderFailed(f"{name}: order {order['status']}: {order}")
        lap("finalize")
        chain = (await self.post(account, order["certificate"], None)).content
        lap("download")
        certificate = x509.load_pem_x509_certificates(chain)[0]
        sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        if sans.get_values_for_type(x509.DNSName) != [name]:
            raise OrderFailed(f"{name}: the certificate names {sans}")
        return certificate


def csr_der(name: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.DER)


@dataclass
class Peer:
    """A running ACME server as the bench drives it."""

    label: str
    directory_url: str
    pid: int
    client: Client | None = None
    accounts: list[Account] = field(default_factory=list)
    orders: int = 0
    seconds: float = 0.0
    cpu: float = 0.0


async def drive(peer: Peer, responder: Responder, names: list[str]) -> None:
    """Run the orders for ``names``, one flow per account at a time."""
    assert peer.client is not None
    queue = list(reversed(names))

    async def worker(account: Account) -> None:
        while queue:
            await peer.client.order(account, queue.pop(), responder)  # type: ignore[union-attr]

    await asyncio.gather(*(worker(a) for a in peer.accounts))


async def prepare(peer: Peer, http: httpx.AsyncClient, concurrency: int) -> None:
    directory = (await http.get(peer.directory_url)).json()
    peer.client = Client(http, directory)
    peer.accounts = [await peer.client.register() for _ in range(concurrency)]


# -- the servers --------------------------------------------------------------------------------


def start_chancery(work: Path, tls: tuple[Path, Path, Path], http01_port: int) -> tuple[subprocess.Popen[bytes], str]:
    env = chancery_env(
        work / "data", CHANCERY_ACME_VALIDATION_HOST="127.0.0.1", CHANCERY_ACME_HTTP01_PORT=str(http01_port)
    )
    chancery_hierarchy(env)
    chancery(env, "ra", "create", "bench", "--ca", "issuing", "--profile", "tls-server", "--approvals", "0")
    chancery(env, "acme", "directory", "create", "bench", "--ra", "bench", "--challenge", "http-01",
             "--orders-per-hour", "1000000", "--certificates-per-week", "1000000")  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, CHANCERY, "serve", "--port", str(port), "--no-access-log",
         "--tls-cert", str(tls[1]), "--tls-key", str(tls[2])],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for(port)
    time.sleep(1)  # the start-up maintenance pass settles
    return server, f"https://127.0.0.1:{port}/acme/bench/directory"


def start_pebble(
    work: Path, tls: tuple[Path, Path, Path], http01_port: int
) -> tuple[list[subprocess.Popen[bytes]], str]:
    dns_port, port = free_port(), free_port()
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{port}",
            "managementListenAddress": f"127.0.0.1:{free_port()}",
            "certificate": str(tls[1]),
            "privateKey": str(tls[2]),
            "httpPort": http01_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }
    (work / "pebble.json").write_text(json.dumps(config))
    dns = subprocess.Popen(
        ["taskset", "-c", LOAD_CORE, "pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
         "-dns01", f"127.0.0.1:{dns_port}", "-http01", "", "-https01", "", "-tlsalpn01", "",
         "-management", f"127.0.0.1:{free_port()}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"}
    pebble = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, "pebble", "-config", str(work / "pebble.json"),
         "-dnsserver", f"127.0.0.1:{dns_port}"],
        env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for(port)
    return [pebble, dns], f"https://127.0.0.1:{port}/dir"


# -- the run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    orders: int = 240
    concurrency: int = 8
    warmup: int = 24
    chunks: int = 3


async def measure(peers: list[Peer], responder: Responder, tls_ca: Path, plan: Plan) -> None:
    context = ssl.create_default_context(cafile=str(tls_ca))
    limits = httpx.Limits(max_connections=plan.concurrency * 2, max_keepalive_connections=plan.concurrency * 2)
    clients = [httpx.AsyncClient(verify=context, limits=limits, timeout=60) for _ in peers]
    try:
        for peer, http in zip(peers, clients, strict=True):
            await prepare(peer, http, plan.concurrency)
            await drive(peer, responder, [f"w{i}.{peer.label.lower()}.bench.example" for i in range(plan.warmup)])
            assert peer.client is not None
            peer.client.phases = dict.fromkeys(PHASES, 0.0)
            peer.client.requests = 0
        per_chunk = plan.orders // plan.chunks
        for chunk in range(plan.chunks):
            for peer in peers:
                names = [f"o{chunk}-{i}.{peer.label.lower()}.bench.example" for i in range(per_chunk)]
                cpu, start = cpu_seconds(peer.pid), time.perf_counter()
                await drive(peer, responder, names)
                peer.seconds += time.perf_counter() - start
                peer.cpu += cpu_seconds(peer.pid) - cpu
                peer.orders += len(names)
    finally:
        for http in clients:
            await http.aclose()


def stored_chancery_certificates(work: Path) -> int:
    with sqlite3.connect(work / "data" / "chancery.db") as db:
        return int(
            db.execute("SELECT count(*) FROM acme_orders WHERE status='valid' AND serial IS NOT NULL").fetchone()[0]
        )


async def run(plan: Plan) -> dict[str, Any]:
    for tool in ("pebble", "pebble-challtestsrv", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: `make bench` installs pebble (apt-get install pebble)")
    os.sched_setaffinity(0, {int(LOAD_CORE)})  # the client and the responder: the load core
    work = Path(tempfile.mkdtemp(prefix="chancery-bench-acme-"))
    responder = Responder()
    await responder.start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        tls = tls_files(work)
        chancery_server, chancery_url = start_chancery(work, tls, responder.port)
        processes.append(chancery_server)
        pebble_processes, pebble_url = start_pebble(work, tls, responder.port)
        processes += pebble_processes
        peers = [
            Peer("Chancery", chancery_url, chancery_server.pid),
            Peer("Pebble", pebble_url, pebble_processes[0].pid),
        ]
        await measure(peers, responder, tls[0], plan)
    finally:
        responder.close()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
    stored = stored_chancery_certificates(work)
    shutil.rmtree(work, ignore_errors=True)
    if stored != plan.warmup + peers[0].orders:
        raise SystemExit(
            f"Chancery recorded {stored} valid orders with a certificate, not {plan.warmup + peers[0].orders}"
        )
    result: dict[str, Any] = {"concurrency": plan.concurrency, "warmup": plan.warmup, "poll_ms": POLL * 1000}
    for peer in peers:
        key = peer.label.lower()
        result[f"{key}_orders"] = peer.orders
        result[f"{key}_orders_per_s"] = peer.orders / peer.seconds
        result[f"{key}_cpu_ms_per_order"] = peer.cpu / peer.orders * 1000
        assert peer.client is not None
        result[f"{key}_requests_per_order"] = peer.client.requests / peer.orders
        for phase in PHASES:
            result[f"{key}_{phase}_ms"] = peer.client.phases[phase] / peer.orders * 1000
    result["ratio"] = result["chancery_orders_per_s"] / result["pebble_orders_per_s"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=240, help="measured orders per server")
    parser.add_argument("--concurrency", type=int, default=8, help="order flows at once (one account each)")
    parser.add_argument("--warmup", type=int, default=24, help="orders per server before measuring")
    parser.add_argument("--chunks", type=int, default=3, help="alternating measured chunks per server")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(Plan(args.orders, args.concurrency, args.warmup, args.chunks)))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"ACME complete orders (newOrder -> http-01 -> finalize -> download), {result['concurrency']} flows, "
          f"server on 1 core, polling every {result['poll_ms']:.0f} ms:")  # fmt: skip
    for label in ("Chancery", "Pebble"):
        key = label.lower()
        print(f"  {label:9} {result[f'{key}_orders_per_s']:7.1f} orders/s ({result[f'{key}_orders']} orders, "
              f"{result[f'{key}_cpu_ms_per_order']:.1f} server CPU-ms and "
              f"{result[f'{key}_requests_per_order']:.1f} requests per order)")  # fmt: skip
        phases = ", ".join(f"{phase} {result[f'{key}_{phase}_ms']:.0f}" for phase in PHASES)
        print(f"  {'':9} mean ms per order: {phases}")
    print(f"  Chancery/Pebble: {result['ratio']:.2f}")


if __name__ == "__main__":
    main()
