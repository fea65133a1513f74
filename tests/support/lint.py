"""pkilint, in process (DESIGN.md invariant 8): findings at ERROR or worse."""

from __future__ import annotations

from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pkilint import loader, report
from pkilint.pkix import certificate, extension, name
from pkilint.validation import ValidationFindingSeverity


@cache
def _pkix_validator():  # type: ignore[no-untyped-def]
    return certificate.create_pkix_certificate_validator_container(
        certificate.create_decoding_validators(name.ATTRIBUTE_TYPE_MAPPINGS, extension.EXTENSION_MAPPINGS),
        [
            certificate.create_issuer_validator_container([]),
            certificate.create_validity_validator_container(),
            certificate.create_subject_validator_container([]),
            certificate.create_extensions_validator_container([]),
            certificate.create_spki_validator_container([]),
        ],
    )


def pkix_findings(
    cert: x509.Certificate | bytes, severity: ValidationFindingSeverity = ValidationFindingSeverity.ERROR
) -> list[str]:
    """``lint_pkix_cert`` findings at ``severity`` or worse, as ``SEVERITY code: message`` lines."""
    der = cert if isinstance(cert, bytes) else cert.public_bytes(Encoding.DER)
    document = loader.RFC5280CertificateDocumentLoader().load_der_document(der, "certificate")
    results = _pkix_validator().validate(document.root)
    findings = []
    for result in results:
        for description in result.finding_descriptions:
            if description.finding.severity <= severity:
                findings.append(
                    f"{description.finding.severity.name} {description.finding.code}: {description.message}"
                )
    assert report.get_findings_count(results, severity) == len(findings)
    return findings


def assert_lints_clean(cert: x509.Certificate | bytes) -> None:
    findings = pkix_findings(cert)
    assert not findings, "pkilint findings:\n" + "\n".join(findings)
