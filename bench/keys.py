"""Key store benchmarks. Usage: ``python bench/keys.py [SECONDS] [--json]``.

``signing``: signatures/s of CA keys in a SoftHSM2 token against software keys of the same type,
in the same run. Both are made by Chancery's key router (``generate_in``) in a throw-away
installation (SQLite) and used through ``KeyHandle.sign`` (what CRLs and OCSP responses use; a
certificate's ``sign_builder`` makes the same one signature). The token signs the digest with
CKM_ECDSA / CKM_RSA_PKCS / CKM_EDDSA through python-pkcs11 and the session pool; the software key
signs with pyca/cryptography (OpenSSL). Each message is 512 random bytes (a certificate's TBS is
about that). One thread in alternating chunks, then 8 threads (the pool's default size) in turn;
SECONDS per key type, store and mode (default 2).

Each section is a function returning its figures; :func:`main` runs them in turn.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography.hazmat.primitives import hashes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import alternating  # noqa: E402

KEY_TYPES = ("ec-p256", "ec-p384", "ed25519", "rsa-2048", "rsa-3072")
THREADS = 8
CHUNK = 20
MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN, PIN, SO_PIN = "bench", "bench-pin-1234", "bench-so-pin-5678"


def softhsm_token(folder: Path) -> None:
    """A SoftHSM2 token directory in ``folder``, for this process (before the module is loaded)."""
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    os.environ["CHANCERY_BENCH_HSM_PIN"] = PIN
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--so-pin", SO_PIN, "--pin", PIN],
        check=True,
        capture_output=True,
    )


def installation(folder: Path) -> object:
    """A throw-away Chancery (SQLite) with the token configured; the caller closes it."""
    from chancery import wiring
    from chancery.domain.keystores import PinKind, PinSource, Pkcs11Config
    from chancery.domain.principals import local_operator
    from chancery.settings import load_settings

    settings = load_settings({}, data_dir=str(folder / "data"), kdf_scrypt_n=2**14)
    app = wiring.build(settings, b"benchmark passphrase")
    operator = local_operator("bench")
    wiring.initialise(app, operator)
    config = Pkcs11Config(MODULE, PinSource(PinKind.ENV, "CHANCERY_BENCH_HSM_PIN"), token_label=TOKEN)
    app.key_stores.configure_pkcs11(operator, config)
    return app


def threaded(seconds: float, method: Callable[[int], object]) -> float:
    """Operations/s of ``method`` from THREADS threads for about ``seconds``."""
    deadline = time.perf_counter() + seconds

    def worker(offset: int) -> int:
        count = 0
        while time.perf_counter() < deadline:
            for i in range(CHUNK):
                method(offset + count + i)
            count += CHUNK
        return count

    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        total = sum(pool.map(worker, range(0, THREADS * 10**9, 10**9)))
    return total / (time.perf_counter() - start)


def signing(seconds: float) -> dict[str, dict[str, float]]:
    """Signatures/s, software key against token key, per key type (one thread and THREADS threads)."""
    from chancery.domain.keystores import KeyLocation
    from chancery.domain.keytypes import KeyType
    from chancery.keys.base import KeyPurpose

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="chancery-bench-keys-") as tmp:
        softhsm_token(Path(tmp))
        app = installation(Path(tmp))
        try:
            messages = [os.urandom(512) for _ in range(64)]
            for name in KEY_TYPES:
                key_type = KeyType(name)
                algorithm = (
                    None if key_type is KeyType.ED25519 else hashes.SHA384() if name == "ec-p384" else hashes.SHA256()
                )
                keys = {
                    store: app.key_router.generate_in(KeyLocation(store), key_type, KeyPurpose.CA)  # type: ignore[attr-defined]
                    for store in ("software", "pkcs11")
                }
                signers = {
                    store: (lambda i, key=key, hash_=algorithm: key.sign(messages[i % 64], hash_))
                    for store, key in keys.items()
                }
                one = alternating(seconds, signers, CHUNK)
                results[name] = {
                    "software": one["software"],
                    "pkcs11": one["pkcs11"],
                    "software threads": threaded(seconds, signers["software"]),
                    "pkcs11 threads": threaded(seconds, signers["pkcs11"]),
                }
        finally:
            app.close()  # type: ignore[attr-defined]
    return results


def print_signing(results: dict[str, dict[str, float]]) -> None:
    print(f"Signatures/s: CA keys in SoftHSM2 ({MODULE}) against software keys, {os.cpu_count()} CPUs")
    print(
        f"{'key type':>9}  {'software':>9}  {'SoftHSM2':>9}  {'HSM/sw':>6}  "
        f"{f'software x{THREADS}':>12}  {f'SoftHSM2 x{THREADS}':>12}  {'HSM/sw':>6}"
    )
    for name, f in results.items():
        print(
            f"{name:>9}  {f['software']:>9.0f}  {f['pkcs11']:>9.0f}  {f['pkcs11'] / f['software']:>6.2f}  "
            f"{f['software threads']:>12.0f}  {f['pkcs11 threads']:>12.0f}  "
            f"{f['pkcs11 threads'] / f['software threads']:>6.2f}"
        )


# -- backup and restore ---------------------------------------------------------------------------

BACKUP_CERTIFICATES = 100_000
BACKUP_PASSPHRASE = b"benchmark passphrase"
POSTGRES_ADMIN_URL = os.environ.get(
    "CHANCERY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def backup_installation(folder: Path, database_url: str = "") -> object:
    """A throw-away Chancery with a software root and issuing CA; the caller closes it."""
    from chancery import wiring
    from chancery.domain.keytypes import KeyType
    from chancery.domain.principals import local_operator
    from chancery.services.authority.hierarchy import NewCA
    from chancery.settings import load_settings

    settings = load_settings({}, data_dir=str(folder), database_url=database_url, kdf_scrypt_n=2**14)
    app = wiring.build(settings, BACKUP_PASSPHRASE)
    operator = local_operator("bench")
    wiring.initialise(app, operator)
    app.hierarchy.create_root(operator, NewCA("root", "CN=Bench Root", KeyType.EC_P256))
    app.hierarchy.create_intermediate(operator, NewCA("issuing", "CN=Bench Issuing", KeyType.EC_P256, parent="root"))
    return app


def fill_certificates(app: object, count: int) -> None:
    """``count`` issued certificates of ``issuing`` written through the store in batches of 5000: one real
    certificate's DER under fresh serials (the rows a backup carries, without signing 100k times)."""
    import datetime as dt
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from chancery.domain.principals import local_operator
    from chancery.domain.records import CertificateRecord, CertificateState
    from chancery.domain.serials import new_serial
    from chancery.services.authority.issuance import IssueFromCsr

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "bulk.example.com")])
    san = x509.SubjectAlternativeName([x509.DNSName("bulk.example.com")])
    csr = x509.CertificateSigningRequestBuilder(name).add_extension(san, False).sign(key, hashes.SHA256())
    pem = csr.public_bytes(serialization.Encoding.PEM)
    issued = app.issuance.issue_from_csr(local_operator("bench"), IssueFromCsr("issuing", "tls-server", pem))  # type: ignore[attr-defined]
    der = issued.certificate.public_bytes(serialization.Encoding.DER)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    digest = hashlib.sha256(der).hexdigest()
    for start in range(0, count, 5000):
        records = [
            CertificateRecord(
                ca_name="issuing", serial=new_serial(), state=CertificateState.RESERVED, profile="tls-server",
                subject=f"CN=bulk-{start + i}.example.com", sans=(f"DNS:bulk-{start + i}.example.com",),
                not_before=now, not_after=now + dt.timedelta(days=90), public_key_sha256=digest, created_at=now,
            )
            for i in range(min(5000, count - start))
        ]  # fmt: skip
        with app.database.write() as uow:  # type: ignore[attr-defined]
            uow.certificates.reserve_many(records)
            uow.certificates.mark_issued_many([("issuing", r.serial, der) for r in records])


