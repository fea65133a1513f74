"""The profiles Chancery ships (``builtin/*.yaml``), installed by ``chancery init``.

Once installed they are ordinary stored profiles: an operator may edit them
(a new version) like any other. :func:`builtin_profiles` compiles the shipped
version, for tests and for checking the files themselves.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from chancery.errors import NotFound
from chancery.pki.profiles.compiler import compile_profile, compile_subject
from chancery.pki.profiles.config import ProfileConfig, SubjectProfileConfig, load_document
from chancery.pki.profiles.files import parse_profile_text
from chancery.pki.profiles.model import Profile, SubjectRules

_DIRECTORY = Path(__file__).with_name("builtin")


@cache
def builtin_documents() -> tuple[tuple[str, dict[str, Any]], ...]:
    """(name, document) of every shipped profile, subject-DN profiles first."""
    documents = [parse_profile_text(path.read_bytes()) for path in sorted(_DIRECTORY.glob("*.yaml"))]
    documents.sort(key=lambda document: document.get("kind") != "subject")
    return tuple((document["name"], document) for document in documents)


@cache
def builtin_profiles() -> dict[str, Profile]:
    """The shipped certificate profiles, compiled as version 1."""
    subjects: dict[str, SubjectRules] = {}
    profiles: dict[str, Profile] = {}
    for name, document in builtin_documents():
        config = load_document(document)
        if isinstance(config, SubjectProfileConfig):
            subjects[name] = compile_subject(config, name, 1)
        else:
            assert isinstance(config, ProfileConfig)
            referenced = subjects.get(config.subject_profile) if config.subject_profile else None
            profiles[name] = compile_profile(config, 1, referenced)
    return profiles


def builtin_profile(name: str) -> Profile:
    """One shipped profile; raise :class:`NotFound` naming the choices."""
    profile = builtin_profiles().get(name)
    if profile is None:
        raise NotFound(f"unknown profile {name[:60]!r}; built-in: {', '.join(sorted(builtin_profiles()))}")
    return profile
