"""``chancery profile``: import, export, versions and preview, and issuing under a custom profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.interop.conftest import Cli, openssl, openssl_csr

pytestmark = pytest.mark.interop

CUSTOM = """\
name: intranet
description: intranet web servers
validity: {default: 30d, max: 90d}
keys:
  - {algorithm: ec, curves: [P-256, P-384]}
key_usage: {critical: true, usages: [digital_signature]}
extended_key_usage: {critical: false, usages: [server_auth]}
subject:
  rules:
    - {attribute: CN, required: true}
sans:
  required: true
  types:
    DNS: {allow: [corp.example.com], wildcards: false}
lint: {mode: every, validators: [pkix]}
"""


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_import_issue_edit_export_and_versions(cli: Cli, tmp_path: Path) -> None:
    cli.hierarchy()
    profile = tmp_path / "intranet.yaml"
    profile.write_text(CUSTOM)
    assert "profile intranet created version 1" in cli("profile", "import", str(profile)).stdout
    assert "intranet" in cli("profile", "list").stdout
    csr = openssl_csr(tmp_path, "app", cn="app.corp.example.com", san="DNS:app.corp.example.com")
    cli.issue(csr, tmp_path / "app.pem", profile="intranet")
    text = openssl("x509", "-in", str(tmp_path / "app.pem"), "-noout", "-text").stdout
    assert "TLS Web Server Authentication" in text and "DNS:app.corp.example.com" in text
    listed = json_lines(cli("cert", "list", "--ca", "issuing", "--profile", "intranet", "--json").stdout)
    assert [(c["profile"], c["profile_version"]) for c in listed] == [("intranet", 1)]

    exported = tmp_path / "exported.yaml"
    cli("profile", "export", "intranet", "--out", str(exported))
    document = yaml.safe_load(exported.read_text())
    document["validity"]["default"] = "7d"
    exported.write_text(yaml.safe_dump(document))
    assert "updated to version 2" in cli("profile", "import", str(exported), "--comment", "one week").stdout
    assert "unchanged (version 2)" in cli("profile", "import", str(exported)).stdout
    versions = cli("profile", "versions", "intranet").stdout
    assert "one week" in versions and "shipped" not in versions
    assert yaml.safe_load(cli("profile", "export", "intranet", "--version", "1").stdout)["validity"]["default"] == "30d"

    outside = openssl_csr(tmp_path, "out", cn="www.example.org", san="DNS:www.example.org")
    refused = cli("cert", "issue", "--ca", "issuing", "--profile", "intranet", "--csr", str(outside), check=False)
    assert refused.returncode == 2 and "outside the domains profile intranet@2 allows" in refused.stderr


def test_preview_prints_fields_and_findings_and_issues_nothing(cli: Cli, tmp_path: Path) -> None:
    cli.hierarchy()
    csr = openssl_csr(tmp_path, "www", cn="intranet.corp", san="DNS:intranet.corp")
    shown = cli("profile", "preview", "tls-server", "--ca", "issuing", "--csr", str(csr))
    assert "nothing issued" in shown.stdout and "subject: CN=intranet.corp" in shown.stdout
    assert "cabf.internal_domain_name" in shown.stdout and "accepted by the profile" in shown.stdout
    preview = json.loads(cli("profile", "preview", "tls-server", "--ca", "issuing", "--csr", str(csr), "--json").stdout)
    assert preview["lint"]["passed"] and preview["certificate"]["subject"] == "CN=intranet.corp"
    assert json_lines(cli("cert", "list", "--ca", "issuing", "--json").stdout) == []


@pytest.mark.parametrize(
    ("content", "says"),
    [
        pytest.param("name: x\nbogus: 1\n", "bogus: Extra inputs are not permitted", id="fail/unknown-key"),
        pytest.param(
            CUSTOM.replace("server_auth", "1.3.6.1..5"), "extended_key_usage.usages: unknown usage", id="fail/bad-oid"
        ),
        pytest.param(
            CUSTOM.replace("allow: [corp.example.com]", "regex: '(['"), "regex does not compile", id="fail/bad-regex"
        ),
        pytest.param("name: [unclosed\n", "not a valid YAML document", id="fail/bad-yaml"),
        pytest.param(
            CUSTOM.replace("max: 90d}", "max: 9000d}") + "cas: [issuing]\n",
            "validity.max: 9000 days is longer than CA 'issuing' remains valid",
            id="fail/max-validity-above-the-ca",
        ),
    ],
)
def test_bad_profile_files_are_refused_with_the_field_and_rule(
    cli: Cli, tmp_path: Path, content: str, says: str
) -> None:
    cli.hierarchy()
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    result = cli("profile", "import", str(path), check=False)
    assert result.returncode == 2 and says in " ".join(result.stderr.split()), result.stderr
    assert "bad" not in cli("profile", "list").stdout.split()
