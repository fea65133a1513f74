"""What linting costs per certificate (pkilint, in process), by validator set.

The certificate is the usual tls-server one (P-256 issuer, 8 extensions); each
validator set lints the same lint copy repeatedly on one pinned core. Printed
beside prepare + sign alone, so the share of the issuance that lint would take
is visible.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pki_layer import NOW, _setup  # noqa: E402

from chancery.domain.serials import new_serial  # noqa: E402
from chancery.pki.issuer import CertificateRequest, prepare  # noqa: E402
from chancery.pki.lint import LintSet, lint  # noqa: E402
from chancery.pki.names import parse_name  # noqa: E402
from chancery.pki.profiles import builtin_profile  # noqa: E402
from chancery.pki.sans import parse_san  # noqa: E402


def _per_second(fn: object, seconds: float) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()  # type: ignore[operator]
        count += 1
    return count / (time.perf_counter() - start)


def run(seconds: float = 3.0) -> dict[str, float]:
    signer, _, _, leaf_key = _setup()
    request = CertificateRequest(
        parse_name("CN=www.example.com"),
        leaf_key,
        builtin_profile("tls-server"),
        sans=(parse_san("DNS:www.example.com"),),
    )
    certificate = prepare(request, signer, new_serial(), NOW).lint_copy()
    result = {"prepare_sign_per_s": _per_second(lambda: prepare(request, signer, new_serial(), NOW).sign(), seconds)}
    for lint_set in (LintSet.PKIX, LintSet.CABF_SERVERAUTH):
        lint(certificate, (lint_set,))  # build the validators once
        rate = _per_second(lambda s=lint_set: lint(certificate, (s,)), seconds)
        result[f"lint_{lint_set.value}_ms"] = 1000 / rate
    result["lint_copy_us"] = 1e6 / _per_second(lambda: prepare(request, signer, new_serial(), NOW).lint_copy(), seconds)
    return result


if __name__ == "__main__":
    figures = run(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
    base_ms = 1000 / figures["prepare_sign_per_s"]
    print(f"prepare + sign (no lint)          : {base_ms:6.3f} ms per certificate")
    print(f"lint copy (prepare + throwaway sign): {figures['lint_copy_us'] / 1000:6.3f} ms")
    for name in ("pkix", "cabf-serverauth"):
        ms = figures[f"lint_{name}_ms"]
        print(f"pkilint {name:16s}          : {ms:6.3f} ms per certificate ({ms / base_ms:.0f}x prepare + sign)")
