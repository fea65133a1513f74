"""Stored profile versions -> compiled, immutable profiles."""

from __future__ import annotations

import json
from typing import Any

from chancery.domain.records import ProfileDocumentKind, ProfileRecord
from chancery.errors import InternalError
from chancery.pki.profiles import (
    Profile,
    ProfileConfig,
    SubjectProfileConfig,
    SubjectRules,
    compile_profile,
    compile_subject,
    load_document,
)


def document_of(record: ProfileRecord) -> dict[str, Any]:
    document = json.loads(record.document_json)
    if not isinstance(document, dict):
        raise InternalError(f"stored profile {record.name} version {record.version} is not a mapping")
    return document


def compile_subject_record(record: ProfileRecord) -> SubjectRules:
    config = load_document(document_of(record))
    if not isinstance(config, SubjectProfileConfig):
        raise InternalError(f"stored profile {record.name} is not a subject-DN profile")
    return compile_subject(config, record.name, record.version)


def compile_record(record: ProfileRecord, subject: ProfileRecord | None) -> Profile:
    """The profile ``record`` describes, with the subject-DN profile version it pins."""
    if record.kind is not ProfileDocumentKind.CERTIFICATE:
        raise InternalError(f"stored profile {record.name} is not a certificate profile")
    config = load_document(document_of(record))
    assert isinstance(config, ProfileConfig)
    return compile_profile(config, record.version, compile_subject_record(subject) if subject else None)


def canonical_json(document: dict[str, Any]) -> str:
    """How a document is stored: JSON, keys in the author's order."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))
