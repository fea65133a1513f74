"""LdapDirectory against a real OpenLDAP slapd (tests/support/slapd.py), over ldap://, StartTLS and ldaps://."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from ldap3 import NONE, Connection, Server

from chancery.domain.identity import LdapSettings
from chancery.errors import InternalError
from chancery.services.identity.ldap import LdapDirectory
from tests.support.slapd import PEOPLE, ServerTls, Slapd, group_dn, slapd_available, start_slapd, user_dn

pytestmark = pytest.mark.integration

ALICE_PASSWORD = PEOPLE["alice"][0]
BOB_PASSWORD = PEOPLE["bob"][0]
DIRECTORY = LdapDirectory()


# -- TLS material (pyca/cryptography) ----------------------------------------------------------


@dataclass(frozen=True)
class Authority:
    name: x509.Name
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def _builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def make_authority(common_name: str) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
    certificate = (
        _builder(name, name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return Authority(name, key, certificate)


def make_server_tls(ca: Authority, dns_names: tuple[str, ...], ips: tuple[str, ...]) -> ServerTls:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (ips or dns_names)[0])])
    names = [x509.DNSName(d) for d in dns_names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key())
    certificate = (
        _builder(subject, ca.name, key.public_key())
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(aki, critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ServerTls(certificate.public_bytes(serialization.Encoding.PEM), key_pem, ca.pem)


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> Authority:
    return make_authority("Chancery test LDAP CA")


@pytest.fixture(scope="module")
def other_ca() -> Authority:
    return make_authority("Some other CA")


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory, ca: Authority) -> Iterator[Slapd]:
    if not slapd_available():
        pytest.fail("OpenLDAP slapd is not installed (/usr/sbin/slapd; `make test` installs package slapd)")
    server = start_slapd(tmp_path_factory.mktemp("slapd"), make_server_tls(ca, ("localhost",), ("127.0.0.1",)))
    yield server
    server.stop()


@pytest.fixture
def admin(slapd: Slapd) -> Iterator[Connection]:
    conn = Connection(Server(slapd.url, get_info=NONE), slapd.admin_dn, slapd.admin_password, auto_bind=True)
    yield conn
    conn.unbind()


def settings_for(slapd: Slapd, **changes: object) -> LdapSettings:
    base = LdapSettings(
        url=slapd.url, base_dn=slapd.base_dn, bind_dn=slapd.bind_dn, bind_password_sealed="sealed-elsewhere"
    )
    return replace(base, **changes)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- search, then bind -------------------------------------------------------------------------


def test_alice_authenticates_and_gets_her_group_once(slapd: Slapd) -> None:
    user = DIRECTORY.authenticate(settings_for(slapd), slapd.bind_password, "alice", ALICE_PASSWORD)

    assert user is not None
    assert user.dn == user_dn("alice")
    assert user.display_name == "Alice Liddell"
    # found twice when the memberof overlay is loaded (memberOf and the group search), listed once
    assert user.groups == (group_dn("ca-ops"),)


@pytest.mark.parametrize(
    ("username", "password"),
    [
        pytest.param("alice", "wrong-password", id="fail/wrong-password"),
        pytest.param("alice", BOB_PASSWORD, id="fail/another-users-password"),
        pytest.param("mallory", ALICE_PASSWORD, id="fail/unknown-user"),
        pytest.param("*)(uid=*", ALICE_PASSWORD, id="fail/injection-wildcard"),
        pytest.param("alice)(|(uid=*", ALICE_PASSWORD, id="fail/injection-or"),
        pytest.param("al*", ALICE_PASSWORD, id="fail/wildcard-prefix-would-find-alice"),
        pytest.param("*", ALICE_PASSWORD, id="fail/star"),
        pytest.param("alice\x00", ALICE_PASSWORD, id="fail/nul"),
        pytest.param("a" * 500, ALICE_PASSWORD, id="fail/500-characters"),
        pytest.param("", ALICE_PASSWORD, id="fail/empty-username"),
    ],
)
def test_refused_logins_return_none(slapd: Slapd, username: str, password: str) -> None:
    assert DIRECTORY.authenticate(settings_for(slapd), slapd.bind_password, username, password) is None


def test_empty_password_is_refused_without_any_bind(slapd: Slapd) -> None:
    binds_before = slapd.log().count(" BIND dn=")

    assert DIRECTORY.authenticate(settings_for(slapd), slapd.bind_password, "alice", "") is None

    assert slapd.log().count(" BIND dn=") == binds_before


def test_a_filter_matching_two_entries_is_refused(slapd: Slapd) -> None:
    ambiguous = settings_for(slapd, user_filter="(|(uid={username})(uid=bob))")

    assert DIRECTORY.authenticate(ambiguous, slapd.bind_password, "alice", ALICE_PASSWORD) is None
    assert DIRECTORY.lookup(ambiguous, slapd.bind_password, "alice") is None


@pytest.mark.parametrize(
    ("user_filter", "message"),
    [
        pytest.param("(uid=alice)", "no {username} placeholder", id="fail/no-placeholder"),
        pytest.param("(uid={username}", "user search failed: LDAPInvalidFilterError", id="fail/unbalanced"),
    ],
)
def test_a_broken_user_filter_is_a_configuration_error(slapd: Slapd, user_filter: str, message: str) -> None:
    with pytest.raises(InternalError, match=re.escape(message)):
        DIRECTORY.authenticate(settings_for(slapd, user_filter=user_filter), slapd.bind_password, "bob", BOB_PASSWORD)


def test_lookup_returns_the_user_and_groups_without_a_password(slapd: Slapd) -> None:
    user = DIRECTORY.lookup(settings_for(slapd), slapd.bind_password, "bob")

    assert user is not None
    assert (user.dn, user.display_name, user.groups) == (user_dn("bob"), "Bob Builder", (group_dn("auditors"),))
    assert DIRECTORY.lookup(settings_for(slapd), slapd.bind_password, "mallory") is None
    assert DIRECTORY.lookup(settings_for(slapd), slapd.bind_password, "*") is None


def test_unique_member_and_posix_groups_count_and_cn_stands_in_for_display_name(
    slapd: Slapd, admin: Connection
) -> None:
    dave = user_dn("dave")
    entries = {
        dave: (["inetOrgPerson"], {"uid": "dave", "cn": "Dave Null", "sn": "Null"}),
        group_dn("unique-ops"): (["groupOfUniqueNames"], {"cn": "unique-ops", "uniqueMember": [dave]}),
        group_dn("posix-ops"): (["posixGroup"], {"cn": "posix-ops", "gidNumber": "5001", "memberUid": ["dave"]}),
    }
    try:
        for dn, (classes, attributes) in entries.items():
            assert admin.add(dn, classes, attributes), admin.result
        user = DIRECTORY.lookup(settings_for(slapd), slapd.bind_password, "dave")
    finally:
        for dn in reversed(entries):
            admin.delete(dn)

    assert user is not None
    assert user.display_name == "Dave Null"
    assert set(user.groups) == {group_dn("unique-ops"), group_dn("posix-ops")}


# -- the directory failing ---------------------------------------------------------------------


def test_a_refused_service_account_is_an_internal_error_without_the_password(slapd: Slapd) -> None:
    wrong = "not-the-reader-password-s3cret"

    with pytest.raises(InternalError) as caught:
        DIRECTORY.authenticate(settings_for(slapd), wrong, "alice", ALICE_PASSWORD)

    assert "service account" in caught.value.detail
    assert wrong not in str(caught.value) and ALICE_PASSWORD not in str(caught.value)


def test_an_unreachable_server_is_an_internal_error_within_the_timeout(slapd: Slapd) -> None:
    url = f"ldap://127.0.0.1:{closed_port()}"
    started = time.monotonic()

    with pytest.raises(InternalError, match="cannot reach LDAP server ldap://127.0.0.1:") as caught:
        DIRECTORY.authenticate(settings_for(slapd, url=url), slapd.bind_password, "alice", ALICE_PASSWORD)

    assert time.monotonic() - started < 6
    assert slapd.bind_password not in str(caught.value) and ALICE_PASSWORD not in str(caught.value)


@pytest.mark.slow
def test_a_server_that_never_answers_times_out(slapd: Slapd) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"ldap://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(InternalError, match="no answer within 5 s"):
            DIRECTORY.lookup(settings_for(slapd, url=url), slapd.bind_password, "alice")
        assert time.monotonic() - started < 8


# -- transport security ------------------------------------------------------------------------


def test_starttls_with_the_right_ca(slapd: Slapd, ca: Authority) -> None:
    starttls_before = slapd.log().count("EXT oid=1.3.6.1.4.1.1466.20037")
    settings = settings_for(slapd, start_tls=True, ca_certificates_pem=ca.pem.decode())

    user = DIRECTORY.authenticate(settings, slapd.bind_password, "alice", ALICE_PASSWORD)

    assert user is not None and user.groups == (group_dn("ca-ops"),)
    assert slapd.log().count("EXT oid=1.3.6.1.4.1.1466.20037") == starttls_before + 2  # service + user binds


def test_ldaps_with_the_right_ca(slapd: Slapd, ca: Authority) -> None:
    assert slapd.ldaps_url is not None
    settings = settings_for(slapd, url=slapd.ldaps_url, ca_certificates_pem=ca.pem.decode())

    user = DIRECTORY.authenticate(settings, slapd.bind_password, "alice", ALICE_PASSWORD)

    assert user is not None and user.dn == user_dn("alice")


@pytest.mark.parametrize("transport", ["starttls", "ldaps"])
@pytest.mark.parametrize("trust", ["other-ca", "system-store"])
def test_a_server_certificate_from_an_untrusted_ca_is_refused(
    slapd: Slapd, other_ca: Authority, transport: str, trust: str
) -> None:
    pem = other_ca.pem.decode() if trust == "other-ca" else None
    if transport == "starttls":
        settings = settings_for(slapd, start_tls=True, ca_certificates_pem=pem)
    else:
        settings = settings_for(slapd, url=slapd.ldaps_url, ca_certificates_pem=pem)

    with pytest.raises(InternalError, match="not trusted") as caught:
        DIRECTORY.authenticate(settings, slapd.bind_password, "alice", ALICE_PASSWORD)

    assert slapd.bind_password not in str(caught.value) and ALICE_PASSWORD not in str(caught.value)


def test_a_certificate_for_another_host_name_is_refused(
    tmp_path_factory: pytest.TempPathFactory, slapd: Slapd, ca: Authority
) -> None:
    elsewhere = start_slapd(tmp_path_factory.mktemp("slapd-elsewhere"), make_server_tls(ca, ("ldap.example.test",), ()))
    try:
        settings = settings_for(slapd, url=elsewhere.ldaps_url, ca_certificates_pem=ca.pem.decode())
        with pytest.raises(InternalError, match="not issued for this host"):
            DIRECTORY.lookup(settings, elsewhere.bind_password, "alice")
    finally:
        elsewhere.stop()


def test_concurrent_logins_share_one_instance(slapd: Slapd) -> None:
    results: list[object] = []

    def login(name: str, password: str) -> None:
        results.append(DIRECTORY.authenticate(settings_for(slapd), slapd.bind_password, name, password))

    threads = [threading.Thread(target=login, args=(n, p)) for n, (p, _) in PEOPLE.items() for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 9 and all(result is not None for result in results)
