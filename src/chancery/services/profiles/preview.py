"""What a profile would issue for a CSR, and what the linter says, without issuing anything."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from chancery.clock import Clock
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.domain.serials import new_serial
from chancery.pki.issuer import CertificateFacts, prepare
from chancery.pki.profiles import Profile
from chancery.services.authority.requests import request_from_csr
from chancery.services.authority.signers import SignerDirectory
from chancery.services.authorization import require
from chancery.services.profiles.catalog import ProfileCatalog
from chancery.services.profiles.lint_gate import LintGate, LintReport


@dataclass(frozen=True)
class Preview:
    """``certificate`` has the fields and extensions issuance would produce; it is signed by a
    throwaway key (see :mod:`chancery.pki.lint_copy`), so only its contents may be shown."""

    profile: Profile
    ca: str
    certificate: x509.Certificate
    facts: CertificateFacts
    report: LintReport


class ProfilePreviews:
    def __init__(self, catalog: ProfileCatalog, signers: SignerDirectory, clock: Clock) -> None:
        self._catalog = catalog
        self._signers = signers
        self._clock = clock

    def check(self, profile_name: str, ca: str, csr: bytes) -> None:
        """Apply the profile to ``csr`` as CA ``ca`` would, raising its refusals exactly as issuance
        does (subject, names, key, validity), without signing or linting anything."""
        profile = self._catalog.get(profile_name)
        active = self._signers.get(ca)
        profile.check_issuer(active.record.name)
        request = request_from_csr(csr, profile, None)
        prepare(request, active.signer, new_serial(), self._clock.now())

    def preview(
        self,
        principal: Principal,
        profile_name: str,
        ca: str,
        csr: bytes,
        validity_days: int | None = None,
        version: int | None = None,
    ) -> Preview:
        """Apply the profile to ``csr`` as CA ``ca`` would and lint the result (every validator set
        of the profile, whatever its lint mode). Refusals are raised exactly as issuance raises them."""
        require(principal, Permission.PROFILE_READ)
        profile = self._catalog.get(profile_name) if version is None else self._catalog.version(profile_name, version)
        active = self._signers.get(ca)
        profile.check_issuer(active.record.name)
        request = request_from_csr(csr, profile, validity_days)
        prepared = prepare(request, active.signer, new_serial(), self._clock.now())
        return Preview(
            profile=profile,
            ca=active.record.name,
            certificate=prepared.lint_copy(),
            facts=prepared.facts,
            report=LintGate.report(prepared, profile),
        )
