"""Login benchmarks (`make bench`): what a password check costs, and logins per second over REST.

(a) Argon2id verification at Chancery's parameters (RFC 9106 §4, second option:
    t=3, m=64 MiB, p=4) through ``services.identity.passwords.Passwords``, beside
    argon2-cffi's own ``PasswordHasher`` with the same parameters, and beside the
    library's defaults (RFC 9106 low-memory option: t=3, m=64 MiB, p=4 is also
    argon2-cffi's default since 21.2; the cheaper t=2 m=19 MiB p=1 of OWASP is shown
    to say what the choice costs). One thread, median of N.
(b) ``POST /api/v1/auth/login`` under wrk (local user, right password: an Argon2id
    verification, an audited login and a stored token per request), ``chancery serve``
    on core 0 and wrk on core 1; beside it a token-authenticated ``GET /api/v1/auth/me``
    (what every later request costs).

Prints each figure; `--json` prints them as one JSON document.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from argon2 import PasswordHasher, Type

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CHANCERY, chancery, chancery_env, serve, wrk  # noqa: E402

from chancery.services.identity.passwords import LANES, MEMORY_KIB, TIME_COST, Passwords  # noqa: E402

PASSWORD = "a passphrase long enough for policy"


def median_seconds(check: object, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        check()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def verification(rounds: int = 15) -> dict[str, float]:
    ours = Passwords(concurrency=1)
    stored = ours.hash(PASSWORD)
    raw = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=LANES, type=Type.ID)
    light = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
    light_hash = light.hash(PASSWORD)
    return {
        "chancery_verify_ms": 1000 * median_seconds(lambda: ours.verify(stored, PASSWORD), rounds),
        "chancery_unknown_user_ms": 1000 * median_seconds(lambda: ours.verify(None, PASSWORD), rounds),
        "argon2_cffi_verify_ms": 1000 * median_seconds(lambda: raw.verify(stored, PASSWORD), rounds),
        "owasp_minimum_verify_ms": 1000 * median_seconds(lambda: light.verify(light_hash, PASSWORD), rounds),
    }


def rest(seconds: int = 10, connections: int = 8, port: int = 8762) -> dict[str, float]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs it (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="chancery-bench-login-"))
    env = chancery_env(work / "data")
    server = None
    try:
        chancery(env, "init")
        subprocess.run([CHANCERY, "user", "add", "bench", "--password-stdin"], env=env, input=PASSWORD + "\n",
                       check=True, capture_output=True, text=True)  # fmt: skip
        chancery(env, "role", "grant", "auditor", "--user", "bench")
        token = chancery(env, "token", "create", "--user", "bench").strip()
        login = work / "login.lua"
        login.write_text(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = {json.dumps(json.dumps({'username': 'bench', 'password': PASSWORD}))}\n"
        )
        me = work / "me.lua"
        me.write_text(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
        server = serve(env, port)
        base = f"http://127.0.0.1:{port}/api/v1"
        wrk(f"{base}/auth/login", login, 2, connections)  # warm-up
        logins, login_total, login_errors = wrk(f"{base}/auth/login", login, seconds, connections)
        requests, _, me_errors = wrk(f"{base}/auth/me", me, seconds, 32)
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        shutil.rmtree(work, ignore_errors=True)
    return {
        "logins_per_second": logins,
        "login_requests": float(login_total),
        "login_errors": float(login_errors),
        "token_requests_per_second": requests,
        "token_errors": float(me_errors),
    }


def main() -> None:
    figures = {**verification(), **rest()}
    if "--json" in sys.argv:
        print(json.dumps(figures, indent=2))
        return
    print(f"Argon2id t={TIME_COST} m={MEMORY_KIB // 1024} MiB p={LANES}")
    print(f"  verify (Chancery)            {figures['chancery_verify_ms']:8.1f} ms")
    print(f"  verify, unknown user (dummy) {figures['chancery_unknown_user_ms']:8.1f} ms")
    print(f"  verify (argon2-cffi, raw)    {figures['argon2_cffi_verify_ms']:8.1f} ms"
          f"   ratio {figures['chancery_verify_ms'] / figures['argon2_cffi_verify_ms']:.2f}")  # fmt: skip
    print(f"  OWASP minimum t=2 m=19 MiB   {figures['owasp_minimum_verify_ms']:8.1f} ms")
    print("REST (server on one core)")
    print(f"  POST /auth/login             {figures['logins_per_second']:8.1f} /s"
          f"   ({figures['login_errors']:.0f} errors of {figures['login_requests']:.0f})")  # fmt: skip
    print(f"  GET /auth/me with a token    {figures['token_requests_per_second']:8.1f} /s"
          f"   ({figures['token_errors']:.0f} errors)")  # fmt: skip


if __name__ == "__main__":
    main()
