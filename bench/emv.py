"""EMV ICC public key certificates/s on one core: Chancery's emv layer beside the bare RSA operation.

For issuer keys of 1152, 1408 and 1984 bits (exponent 3, as schemes mostly use), each ICC
certificate is a different card (PAN, serial, 1024-bit ICC public key, 200 bytes of static data):

- ``chancery``: ``prepare_icc_certificate`` (layout, SHA-1) + ``sign`` (the raw private operation of
  ``keys.raw_rsa.SoftwareRawRsaKey``, by the CRT with GMP, then checked with the public operation, as every signature is);
- ``raw CRT``: the bare CRT private operation on an already-built block (what is left without the layer);
- ``raw pow``: ``pow(block, d, n)``, the private operation without the CRT.

The three run in alternating chunks so that the machine's drift affects them alike. The process
pins itself to core 0 with ``taskset`` when it can. Usage: ``python bench/emv.py [SECONDS] [--json]``
(SECONDS per issuer key and method, default 3).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import alternating  # noqa: E402

from chancery.emv.fields import Expiry  # noqa: E402
from chancery.emv.icc_certificate import IccCertificateContents, prepare_icc_certificate  # noqa: E402
from chancery.emv.rsa import EmvPublicKey  # noqa: E402
from chancery.keys.raw_rsa import SoftwareRawRsaKey, generate  # noqa: E402

ISSUER_BITS = (1152, 1408, 1984)
CARDS = 256
CHUNK = 50
STATIC = bytes(range(200))
EXPIRY = Expiry(2030, 12)


def pin_to_core_0() -> None:
    """Re-run this script under ``taskset -c 0`` (once), if taskset exists."""
    if os.environ.get("CHANCERY_BENCH_PINNED") != "1" and shutil.which("taskset"):
        env = {**os.environ, "CHANCERY_BENCH_PINNED": "1"}
        os.execvpe("taskset", ["taskset", "-c", "0", sys.executable, *sys.argv], env)


def cards() -> list[IccCertificateContents]:
    out = []
    for i in range(CARDS):
        modulus = bytearray(hashlib.shake_256(f"card {i}".encode()).digest(128))
        modulus[0] |= 0xC0
        modulus[-1] |= 1
        pan = f"476173{i:010d}"
        out.append(IccCertificateContents(pan, EXPIRY, i.to_bytes(3, "big"), EmvPublicKey(bytes(modulus), 3)))
    return out


def run(seconds: float) -> dict[str, dict[str, float]]:
    contents = cards()
    results = {}
    for bits in ISSUER_BITS:
        private_key = generate(bits, 3)
        issuer = SoftwareRawRsaKey("bench", private_key)  # what the key store hands the EMV service
        d, n, length = private_key.private_numbers().d, issuer.modulus, issuer.modulus_length
        blocks = [prepare_icc_certificate(card, STATIC, length).block for card in contents]
        integers = [int.from_bytes(block, "big") for block in blocks]

        def chancery(i: int, issuer: SoftwareRawRsaKey = issuer, length: int = length) -> None:
            prepare_icc_certificate(contents[i % CARDS], STATIC, length).sign(issuer)

        def raw_crt(i: int, issuer: SoftwareRawRsaKey = issuer, blocks: list[bytes] = blocks) -> None:
            issuer.sign_raw(blocks[i % CARDS])

        def raw_pow(i: int, d: int = d, n: int = n, integers: list[int] = integers, length: int = length) -> None:
            pow(integers[i % CARDS], d, n).to_bytes(length, "big")

        results[str(bits)] = alternating(seconds, {"chancery": chancery, "raw CRT": raw_crt, "raw pow": raw_pow}, CHUNK)
    return results


def main() -> None:
    pin_to_core_0()
    numbers = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    results = run(float(numbers[0]) if numbers else 3.0)
    if "--json" in sys.argv:
        print(json.dumps(results, indent=2))
        return
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"ICC public key certificates/s, one process on cores {affinity}, exponent 3, 1024-bit ICC keys")
    print(
        f"{'issuer key':>10}  {'chancery':>9}  {'raw CRT':>9}  {'raw pow':>9}  {'chancery/raw CRT':>16}  {'CRT/pow':>7}"
    )
    for bits, figures in results.items():
        print(
            f"{bits + ' bits':>10}  {figures['chancery']:>9.0f}  {figures['raw CRT']:>9.0f}  {figures['raw pow']:>9.0f}"
            f"  {figures['chancery'] / figures['raw CRT']:>16.2f}  {figures['raw CRT'] / figures['raw pow']:>7.2f}"
        )


if __name__ == "__main__":
    main()
