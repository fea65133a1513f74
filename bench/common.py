"""What the benchmarks share: pinned processes, load generators, throw-away CAs."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

SERVER_CORE, LOAD_CORE = "0", "1"
CHANCERY = str(Path(sys.executable).with_name("chancery"))
PASSPHRASE = "benchmark passphrase"


def openssl(*args: str, cwd: Path) -> str:
    return subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def openssl_ca(folder: Path, subject: str = "/CN=Peer CA") -> None:
    """``ca.key`` and a self-signed ``ca.pem`` (P-256) in ``folder``."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-subj", subject, "-days", "30", cwd=folder)  # fmt: skip


def openssl_csr(folder: Path, name: str, cn: str = "www.example.com") -> Path:
    """``{name}.key`` and ``{name}.csr`` (P-256, CN and DNS SAN ``cn``) in ``folder``."""
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
            "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}", "-out", f"{name}.csr", cwd=folder)  # fmt: skip
    return folder / f"{name}.csr"


def chancery_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "CHANCERY_DATA_DIR": str(data_dir), "CHANCERY_KEY_PASSPHRASE": PASSPHRASE, **extra}
    env.pop("CHANCERY_DATABASE_URL", None)
    return env


def chancery(env: dict[str, str], *args: str, cwd: Path | None = None) -> str:
    return subprocess.run([CHANCERY, *args], env=env, check=True, capture_output=True, text=True, cwd=cwd).stdout


def chancery_hierarchy(env: dict[str, str], *init_args: str) -> None:
    """``chancery init``, a P-256 root ``root`` and issuing CA ``issuing``."""
    chancery(env, "init", *init_args)
    chancery(env, "ca", "create-root", "root", "--subject", "CN=Bench Root", "--key-type", "ec-p256")
    chancery(env, "ca", "create-intermediate", "issuing", "--parent", "root", "--subject", "CN=Bench Issuing",
             "--key-type", "ec-p256")  # fmt: skip


def serve(env: dict[str, str], port: int, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """``chancery serve`` pinned to the server core; returns once it accepts connections."""
    server = subprocess.Popen(["taskset", "-c", SERVER_CORE, CHANCERY, "serve", "--port", str(port), "--no-access-log"],
                              env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    wait_for(port)
    time.sleep(1)  # the start-up maintenance pass settles
    return server


def wait_for(port: int, timeout: float = 30) -> None:
    """Until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def wrk(url: str, script: Path, seconds: int, connections: int = 32) -> tuple[float, int, int]:
    """wrk on the load core: (requests/s, requests answered, non-2xx answers)."""
    out = subprocess.run(["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, total, int(errors.group(1)) if errors else 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def alternating(seconds: float, methods: dict[str, Callable[[int], object]], chunk: int) -> dict[str, float]:
    """Operations per second of each method on this thread, run in alternating chunks of ``chunk``
    operations until each has run ``seconds`` (drift in the machine's speed affects all alike)."""
    done = dict.fromkeys(methods, 0)
    spent = dict.fromkeys(methods, 0.0)
    while min(spent.values()) < seconds:
        for name, method in methods.items():
            start = time.perf_counter()
            for i in range(chunk):
                method(done[name] + i)
            spent[name] += time.perf_counter() - start
            done[name] += chunk
    return {name: done[name] / spent[name] for name in methods}
