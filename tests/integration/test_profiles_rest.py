"""The profiles API over HTTP: JSON and YAML documents, versions, export, preview, issuance."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from fastapi.testclient import TestClient

from chancery import wiring
from chancery.domain.principals import Principal, Role
from chancery.domain.records import CertificateAuthorityRecord
from chancery.pki.profiles.files import MAX_PROFILE_BYTES
from chancery.web.app import create_app
from tests.support.csrs import make_csr

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"
CUSTOM_YAML = """\
name: web-internal
description: internal web servers
validity: {default: 30d, max: 90d}
keys:
  - {algorithm: ec, curves: [P-256]}
key_usage: {critical: true, usages: [digital_signature]}
extended_key_usage: {critical: false, usages: [server_auth]}
subject:
  rules:
    - {attribute: O, value: Example Corp, from_request: false}
    - {attribute: CN, required: true}
sans:
  required: true
  copy_common_name: true
  types:
    DNS: {allow: [corp.example.com], wildcards: false}
lint: {mode: every, validators: [pkix]}
"""


@pytest.fixture
def client(app: wiring.Application, issuing: CertificateAuthorityRecord) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as http:
        yield http


def bearer(app: wiring.Application, admin: Principal, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.tokens.create(admin, role.value, frozenset({role})).token}"}


@pytest.fixture
def auth(app: wiring.Application, admin: Principal) -> dict[str, str]:
    return bearer(app, admin, Role.ADMINISTRATOR)


def yaml_body(text: str) -> dict[str, object]:
    return {"content": text.encode(), "headers": {"Content-Type": "application/yaml"}}


def test_create_from_yaml_issue_under_it_and_see_the_version(client: TestClient, auth: dict[str, str]) -> None:
    created = client.post(
        "/api/v1/profiles?comment=first", content=CUSTOM_YAML, headers={**auth, "Content-Type": "application/yaml"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["version"], body["kind"], body["created"], body["comment"]) == (
        "web-internal",
        1,
        "certificate",
        True,
        "first",
    )
    csr = make_csr(cn="app.corp.example.com", sans=())[1].decode()
    issued = client.post("/api/v1/cas/issuing/certificates", json={"csr": csr, "profile": "web-internal"}, headers=auth)
    assert issued.status_code == 201, issued.text
    assert issued.json()["profile"] == "web-internal" and issued.json()["profile_version"] == 1
    assert issued.json()["subject"] == "CN=app.corp.example.com,O=Example Corp"
    assert issued.json()["sans"] == ["DNS:app.corp.example.com"]
    shown = client.get(f"/api/v1/cas/issuing/certificates/{issued.json()['serial_number']}", headers=auth)
    assert shown.json()["profile_version"] == 1


def test_edit_with_json_makes_version_two_and_export_yaml_round_trips(client: TestClient, auth: dict[str, str]) -> None:
    client.post("/api/v1/profiles", content=CUSTOM_YAML, headers={**auth, "Content-Type": "application/yaml"})
    document = client.get("/api/v1/profiles/web-internal", headers=auth).json()["document"]
    document["validity"]["default"] = "14d"
    edited = client.put("/api/v1/profiles/web-internal?comment=shorter", json=document, headers=auth)
    assert edited.status_code == 200 and edited.json()["version"] == 2 and edited.json()["created"]
    again = client.put("/api/v1/profiles/web-internal", json=document, headers=auth)
    assert again.status_code == 200 and again.json()["version"] == 2 and not again.json()["created"]
    exported = client.get("/api/v1/profiles/web-internal?version=1", headers={**auth, "Accept": "application/yaml"})
    assert exported.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(exported.text)["validity"]["default"] == "30d"
    versions = client.get("/api/v1/profiles/web-internal/versions", headers=auth).json()["items"]
    assert [(v["version"], v["comment"]) for v in versions] == [(1, ""), (2, "shorter")]
    listed = {p["name"]: p for p in client.get("/api/v1/profiles", headers=auth).json()["items"]}
    assert listed["web-internal"]["version"] == 2 and listed["organisation"]["kind"] == "subject"


def test_preview_returns_fields_and_findings(client: TestClient, auth: dict[str, str], app: wiring.Application) -> None:
    csr = make_csr(cn="intranet.corp", sans=("DNS:intranet.corp",))[1].decode()
    response = client.post("/api/v1/profiles/tls-server/preview", json={"csr": csr, "ca": "issuing"}, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["profile"] == "tls-server" and body["version"] == 1 and body["ca"] == "issuing"
    certificate = body["certificate"]
    assert certificate["subject"] == "CN=intranet.corp" and certificate["issuer"].startswith("CN=Test Issuing CA")
    extensions = {e["name"]: e for e in certificate["extensions"]}
    assert extensions["extendedKeyUsage"]["value"] == ["server_auth"]
    assert extensions["certificatePolicies"]["value"] == [{"oid": "2.23.140.1.2.1"}]
    assert not {"signature", "signature_algorithm", "pem", "der"} & set(
        certificate
    )  # the throwaway signature is never shown
    lint = body["lint"]
    assert lint["passed"] and lint["validators"] == ["cabf-serverauth"]
    internal = [f for f in lint["findings"] if f["code"] == "cabf.internal_domain_name"]
    assert internal and all(f["accepted"] for f in internal)
    assert client.get("/api/v1/cas/issuing/certificates", headers=auth).json()["items"] == []


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "kind", "says"),
    [
        pytest.param(
            "post",
            "/api/v1/profiles",
            yaml_body(
                "name: x\nvalidity: {default: 9d, max: 1d}\nkey_usage: {critical: true, usages: [nope]}\nbogus: 1\n"
            ),
            400,
            "malformed",
            "bogus",
            id="fail/invalid-profile-lists-every-problem",
        ),
        pytest.param(
            "post", "/api/v1/profiles", yaml_body("name: [unclosed"), 400, "malformed", "line 1", id="fail/bad-yaml"
        ),
        pytest.param(
            "post",
            "/api/v1/profiles",
            yaml_body("a: &x 1\nb: *x\n"),
            400,
            "malformed",
            "not allowed",
            id="fail/yaml-alias",
        ),
        pytest.param(
            "post",
            "/api/v1/profiles",
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "malformed",
            "not valid JSON",
            id="fail/bad-json",
        ),
        pytest.param(
            "post",
            "/api/v1/profiles",
            {"content": b"name: x", "headers": {"Content-Type": "text/plain"}},
            415,
            "unsupported-media-type",
            "application/yaml",
            id="fail/media-type",
        ),
        pytest.param(
            "post",
            "/api/v1/profiles",
            {"content": b" " * (MAX_PROFILE_BYTES + 1), "headers": {"Content-Type": "application/json"}},
            413,
            "payload-too-large",
            "KiB",
            id="fail/oversized",
        ),
        pytest.param(
            "post",
            "/api/v1/profiles",
            yaml_body(CUSTOM_YAML.replace("web-internal", "device")),
            409,
            "conflict",
            "exists",
            id="fail/create-existing",
        ),
        pytest.param(
            "put",
            "/api/v1/profiles/device",
            yaml_body(CUSTOM_YAML),
            400,
            "malformed",
            "not 'device'",
            id="fail/put-other-name",
        ),
        pytest.param(
            "put",
            "/api/v1/profiles/web-internal",
            yaml_body(CUSTOM_YAML),
            404,
            "not-found",
            "create it",
            id="fail/put-missing",
        ),
        pytest.param("get", "/api/v1/profiles/nope", {}, 404, "not-found", "no profile", id="fail/unknown-profile"),
        pytest.param(
            "get", "/api/v1/profiles/device?version=9", {}, 404, "not-found", "version 9", id="fail/unknown-version"
        ),
        pytest.param(
            "post",
            "/api/v1/profiles/tls-server/preview",
            {"json": {"csr": "junk", "ca": "issuing"}},
            400,
            "malformed",
            "",
            id="fail/preview-bad-csr",
        ),
        pytest.param(
            "post",
            "/api/v1/profiles/tls-server/preview",
            {"json": {"csr": "x", "ca": "issuing", "extra": 1}},
            400,
            "malformed",
            "extra",
            id="fail/preview-unknown-field",
        ),
    ],
)
def test_bad_requests_get_problem_documents(
    client: TestClient,
    auth: dict[str, str],
    method: str,
    path: str,
    kwargs: dict[str, object],
    status: int,
    kind: str,
    says: str,
) -> None:
    arguments = dict(kwargs)  # the parameters are shared by the SQLite and PostgreSQL runs: never mutate them
    headers = {**auth, **arguments.pop("headers", {})}  # type: ignore[dict-item]
    response = getattr(client, method)(path, headers=headers, **arguments)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith(kind) and says in response.text
    assert client.get("/api/v1/profiles/device/versions", headers=auth).json()["items"][-1]["version"] == 1


def test_invalid_profiles_come_back_with_one_subproblem_per_field(client: TestClient, auth: dict[str, str]) -> None:
    text = "name: x\nvalidity: {default: 9d, max: 1d}\nkey_usage: {critical: true, usages: [nope]}\npath_length: 1\n"
    response = client.post("/api/v1/profiles", content=text, headers={**auth, "Content-Type": "application/yaml"})
    fields = {p["identifier"] for p in response.json()["subproblems"]}
    assert {"validity", "key_usage.usages.0", "path_length"} <= fields


def test_a_lint_failure_is_422_with_the_findings(client: TestClient, auth: dict[str, str]) -> None:
    broken = CUSTOM_YAML.replace(
        "lint: {mode: every, validators: [pkix]}", "extensions:\n  custom: [{oid: 2.5.29.54, value: '020100'}]\n"
    )
    assert (
        client.post(
            "/api/v1/profiles", content=broken, headers={**auth, "Content-Type": "application/yaml"}
        ).status_code
        == 201
    )
    csr = make_csr(cn="app.corp.example.com", sans=())[1].decode()
    response = client.post(
        "/api/v1/cas/issuing/certificates", json={"csr": csr, "profile": "web-internal"}, headers=auth
    )
    assert response.status_code == 422 and response.json()["type"].endswith("lint-failed")
    found = {p["identifier"] for p in response.json()["subproblems"]}
    assert "pkix.end_entity_inhibit_anypolicy_extension_present" in found, found


def test_who_may_read_and_write_profiles(client: TestClient, app: wiring.Application, admin: Principal) -> None:
    auditor, operator, requester = (bearer(app, admin, r) for r in (Role.AUDITOR, Role.CA_OPERATOR, Role.REQUESTER))
    assert client.get("/api/v1/profiles", headers=auditor).status_code == 200
    assert client.get("/api/v1/profiles", headers=requester).status_code == 403
    assert client.get("/api/v1/profiles").status_code == 401
    headers = {"Content-Type": "application/yaml"}
    assert client.post("/api/v1/profiles", content=CUSTOM_YAML, headers={**auditor, **headers}).status_code == 403
    assert client.post("/api/v1/profiles", content=CUSTOM_YAML, headers={**operator, **headers}).status_code == 201
    lint_off = CUSTOM_YAML.replace("mode: every", "mode: 'off'")
    refused = client.put(
        "/api/v1/profiles/web-internal?comment=speed", content=lint_off, headers={**operator, **headers}
    )
    assert refused.status_code == 403 and "disable-lint" in refused.text
