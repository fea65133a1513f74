import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp as pyca_ocsp
from pkilint import loader, pkix
from pkilint.pkix import extension, name
from pkilint.pkix import ocsp as pkilint_ocsp
from pkilint.validation import ValidationFindingSeverity

from chancery.domain.revocation import RevocationReason
from chancery.pki import der
from chancery.pki.ocsp import (
    CertStatus,
    MalformedRequest,
    Responder,
    ResponseStatus,
    SingleResponse,
    error_response,
    issuer_hashes,
    make_cert_id,
    parse_request,
)
from tests.unit.pki.test_issuer import NOW, self_signed_root

VECTORS = Path(__file__).parents[2] / "vectors" / "ocsp"
DAY = dt.timedelta(days=1)


def ocsp_findings(data: bytes) -> list[str]:
    """pkilint ``lint_ocsp_response`` at ERROR or worse, in process."""
    validator = pkilint_ocsp.create_pkix_ocsp_response_validator_container(
        [
            pkilint_ocsp.create_response_decoder(),
            pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
            pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
        ],
        [],
    )
    document = loader.RFC6960OCSPResponseDocumentLoader().load_der_document(data, "ocsp")
    return [
        f"{d.finding.code}: {d.message}"
        for result in validator.validate(document.root)
        for d in result.finding_descriptions
        if d.finding.severity <= ValidationFindingSeverity.ERROR
    ]


def request_der(cert_ids: list[bytes], nonce: bytes | None = None, raw_nonce_value: bytes | None = None) -> bytes:
    requests = der.sequence_of(der.sequence(c) for c in cert_ids)
    extensions = b""
    if nonce is not None or raw_nonce_value is not None:
        value = raw_nonce_value if raw_nonce_value is not None else der.octet_string(nonce or b"")
        extensions = der.explicit(2, der.sequence(der.extension(der.oid("1.3.6.1.5.5.7.48.1.2"), False, value)))
    return der.sequence(der.sequence(requests, extensions))


def test_openssl_request_vector() -> None:
    request = parse_request((VECTORS / "good_req.der").read_bytes())
    ca = x509.load_pem_x509_certificate((VECTORS / "ca.pem").read_bytes())
    leaf = x509.load_pem_x509_certificate((VECTORS / "leaf.pem").read_bytes())
    (cert_id,) = request.cert_ids
    assert cert_id.hash_algorithm == "sha256"
    assert (cert_id.issuer_name_hash, cert_id.issuer_key_hash) == issuer_hashes(ca, "sha256")
    assert cert_id.serial == leaf.serial_number
    assert request.nonce_extension is not None and len(request.nonce_extension) == 33


def test_agrees_with_pyca_on_single_requests() -> None:
    root = self_signed_root()
    for algorithm in (hashes.SHA1(), hashes.SHA256()):
        built = (
            pyca_ocsp.OCSPRequestBuilder()
            .add_certificate(root.certificate, root.certificate, algorithm)  # type: ignore[arg-type]
            .add_extension(x509.OCSPNonce(b"0123456789abcdef"), critical=False)
            .build()
        )
        parsed = parse_request(built.public_bytes(Encoding.DER))
        (cert_id,) = parsed.cert_ids
        assert cert_id.serial == built.serial_number
        assert cert_id.issuer_key_hash == built.issuer_key_hash
        assert cert_id.issuer_name_hash == built.issuer_name_hash
        assert parsed.nonce_extension is not None


