"""Linting certificates before they are signed (DESIGN.md invariant 8), with pkilint.

Validator sets: PKIX (RFC 5280) for every certificate; the CA/Browser Forum
TLS Baseline Requirements validators for TLS server certificates; the S/MIME
Baseline Requirements validators for S/MIME certificates. The CA/Browser Forum
sets include the RFC 5280 checks, adjusted where the Baseline Requirements
differ (a wildcard DNS name is valid there), with the finding filters pkilint's
own ``lint_cabf_serverauth_cert`` applies. pkilint is imported on first use (it
is large) and each validator set is built once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding


class LintSet(StrEnum):
    PKIX = "pkix"
    CABF_SERVERAUTH = "cabf-serverauth"
    CABF_SMIME = "cabf-smime"


@dataclass(frozen=True)
class Finding:
    """One pkilint finding. ``severity`` is FATAL, ERROR, WARNING, NOTICE or INFO."""

    code: str
    severity: str
    message: str
    node: str

    @property
    def blocking(self) -> bool:
        return self.severity in ("FATAL", "ERROR")

    def __str__(self) -> str:
        text = f"{self.severity} {self.code}"
        return f"{text}: {self.message}" if self.message else text


_lock = threading.Lock()


def lint(certificate: x509.Certificate | bytes, sets: tuple[LintSet, ...]) -> tuple[Finding, ...]:
    """Every finding (all severities) of the validator sets on ``certificate``."""
    der = certificate if isinstance(certificate, bytes) else certificate.public_bytes(Encoding.DER)
    from pkilint import loader

    findings: dict[tuple[str, str], Finding] = {}
    for lint_set in sets:
        document = loader.RFC5280CertificateDocumentLoader().load_der_document(der, "certificate")
        with _lock:  # pkilint validators keep state while they run
            validator, filters = _validator(lint_set, document)
            results = validator.validate(document.root)
        if filters:
            from pkilint import finding_filter

            results, _ = finding_filter.filter_results(filters, results)
        for result in results:
            for description in result.finding_descriptions:
                finding = Finding(
                    code=description.finding.code,
                    severity=description.finding.severity.name,
                    message=description.message or "",
                    node=str(result.node.path) if getattr(result, "node", None) is not None else "",
                )
                findings.setdefault((finding.code, finding.node), finding)
    return tuple(findings.values())


def _validator(lint_set: LintSet, document: Any) -> tuple[Any, list[Any]]:
    """The validator for ``document`` and the finding filters that go with it."""
    if lint_set is LintSet.PKIX:
        return _pkix(), []
    if lint_set is LintSet.CABF_SERVERAUTH:
        from pkilint.cabf import serverauth

        certificate_type = serverauth.determine_certificate_type(document)
        return _serverauth(certificate_type), serverauth.create_serverauth_finding_filters(certificate_type)
    from pkilint.cabf import smime

    levels = smime.determine_validation_level_and_generation(document)
    if levels is None:
        levels = smime.guess_validation_level_and_generation(document)
    return _smime(*levels), []


@cache
def _pkix() -> Any:
    from pkilint.pkix import certificate, extension, name

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


@cache
def _serverauth(certificate_type: Any) -> Any:
    from pkilint.cabf import serverauth
    from pkilint.pkix import certificate

    return certificate.create_pkix_certificate_validator_container(
        serverauth.create_decoding_validators(), serverauth.create_validators(certificate_type)
    )


@cache
def _smime(validation_level: Any, generation: Any) -> Any:
    from pkilint.cabf import smime
    from pkilint.pkix import certificate

    return certificate.create_pkix_certificate_validator_container(
        smime.create_decoding_validators(), smime.create_subscriber_validators(validation_level, generation)
    )
