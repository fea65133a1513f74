"""Fill a fresh data directory with N revoked certificates for bench/revocation.py (SQLite, direct inserts).

The rows are what revocation would leave: state revoked, reason, revocation time
and the stored CRL entry. Not how certificates get there in production (that is
issuance and revocation), but the same data at a speed a benchmark can afford.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import sys
from pathlib import Path

from chancery import wiring
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import local_operator
from chancery.domain.revocation import RevocationReason
from chancery.pki.crl import revoked_entry
from chancery.services.authority.hierarchy import NewCA
from chancery.settings import load_settings

PASSPHRASE = b"benchmark passphrase"


def setup(data_dir: Path, revoked: int) -> None:
    settings = load_settings({}, data_dir=str(data_dir), kdf_scrypt_n=2**14)
    app = wiring.build(settings, PASSPHRASE)
    operator = local_operator("bench")
    try:
        wiring.initialise(app, operator)
        app.hierarchy.create_root(operator, NewCA("root", "CN=Bench Root", KeyType.EC_P256))
        app.hierarchy.create_intermediate(
            operator, NewCA("issuing", "CN=Bench Issuing", KeyType.EC_P256, parent="root")
        )
    finally:
        app.close()
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    stamp = (now - dt.timedelta(hours=1)).replace(tzinfo=None).isoformat(sep=" ") + ".000000"
    later = (now + dt.timedelta(days=365)).replace(tzinfo=None).isoformat(sep=" ") + ".000000"
    reasons = [RevocationReason.keyCompromise, RevocationReason.superseded, RevocationReason.cessationOfOperation]
    db = sqlite3.connect(data_dir / "chancery.db")
    db.execute("PRAGMA synchronous=OFF")
    rows = []
    for i in range(revoked):
        serial = int.from_bytes(os.urandom(16), "big") >> 1
        reason = reasons[i % 3]
        entry = revoked_entry(serial, now - dt.timedelta(hours=1), reason)
        rows.append(
            (
                "issuing",
                format(serial, "x"),
                "revoked",
                "tls-server",
                "CN=bench",
                "",
                stamp,
                later,
                "0" * 64,
                stamp,
                stamp,
                reason.value,
                entry,
            )
        )
        if len(rows) == 50_000 or i == revoked - 1:
            db.executemany(
                "INSERT INTO certificates (ca_name, serial, state, profile, subject, sans, not_before, not_after,"
                " public_key_sha256, created_at, revoked_at, revocation_reason, crl_entry) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            db.commit()
            rows = []
    db.close()


if __name__ == "__main__":
    setup(Path(sys.argv[1]), int(sys.argv[2]))
