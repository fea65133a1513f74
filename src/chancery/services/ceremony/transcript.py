"""Ceremony transcripts: what was done, by whom, when, and the SHA-256 of every artefact, signed.

A transcript is one JSON document, written exactly as :func:`render` lays it out
(sorted keys, two-space indent, ASCII), so that any change to any byte is
detected: either the document no longer parses, no longer has that exact
layout, or its signature no longer verifies. The signature is Ed25519 (RFC 8032)
by the installation's audit key over::

    b"chancery-ceremony-transcript/1\\n" + canonical JSON of the document without "signature"

(canonical: sorted keys, no whitespace, ASCII). The prefix keeps a transcript
signature from ever being mistaken for an audit checkpoint signature by the same
key. The document carries the public key (``signer``); the audit log records its
SHA-256 and the transcript's, so a verifier can pin the key with ``--key-sha256``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from chancery.keys.base import KeyHandle

FORMAT = "chancery-ceremony-transcript/1"
_DOMAIN = FORMAT.encode("ascii") + b"\n"
MAX_TRANSCRIPT_BYTES = 4 * 1024 * 1024


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def render(document: dict[str, Any]) -> bytes:
    """The bytes of a transcript file."""
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode("ascii")


def _message(document: dict[str, Any]) -> bytes:
    body = {key: value for key, value in document.items() if key != "signature"}
    return _DOMAIN + json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sign(document: dict[str, Any], key: KeyHandle) -> bytes:
    """``document`` with its ``signer`` and ``signature``, rendered; ``key`` is an Ed25519 key."""
    public = key.public_key()
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise TypeError("transcripts are signed with an Ed25519 key")
    spki = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    signed = {
        **document,
        "signer": {
            "algorithm": "Ed25519",
            "key_id": key.key_id,
            "public_key": base64.b64encode(raw).decode("ascii"),
            "public_key_sha256": sha256_hex(spki),
        },
    }
    signed["signature"] = base64.b64encode(key.sign(_message(signed), None)).decode("ascii")
    return render(signed)


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify`: ``problem`` is the first mismatch, empty when all is well."""

    problem: str
    ceremony: str = ""
    outcome: str = ""
    artefacts: int = 0
    key_sha256: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def verify(data: bytes, read: Callable[[str], bytes | None], key_sha256: str | None = None) -> Verification:
    """Check a transcript's layout and signature, then every artefact's SHA-256 (``read(file)``
    gives a file's bytes, ``None`` when it is missing). Stops at the first mismatch."""
    document, problem = _parse(data)
    if document is None:
        return Verification(problem)
    signer = document["signer"]
    found = Verification("", str(document.get("ceremony", "")), str(document.get("outcome", "")))
    try:
        public = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(signer["public_key"], validate=True))
        public.verify(base64.b64decode(document["signature"], validate=True), _message(document))
    except (InvalidSignature, ValueError, TypeError, KeyError):
        return Verification("the transcript's signature does not verify: it was altered", found.ceremony)
    spki = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if signer.get("public_key_sha256") != sha256_hex(spki):
        return Verification("the signer's public key and its SHA-256 differ", found.ceremony)
    if key_sha256 is not None and sha256_hex(spki) != key_sha256.strip().lower():
        return Verification(f"signed by key {sha256_hex(spki)}, not by the expected {key_sha256}", found.ceremony)
    artefacts = document.get("artefacts")
    if not isinstance(artefacts, list):
        return Verification("the transcript lists no artefacts", found.ceremony)
    for artefact in artefacts:
        if not isinstance(artefact, dict):
            return Verification("the transcript's list of artefacts is damaged", found.ceremony)
        name, expected = str(artefact.get("file")), str(artefact.get("sha256"))
        content = read(name)
        if content is None:
            return Verification(f"artefact {name} is missing", found.ceremony)
        if sha256_hex(content) != expected:
            return Verification(
                f"artefact {name} differs: SHA-256 {sha256_hex(content)}, the transcript says {expected}",
                found.ceremony,
            )
    return Verification("", found.ceremony, found.outcome, len(artefacts), sha256_hex(spki))


def _parse(data: bytes) -> tuple[dict[str, Any] | None, str]:
    if len(data) > MAX_TRANSCRIPT_BYTES:
        return None, "the file is too large to be a transcript"
    try:
        document = json.loads(data.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None, "the file is not a transcript (not ASCII JSON): it was altered or is something else"
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return None, f"the file is not a {FORMAT} document"
    if render(document) != data:
        return None, "the transcript is not laid out as Chancery writes it: it was edited"
    if not isinstance(document.get("signer"), dict) or not isinstance(document.get("signature"), str):
        return None, "the transcript is not signed"
    return document, ""
