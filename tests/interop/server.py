"""Running `chancery serve` as a real process for tests."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from collections.abc import Sequence

import httpx

from tests.interop.conftest import CHANCERY, Cli


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``chancery serve`` on 127.0.0.1 in its own process."""

    def __init__(
        self, cli: Cli, port: int | None = None, *, args: Sequence[str] = (), verify: ssl.SSLContext | bool = True
    ) -> None:
        """``args`` are more ``chancery serve`` options; with ``--tls-cert`` the URL is https, checked with ``verify``."""
        self.cli = cli
        self.port = port or free_port()
        self.args = list(args)
        self.verify = verify
        self.url = f"{'https' if '--tls-cert' in self.args else 'http'}://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = cli.cwd / f"server-{self.port}.log"

    def start(self) -> Server:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [CHANCERY, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log", *self.args],
                cwd=self.cli.cwd,
                env=self.cli.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1, verify=self.verify).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("server did not come up")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no shutdown handlers, no flushing
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
