"""Benchmark (a): certificates/s of Chancery's pki layer (prepare + sign) beside raw
pyca/cryptography building and signing the same certificate (P-256 issuer, 8 extensions).

Two raw spellings: the fluent builder the pyca documentation shows, and pyca's
fastest (one CertificateBuilder(...) call with reused extension objects, which is
what Chancery does). The three run in alternating chunks so that the machine's
drift affects them alike; totals are compared.
"""

from __future__ import annotations

import datetime as dt
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from chancery.domain.keytypes import KeyType
from chancery.domain.records import DistributionUrls
from chancery.domain.serials import new_serial
from chancery.keys.generation import generate_private_key
from chancery.keys.software import SoftwareKeyHandle
from chancery.pki.issuer import CertificateRequest, Signer, prepare
from chancery.pki.names import parse_name
from chancery.pki.profiles import builtin_profile

URLS = DistributionUrls(
    "http://127.0.0.1:8000/crl/issuing.crl", "http://127.0.0.1:8000/ocsp", "http://127.0.0.1:8000/ca/issuing.crt"
)
NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.timezone.utc)


def _setup() -> tuple[Signer, ec.EllipticCurvePrivateKey, x509.Certificate, ec.EllipticCurvePublicKey]:
    ca_key = generate_private_key(KeyType.EC_P256)
    handle = SoftwareKeyHandle("bench", KeyType.EC_P256, ca_key)
    root_request = CertificateRequest(parse_name("CN=Bench CA"), handle.public_key(), builtin_profile("root-ca"))
    ca_cert = prepare(root_request, Signer(handle, None, URLS), new_serial(), NOW).sign()
    leaf_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return Signer(handle, ca_cert, URLS), ca_key, ca_cert, leaf_key  # type: ignore[return-value]


def raw_cryptography(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, leaf_key: ec.EllipticCurvePublicKey
) -> x509.Certificate:
    """The same certificate with nothing but pyca/cryptography."""
    aki = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "www.example.com")]))
        .issuer_name(ca_cert.subject)
        .public_key(leaf_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("www.example.com")]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key), False)
        .add_extension(x509.AuthorityKeyIdentifier(aki, None, None), False)
        .add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([x509.UniformResourceIdentifier(URLS.crl)], None, None, None)]
            ),
            False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(URLS.ocsp)
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(URLS.ca_issuers)
                    ),
                ]
            ),
            False,
        )
    )
    return builder.sign(ca_key, hashes.SHA256())


def raw_cryptography_constructor(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, leaf_key: ec.EllipticCurvePublicKey
) -> x509.Certificate:
    """The same with pyca's fastest spelling: one CertificateBuilder(...) call, extension objects reused."""
    builder = x509.CertificateBuilder(
        issuer_name=ca_cert.subject,
        subject_name=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "www.example.com")]),
        public_key=leaf_key,
        serial_number=x509.random_serial_number(),
        not_valid_before=NOW.replace(tzinfo=None),
        not_valid_after=(NOW + dt.timedelta(days=365)).replace(tzinfo=None),
        extensions=[
            *_STATIC_EXTENSIONS[:3],
            x509.Extension(
                x509.SubjectAlternativeName.oid, False, x509.SubjectAlternativeName([x509.DNSName("www.example.com")])
            ),
            x509.Extension(x509.SubjectKeyIdentifier.oid, False, x509.SubjectKeyIdentifier.from_public_key(leaf_key)),
            *_STATIC_EXTENSIONS[3:],
        ],
    )
    return builder.sign(ca_key, hashes.SHA256())


_STATIC_EXTENSIONS: list[x509.Extension[x509.ExtensionType]] = []


def chancery_pki(signer: Signer, leaf_key: ec.EllipticCurvePublicKey) -> x509.Certificate:
    """The same certificate through prepare (checks, profile, facts for the database) and sign."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "www.example.com")])  # as a parsed CSR has it
    request = CertificateRequest(
        subject, leaf_key, builtin_profile("tls-server"), sans=(x509.DNSName("www.example.com"),)
    )
    return prepare(request, signer, new_serial(), NOW).sign()


def run(seconds: float = 10.0, chunk: int = 100) -> dict[str, float]:
    """Alternate chunks of both so that the machine's drift hits them alike; compare total times."""
    signer, ca_key, ca_cert, leaf_key = _setup()
    raw_cert = raw_cryptography(ca_key, ca_cert, leaf_key)
    _STATIC_EXTENSIONS[:] = [
        e for e in raw_cert.extensions if e.oid not in (x509.SubjectAlternativeName.oid, x509.SubjectKeyIdentifier.oid)
    ]
    contestants = {
        "raw_cryptography": lambda: raw_cryptography(ca_key, ca_cert, leaf_key),
        "raw_cryptography_constructor": lambda: raw_cryptography_constructor(ca_key, ca_cert, leaf_key),
        "chancery_pki": lambda: chancery_pki(signer, leaf_key),
    }
    for fn in contestants.values():
        assert len(fn().extensions) == 8
        for _ in range(3 * chunk):  # warm-up
            fn()
    spent = dict.fromkeys(contestants, 0.0)
    count = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for name, fn in contestants.items():
            start = time.perf_counter()
            for _ in range(chunk):
                fn()
            spent[name] += time.perf_counter() - start
        count += chunk
    result = {f"{name}_per_s": count / seconds_spent for name, seconds_spent in spent.items()}
    result["ratio"] = spent["raw_cryptography"] / spent["chancery_pki"]
    result["ratio_constructor"] = spent["raw_cryptography_constructor"] / spent["chancery_pki"]
    return result


if __name__ == "__main__":
    result = run(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)
    print(f"raw pyca/cryptography, fluent builder     : {result['raw_cryptography_per_s']:8.0f} certificates/s")
    print(
        f"raw pyca/cryptography, one constructor    : {result['raw_cryptography_constructor_per_s']:8.0f} certificates/s"
    )
    print(f"Chancery pki (prepare + sign)             : {result['chancery_pki_per_s']:8.0f} certificates/s")
    print(f"ratio to fluent / to constructor          : {result['ratio']:8.1%} / {result['ratio_constructor']:.1%}")