def time_backup_restore(folder: Path, source_url: str = "", target_url: str | None = None) -> dict[str, float]:
    """Seconds to back up (3 of 5) and to restore (custodians 1, 3, 5) ``BACKUP_CERTIFICATES`` certificates."""
    from chancery import wiring
    from chancery.domain.principals import local_operator
    from chancery.services.backup.creation import CreateBackup
    from chancery.services.backup.restoration import RestoreBackup
    from chancery.services.backup.verification import BackupVerifier, VerifyBackup

    def custodian(i: int) -> bytes:
        return f"bench custodian {i} passphrase".encode()

    operator = local_operator("bench")
    app = backup_installation(folder / "data", source_url)
    try:
        start = time.perf_counter()
        fill_certificates(app, BACKUP_CERTIFICATES)
        fill = time.perf_counter() - start
        start = time.perf_counter()
        created = app.backups.create(  # type: ignore[attr-defined]
            operator, CreateBackup(folder / "ca.backup", 5, 3, folder / "shares"), custodian
        )
        backup = time.perf_counter() - start
    finally:
        app.close()  # type: ignore[attr-defined]
    shares = (created.shares[0], created.shares[2], created.shares[4])
    opener = wiring.backup_key_opener(BACKUP_PASSPHRASE)
    start = time.perf_counter()
    BackupVerifier().verify(VerifyBackup(created.path, shares, opener), custodian)
    verify = time.perf_counter() - start
    start = time.perf_counter()
    wiring.backup_restorer(BACKUP_PASSPHRASE).restore(
        operator, RestoreBackup(created.path, folder / "restored", shares, target_url), custodian
    )
    restore = time.perf_counter() - start
    rows = sum(created.manifest.database.row_counts.values())
    return {"fill": fill, "backup": backup, "verify": verify, "restore": restore, "rows": rows,
            "megabytes": created.path.stat().st_size / 1e6}  # fmt: skip


