"""8 concurrent issuers, 2,000 certificates: distinct serials, all stored (SQLite and PostgreSQL)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography import x509

from chancery import wiring
from chancery.domain.principals import Principal
from chancery.domain.queries import CertificateFilter, PageRequest
from chancery.domain.records import CertificateAuthorityRecord, CertificateState
from chancery.services.authority.issuance import IssueFromCsr
from tests.support.csrs import make_csr

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ISSUERS, TOTAL = 8, 2000


def test_concurrent_issuance(app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord) -> None:
    _, csr = make_csr()

    def issue_many(count: int) -> list[tuple[int, bytes]]:
        out = []
        for _ in range(count):
            issued = app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "tls-server", csr))
            out.append((issued.certificate.serial_number, issued.record.der or b""))
        return out

    with ThreadPoolExecutor(ISSUERS) as pool:
        results = [item for chunk in pool.map(issue_many, [TOTAL // ISSUERS] * ISSUERS) for item in chunk]

    assert len(results) == TOTAL
    assert len({serial for serial, _ in results}) == TOTAL
    stored = {}
    cursor = None
    while True:
        page = app.certificates.search(
            admin, CertificateFilter(ca_name=issuing.name, profile="tls-server"), PageRequest(limit=500, cursor=cursor)
        )
        stored.update({r.serial.value: r for r in page.items})
        cursor = page.next_cursor
        if cursor is None:
            break
    assert set(stored) == {serial for serial, _ in results}
    for serial, der in results:
        assert stored[serial].state is CertificateState.ISSUED
        assert stored[serial].der == der
        assert x509.load_der_x509_certificate(der).serial_number == serial
    assert app.writer.batches < app.writer.items  # commits were shared
