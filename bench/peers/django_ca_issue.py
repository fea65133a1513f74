"""Peer for bench/issue.py: issuance through django-ca's Python API (runs in its own venv).

Usage: python django_ca_issue.py WORKDIR SECONDS CSR_FILE -> prints one JSON line.
SQLite in its default rollback-journal mode with synchronous=FULL: every
certificate is committed (fsync'd) before create_cert returns, as in Chancery's run.
Mirrors Chancery's setup: a P-256 root and issuing CA, the server profile, one CSR.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import django
from django.conf import settings


def configure(work: Path) -> None:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark only",
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django_ca"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(work / "django-ca.sqlite3")}},
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "django-ca": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(work / "keys")},
            },
        },
        CA_DEFAULT_HOSTNAME="127.0.0.1:8000",
        ROOT_URLCONF=__name__,  # django-ca reverses its OCSP/CRL/issuer URLs into certificates
        CA_ENABLE_ACME=False,
        CA_USE_CELERY=False,
        LOGGING_CONFIG=None,
    )
    django.setup()
    from django.urls import include, path

    globals()["urlpatterns"] = [path("django_ca/", include("django_ca.urls"))]


def main() -> None:
    work, seconds, csr_file = Path(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])
    configure(work)
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    from django.core.management import call_command
    from django.db import connection
    from django_ca.key_backends import key_backends
    from django_ca.models import Certificate, CertificateAuthority
    from django_ca.profiles import profiles

    call_command("migrate", verbosity=0)
    backend = key_backends["default"]
    not_after = datetime.now(timezone.utc) + timedelta(days=3650)

    def create(name: str, parent: CertificateAuthority | None) -> CertificateAuthority:
        options = backend.get_create_private_key_options("EC", None, "secp256r1", {"password": None, "path": "ca"})
        parent_options = backend.get_use_private_key_options(parent, {}) if parent else None
        return CertificateAuthority.objects.init(
            name=name,
            key_backend=backend,
            key_backend_options=options,
            subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]),
            not_after=not_after,
            key_type="EC",
            parent=parent,
            use_parent_private_key_options=parent_options,
        )

    root = create("Bench Root", None)
    issuing = create("Bench Issuing", root)
    use = backend.get_use_private_key_options(issuing, {})
    csr = x509.load_pem_x509_csr(csr_file.read_bytes())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "www.example.com")])
    profile = profiles["server"]

    def issue() -> None:
        Certificate.objects.create_cert(issuing, use, csr, profile=profile, subject=subject)

    for _ in range(50):
        issue()
    with connection.cursor() as cursor:
        journal = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        synchronous = cursor.execute("PRAGMA synchronous").fetchone()[0]
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        issue()
        count += 1
    print(
        json.dumps(
            {
                "per_s": count / elapsed,
                "issued": count,
                "journal_mode": journal,
                "synchronous": synchronous,
                "django_ca": __import__("django_ca").__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