def test_several_certificates_per_request() -> None:
    root = self_signed_root()
    ids = [
        make_cert_id(root.certificate, serial, algorithm)
        for serial, algorithm in [(5, "sha1"), (6, "sha256"), (7, "sha512")]
    ]  # type: ignore[arg-type]
    parsed = parse_request(request_der(ids, nonce=b"n" * 32))
    assert [c.serial for c in parsed.cert_ids] == [5, 6, 7]
    assert [c.der for c in parsed.cert_ids] == ids


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="fail/empty"),
        pytest.param(b"garbage", id="fail/garbage"),
        pytest.param(None, id="fail/truncated"),
        pytest.param("trailing", id="fail/trailing-bytes"),
        pytest.param("unknown-hash", id="fail/unknown-hash-algorithm"),
        pytest.param("many", id="fail/1000-cert-ids"),
        pytest.param("nonce-40", id="fail/40-byte-nonce"),
        pytest.param("nonce-0", id="fail/empty-nonce"),
        pytest.param("no-certs", id="fail/no-cert-ids"),
        pytest.param("critical", id="fail/unknown-critical-extension"),
        pytest.param("version", id="fail/version-2"),
        pytest.param("short-hash", id="fail/hash-length-mismatch"),
        pytest.param("negative-serial", id="fail/negative-serial"),
        pytest.param(b"\x30\x80" + b"\x00" * 10, id="fail/indefinite-length"),
        pytest.param(b"\x30\x83\xff\xff\xff", id="fail/hostile-length"),
        pytest.param(b"\x30" * 20_000, id="fail/oversized"),
    ],
)
def test_malformed_requests(data: object) -> None:
    root = self_signed_root()
    good_id = make_cert_id(root.certificate, 5)  # type: ignore[arg-type]
    good = request_der([good_id])
    built = {
        None: good[: len(good) - 3],
        "trailing": good + b"\x00",
        "unknown-hash": request_der([good_id.replace(der.oid("1.3.14.3.2.26"), der.oid("1.2.840.113549.2.5"))]),
        "many": request_der([good_id] * 1000),
        "nonce-40": request_der([good_id], nonce=b"x" * 40),
        "nonce-0": request_der([good_id], nonce=b""),
        "no-certs": der.sequence(der.sequence(der.sequence())),
        "critical": der.sequence(
            der.sequence(
                der.sequence(der.sequence(good_id)),
                der.explicit(2, der.sequence(der.extension(der.oid("1.2.3.4"), True, der.null()))),
            )
        ),
        "version": der.sequence(der.sequence(der.explicit(0, der.integer(1)), der.sequence(der.sequence(good_id)))),
        "short-hash": request_der(
            [
                der.sequence(
                    der.sequence(der.oid("1.3.14.3.2.26"), der.null()),
                    der.octet_string(b"a"),
                    der.octet_string(b"b"),
                    der.integer(5),
                )
            ]
        ),
        "negative-serial": request_der(
            [
                der.sequence(
                    der.sequence(der.oid("1.3.14.3.2.26"), der.null()),
                    der.octet_string(b"a" * 20),
                    der.octet_string(b"b" * 20),
                    der.integer(-5),
                )
            ]
        ),
    }.get(data, data)  # type: ignore[call-overload]
    with pytest.raises(MalformedRequest):
        parse_request(built)  # type: ignore[arg-type]


def test_bare_nonce_value_of_old_clients_is_accepted() -> None:
    root = self_signed_root()
    parsed = parse_request(request_der([make_cert_id(root.certificate, 5)], raw_nonce_value=b"\x01" * 16))  # type: ignore[arg-type]
    assert parsed.nonce_extension is not None


@pytest.mark.parametrize("delegated", [False, True])
def test_responses_parse_verify_and_lint(delegated: bool) -> None:
    root = self_signed_root()
    ids = [make_cert_id(root.certificate, serial) for serial in (5, 6, 7)]  # type: ignore[arg-type]
    responses = [
        SingleResponse(ids[0], CertStatus.GOOD, NOW, NOW + DAY),
        SingleResponse(ids[1], CertStatus.REVOKED, NOW, NOW + DAY, NOW - DAY, RevocationReason.keyCompromise),
        SingleResponse(ids[2], CertStatus.UNKNOWN, NOW, NOW + DAY),
    ]
    nonce = request_der(ids, nonce=b"z" * 16)
    nonce_extension = parse_request(nonce).nonce_extension
    data = Responder(root.key, root.certificate, delegated=delegated).respond(responses, NOW, nonce_extension)  # type: ignore[arg-type]
    parsed = pyca_ocsp.load_der_ocsp_response(data)
    assert parsed.response_status is pyca_ocsp.OCSPResponseStatus.SUCCESSFUL
    statuses = [(r.serial_number, r.certificate_status, r.revocation_reason) for r in parsed.responses]
    assert statuses == [
        (5, pyca_ocsp.OCSPCertStatus.GOOD, None),
        (6, pyca_ocsp.OCSPCertStatus.REVOKED, x509.ReasonFlags.key_compromise),
        (7, pyca_ocsp.OCSPCertStatus.UNKNOWN, None),
    ]
    assert parsed.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"z" * 16
    assert parsed.responder_key_hash is not None
    assert len(parsed.certificates) == (1 if delegated else 0)
    root.key.public_key().verify(parsed.signature, parsed.tbs_response_bytes, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg]
    assert ocsp_findings(data) == []


@pytest.mark.parametrize("status", [s for s in ResponseStatus if s is not ResponseStatus.SUCCESSFUL])
def test_error_responses(status: ResponseStatus) -> None:
    parsed = pyca_ocsp.load_der_ocsp_response(error_response(status))
    assert parsed.response_status.value == status.value