def backup_restore() -> dict[str, dict[str, float]]:
    """Backup and restore of 100k certificates: SQLite -> SQLite, and PostgreSQL -> PostgreSQL when
    the local server answers (databases bench_backup_<random>, dropped after)."""
    import secrets

    results = {}
    with tempfile.TemporaryDirectory(prefix="chancery-bench-backup-") as tmp:
        results["sqlite"] = time_backup_restore(Path(tmp))
    try:
        from sqlalchemy import create_engine, text

        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        names = [f"bench_backup_{secrets.token_hex(4)}" for _ in range(2)]
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - no server: report SQLite only
        print(f"(PostgreSQL not measured: {type(exc).__name__})", file=sys.stderr)
        return results
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        with tempfile.TemporaryDirectory(prefix="chancery-bench-backup-") as tmp:
            results["postgresql"] = time_backup_restore(Path(tmp), f"{base}/{names[0]}", f"{base}/{names[1]}")
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return results


def print_backup_restore(results: dict[str, dict[str, float]]) -> None:
    print(f"Backup and restore of {BACKUP_CERTIFICATES} certificates (3-of-5 custodians, scrypt n=2^14), seconds")
    print(f"{'database':>10}  {'rows':>7}  {'file MB':>7}  {'backup':>7}  {'verify':>7}  {'restore':>7}  {'fill':>6}")
    for kind, f in results.items():
        print(
            f"{kind:>10}  {f['rows']:>7.0f}  {f['megabytes']:>7.1f}  {f['backup']:>7.2f}  {f['verify']:>7.2f}  "
            f"{f['restore']:>7.2f}  {f['fill']:>6.1f}"
        )


def main() -> None:
    numbers = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    seconds = float(numbers[0]) if numbers else 2.0
    results = {"signing": signing(seconds), "backup_restore": backup_restore()}
    if "--json" in sys.argv:
        print(json.dumps(results, indent=2))
        return
    print_signing(results["signing"])
    print()
    print_backup_restore(results["backup_restore"])


if __name__ == "__main__":
    main()
