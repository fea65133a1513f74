"""Issuance benchmarks, one run, on this machine (`make bench`).

(a) pki layer alone: Chancery's prepare + sign beside raw pyca/cryptography, on one pinned core.
(b) end-to-end REST issuance on SQLite, every certificate fsync'd before its response,
    the server pinned to one core and the load generator (wrk) to the other; beside it
    the same issuance through django-ca's Python API (its own venv, same core, same
    durability: SQLite with synchronous=FULL).
(c) lint before sign: what pkilint costs per certificate, and (b) again with the
    tls-server profile linting every certificate, sampled (as shipped) and off.

Prints each figure and the ratios; `--json` prints them as one JSON document.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEER_VENV = HERE / ".venv-django-ca"
PEER_REQUIREMENT = "django-ca==3.2.0"
CORE = "0"


def pki_layer(seconds: float) -> dict[str, float]:
    code = f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import pki_layer; print(json.dumps(pki_layer.run({seconds})))"
    out = subprocess.run(
        ["taskset", "-c", CORE, sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def rest(seconds: int, lint: str | None = None) -> dict[str, float]:
    sys.path.insert(0, str(HERE))
    import rest_issue

    return rest_issue.run(seconds=seconds, lint=lint)


def lint_cost(seconds: float) -> dict[str, float]:
    code = f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import lint_cost; print(json.dumps(lint_cost.run({seconds})))"
    out = subprocess.run(
        ["taskset", "-c", CORE, sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def django_ca(seconds: float) -> dict[str, float]:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", PEER_REQUIREMENT], check=True)
    sys.path.insert(0, str(HERE))
    import rest_issue

    with tempfile.TemporaryDirectory(prefix="django-ca-bench-") as work:
        csr = Path(work) / "request.csr"
        csr.write_text(rest_issue.csr_pem())  # the same CSR shape as the REST run
        out = subprocess.run(
            [
                "taskset",
                "-c",
                CORE,
                str(python),
                str(HERE / "peers" / "django_ca_issue.py"),
                work,
                str(seconds),
                str(csr),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    as_json = "--json" in sys.argv
    quick = "--quick" in sys.argv
    a = pki_layer(4 if quick else 10)
    b = rest(8 if quick else 20)
    peer = django_ca(4 if quick else 10)
    c = lint_cost(2 if quick else 4)
    lint_every = rest(8 if quick else 20, lint="every")
    lint_off = rest(8 if quick else 20, lint="off")
    if as_json:
        document = {"pki_layer": a, "rest": b, "django_ca": peer, "lint_cost": c}
        document.update(rest_lint_every=lint_every, rest_lint_off=lint_off)
        print(json.dumps(document, indent=2))
        return
    print("(a) pki layer alone, P-256 issuer, 8 extensions, one core")
    print(f"    raw pyca/cryptography (fluent builder)  {a['raw_cryptography_per_s']:8.0f} /s")
    print(f"    raw pyca/cryptography (one constructor) {a['raw_cryptography_constructor_per_s']:8.0f} /s")
    print(
        f"    Chancery prepare + sign                 {a['chancery_pki_per_s']:8.0f} /s   "
        f"{a['ratio']:.0%} of fluent, {a['ratio_constructor']:.0%} of constructor"
    )
    print("(b) end-to-end issuance, durable (fsync before the answer), SQLite, server on one core")
    print(
        f"    Chancery REST (wrk, {b['connections']} connections)     {b['rest_per_s']:8.0f} /s   "
        f"{b['cpu_us_per_certificate']:.0f} CPU-us per certificate, core {b['cpu_busy']:.0%} busy"
    )
    print(
        f"    django-ca {peer['django_ca']} Python API (no HTTP)  {peer['per_s']:8.0f} /s   "
        f"(SQLite journal={peer['journal_mode']}, synchronous={peer['synchronous']})"
    )
    print(f"    Chancery / django-ca                    {b['rest_per_s'] / peer['per_s']:8.1f}x")
    print("(c) lint before sign (pkilint in process), tls-server certificate")
    base_ms = 1000 / c["prepare_sign_per_s"]
    for name in ("pkix", "cabf-serverauth"):
        ms = c[f"lint_{name}_ms"]
        print(f"    pkilint {name:16s}                {ms:8.2f} ms   ({ms / base_ms:.0f}x prepare + sign)")
    print("    REST issuance as (b), tls-server lint mode:")
    for label, run in (("every certificate", lint_every), ("sampled (1%, shipped)", b), ("off", lint_off)):
        print(
            f"      {label:24s}              {run['rest_per_s']:8.0f} /s   {run['cpu_us_per_certificate']:.0f} CPU-us per certificate"
        )
    print(f"    sampled / every                         {b['rest_per_s'] / lint_every['rest_per_s']:8.1f}x")


if __name__ == "__main__":
    main()
