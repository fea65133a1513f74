"""Many certificate rows, fast: reserved and stored through the store's batch statements.

Not how certificates get there in production (that is issuance, one signature
each), but the rows a backup carries: every row holds a real certificate's DER
(the same one, under different serials), so the database has a realistic size.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from cryptography.hazmat.primitives.serialization import Encoding

from chancery import wiring
from chancery.domain.principals import Principal
from chancery.domain.records import CertificateRecord, CertificateState
from chancery.domain.serials import new_serial
from chancery.services.authority.issuance import IssueFromCsr
from tests.support.csrs import make_csr

BATCH = 5000


def add_certificates(app: wiring.Application, admin: Principal, ca: str, count: int) -> None:
    """``count`` issued certificates of CA ``ca`` (which must exist), in batches."""
    sample = app.issuance.issue_from_csr(admin, IssueFromCsr(ca, "tls-server", make_csr()[1]))
    der = sample.certificate.public_bytes(Encoding.DER)
    now = app.clock.now().replace(microsecond=0)
    digest = hashlib.sha256(der).hexdigest()
    for start in range(0, count, BATCH):
        records = [
            CertificateRecord(
                ca_name=ca,
                serial=new_serial(),
                state=CertificateState.RESERVED,
                profile="tls-server",
                subject=f"CN=bulk-{start + i}.example.com",
                sans=(f"DNS:bulk-{start + i}.example.com",),
                not_before=now,
                not_after=now + dt.timedelta(days=90),
                public_key_sha256=digest,
                created_at=now,
            )
            for i in range(min(BATCH, count - start))
        ]
        with app.database.write() as uow:
            uow.certificates.reserve_many(records)
            uow.certificates.mark_issued_many([(ca, r.serial, der) for r in records])
