import datetime as dt

import pytest
from cryptography import x509
from pkilint import loader, pkix
from pkilint.pkix import crl as pkilint_crl
from pkilint.pkix import extension, name
from pkilint.validation import ValidationFindingSeverity

from chancery.domain.keytypes import KeyType
from chancery.domain.revocation import RevocationReason
from chancery.pki.crl import CrlHeader, CrlKind, build_crl, removal_entry, revoked_entry
from tests.unit.pki.test_issuer import NOW, self_signed_root

WEEK = dt.timedelta(days=7)


def crl_findings(data: bytes) -> list[str]:
    """pkilint ``lint_crl -t CRL -p PKIX`` at ERROR or worse, in process."""
    validator = pkilint_crl.create_pkix_crl_validator_container(
        [
            pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
            pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
        ],
        [
            pkilint_crl.create_issuer_validator_container([]),
            pkilint_crl.create_validity_validator_container([]),
            pkilint_crl.create_extensions_validator_container([]),
        ],
    )
    document = loader.RFC5280CertificateListDocumentLoader().load_der_document(data, "crl")
    return [
        f"{d.finding.code}: {d.message}"
        for result in validator.validate(document.root)
        for d in result.finding_descriptions
        if d.finding.severity <= ValidationFindingSeverity.ERROR
    ]


@pytest.mark.parametrize("key_type", list(KeyType), ids=[k.value for k in KeyType])
def test_full_crl_for_every_key_type(key_type: KeyType) -> None:
    root = self_signed_root(key_type)
    entries = [
        revoked_entry(1001, NOW, RevocationReason.keyCompromise, NOW - dt.timedelta(days=2)),
        revoked_entry(1002, NOW, RevocationReason.unspecified),
        revoked_entry(2**126 + 5, NOW, RevocationReason.certificateHold),
    ]
    header = CrlHeader(root.certificate, 42, NOW, NOW + WEEK, freshest_crl="http://ca.test/crl/x-delta.crl")  # type: ignore[arg-type]
    data = build_crl(root.key, header, entries)
    crl = x509.load_der_x509_crl(data)
    assert crl.is_signature_valid(root.key.public_key())  # type: ignore[arg-type]
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 42
    assert crl.extensions.get_extension_for_class(x509.FreshestCRL).value[0].full_name[0].value.endswith("-delta.crl")
    revoked = {r.serial_number: r for r in crl}
    assert set(revoked) == {1001, 1002, 2**126 + 5}
    assert (
        revoked[1001].extensions.get_extension_for_class(x509.CRLReason).value.reason is x509.ReasonFlags.key_compromise
    )
    assert revoked[1001].extensions.get_extension_for_class(
        x509.InvalidityDate
    ).value.invalidity_date_utc == NOW - dt.timedelta(days=2)
    with pytest.raises(x509.ExtensionNotFound):  # unspecified: reasonCode absent (RFC 5280 §5.3.1)
        revoked[1002].extensions.get_extension_for_class(x509.CRLReason)
    assert crl_findings(data) == []


def test_empty_crl_omits_the_revoked_list() -> None:
    root = self_signed_root()
    data = build_crl(root.key, CrlHeader(root.certificate, 1, NOW, NOW + WEEK), [])  # type: ignore[arg-type]
    assert len(x509.load_der_x509_crl(data)) == 0
    assert crl_findings(data) == []


def test_delta_and_partition_crls() -> None:
    root = self_signed_root()
    delta_data = build_crl(
        root.key,
        CrlHeader(root.certificate, 43, NOW, NOW + dt.timedelta(days=1), kind=CrlKind.DELTA, base_crl_number=42),  # type: ignore[arg-type]
        [removal_entry(1001, NOW)],
    )
    delta = x509.load_der_x509_crl(delta_data)
    indicator = delta.extensions.get_extension_for_class(x509.DeltaCRLIndicator)
    assert indicator.critical and indicator.value.crl_number == 42
    assert delta[0].extensions.get_extension_for_class(x509.CRLReason).value.reason is x509.ReasonFlags.remove_from_crl
    assert crl_findings(delta_data) == []
    partition_data = build_crl(
        root.key,
        CrlHeader(
            root.certificate,
            44,
            NOW,
            NOW + WEEK,
            kind=CrlKind.PARTITION,
            distribution_point="http://ca.test/crl/x/3.crl",
        ),  # type: ignore[arg-type]
        [revoked_entry(7, NOW, RevocationReason.superseded)],
    )
    idp = x509.load_der_x509_crl(partition_data).extensions.get_extension_for_class(x509.IssuingDistributionPoint)
    assert idp.critical and idp.value.full_name[0].value == "http://ca.test/crl/x/3.crl"
    assert crl_findings(partition_data) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"crl_number": 0}, id="fail/number-zero"),
        pytest.param({"crl_number": 2**160}, id="fail/number-over-20-octets"),
        pytest.param({"next_update": NOW}, id="fail/next-not-after-this"),
        pytest.param({"kind": CrlKind.DELTA}, id="fail/delta-without-base"),
        pytest.param({"base_crl_number": 3}, id="fail/base-on-full"),
        pytest.param({"kind": CrlKind.PARTITION}, id="fail/partition-without-point"),
    ],
)
def test_header_rules(kwargs: dict[str, object]) -> None:
    root = self_signed_root()
    base = {"issuer": root.certificate, "crl_number": 5, "this_update": NOW, "next_update": NOW + WEEK}
    with pytest.raises(ValueError):
        CrlHeader(**{**base, **kwargs})  # type: ignore[arg-type]


def test_a_hundred_thousand_entries_stream() -> None:
    root = self_signed_root()
    entries = (revoked_entry(10_000 + i, NOW, RevocationReason.keyCompromise) for i in range(100_000))
    data = build_crl(root.key, CrlHeader(root.certificate, 9, NOW, NOW + WEEK), entries)  # type: ignore[arg-type]
    crl = x509.load_der_x509_crl(data)
    assert len(crl) == 100_000
    assert crl.get_revoked_certificate_by_serial_number(10_000 + 99_999) is not None
