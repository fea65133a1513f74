"""Ceremony scripts: one YAML file in, a validated, immutable :class:`CeremonyScript` out.

Validation is strict and complete before anything runs: unknown keys, wrong
types (no coercion: ``days: "30"`` is refused), missing fields, duplicate keys,
unknown actions, bad names, subjects, key types and paths are all reported at
once, each with its line in the file and the field it concerns. YAML anchors,
aliases and tags beyond the safe ones are refused (see the profile files).

The schema (README "Key ceremonies" shows a full example)::

    ceremony: NAME            # [a-z0-9][a-z0-9._-]{0,62}
    description: TEXT         # optional
    custodians: [NAME, ...]   # N enrolled custodians
    threshold: M              # 1 <= M <= N custodians authenticate before any key is used
    steps:                    # 1-50 steps, run in order
      - action: create-root | create-intermediate | sign-csr | import-certificate | crl | export
        ...
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from chancery.domain.custodians import check_quorum, custodian_name
from chancery.domain.keytypes import KeyType
from chancery.domain.names import ca_name, profile_name
from chancery.errors import CAError, Malformed, PayloadTooLarge, SubError
from chancery.pki.names import parse_name
from chancery.pki.profiles.config import parse_duration

MAX_SCRIPT_BYTES = 64 * 1024
MAX_STEPS = 50
_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}(/[A-Za-z0-9_][A-Za-z0-9._-]{0,99}){0,4}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_STRICT = ConfigDict(extra="forbid", frozen=True, strict=True)
T = TypeVar("T")


def _checked(check: Callable[[T], object]) -> Callable[[T], T]:
    """A pydantic validator from a check that raises :class:`CAError`."""

    def validate(value: T) -> T:
        try:
            check(value)
        except CAError as exc:
            raise ValueError(exc.detail) from None
        return value

    return validate


def _relative_path(value: str) -> str:
    if not _PATH.fullmatch(value) or ".." in value.split("/"):
        raise ValueError(
            f"{value[:80]!r} is not a relative path inside the ceremony directory "
            "(letters, digits, '.', '_', '-', and '/' between names)"
        )
    return value


def _duration(value: str) -> str:
    seconds = parse_duration(value).total_seconds()
    if not 3600 <= seconds <= 366 * 86400:
        raise ValueError("a CRL validity is between 1h and 366d")
    return value


def _ceremony_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"invalid ceremony name {value[:80]!r}: use 1-63 lower-case letters, digits, '.', '-' or '_'")
    return value


CaName = Annotated[str, AfterValidator(_checked(ca_name))]
Subject = Annotated[str, Field(max_length=1024), AfterValidator(_checked(parse_name))]
KeyTypeName = Annotated[str, AfterValidator(_checked(KeyType.parse))]
ProfileName = Annotated[str, AfterValidator(_checked(profile_name))]
Custodian = Annotated[str, AfterValidator(_checked(custodian_name))]
RelPath = Annotated[str, AfterValidator(_relative_path)]
Days = Annotated[int, Field(ge=1, le=36600)]
PathLength = Annotated[int, Field(ge=0, le=16)]
KeyStoreName = Literal["software", "pkcs11"]


class CreateRoot(BaseModel):
    """Generate a key and self-sign a root certificate (written to ``out``, PEM)."""

    model_config = _STRICT
    action: Literal["create-root"]
    ca: CaName
    subject: Subject
    key_type: KeyTypeName = "ec-p384"
    key_store: KeyStoreName = "software"
    days: Days | None = None
    path_length: PathLength | None = None
    out: RelPath


class CreateIntermediate(BaseModel):
    """Generate a key; either a local ``parent`` signs it now (certificate to ``out``) or a CSR
    goes to ``csr_out`` for a parent elsewhere (the CA stays pending)."""

    model_config = _STRICT
    action: Literal["create-intermediate"]
    ca: CaName
    subject: Subject
    key_type: KeyTypeName = "ec-p256"
    key_store: KeyStoreName = "software"
    parent: CaName | None = None
    days: Days | None = None
    path_length: PathLength | None = None
    out: RelPath | None = None
    csr_out: RelPath | None = None

    @model_validator(mode="after")
    def _one_way(self) -> CreateIntermediate:
        if (self.parent is None) == (self.csr_out is None):
            raise ValueError("give exactly one of parent (sign now) and csr_out (a parent elsewhere)")
        if self.parent is not None and self.out is None:
            raise ValueError("with a parent, out names where the certificate goes")
        if self.csr_out is not None and (self.out, self.days, self.path_length) != (None, None, None):
            raise ValueError("with csr_out the parent decides the certificate: no out, days or path_length")
        return self


class SignCsr(BaseModel):
    """The CA ``ca`` (typically the root) signs a subordinate CA's CSR under ``profile``."""

    model_config = _STRICT
    action: Literal["sign-csr"]
    ca: CaName
    csr: RelPath
    profile: ProfileName = "sub-ca"
    days: Days | None = None
    path_length: PathLength | None = None
    chain: bool = False
    out: RelPath


class ImportCertificate(BaseModel):
    """Activate the pending CA ``ca`` with the certificate its parent issued."""

    model_config = _STRICT
    action: Literal["import-certificate"]
    ca: CaName
    certificate: RelPath
    chain: RelPath | None = None


class Crl(BaseModel):
    """Publish a full CRL of ``ca`` now (an offline CRL), valid for ``validity`` when given."""

    model_config = _STRICT
    action: Literal["crl"]
    ca: CaName
    validity: Annotated[str, AfterValidator(_duration)] | None = None
    format: Literal["der", "pem"] = "der"
    out: RelPath


class Export(BaseModel):
    """Write the certificate of ``ca`` (with ``chain``: its parents too) to ``out``."""

    model_config = _STRICT
    action: Literal["export"]
    ca: CaName
    format: Literal["pem", "der", "p7b"] = "pem"
    chain: bool = False
    out: RelPath


Step = Annotated[
    CreateRoot | CreateIntermediate | SignCsr | ImportCertificate | Crl | Export, Field(discriminator="action")
]
ACTIONS = ("create-root", "create-intermediate", "sign-csr", "import-certificate", "crl", "export")


class CeremonyScript(BaseModel):
    model_config = _STRICT
    ceremony: Annotated[str, AfterValidator(_ceremony_name)]
    description: Annotated[str, Field(max_length=2000)] = ""
    custodians: Annotated[list[Custodian], Field(min_length=1)]
    threshold: Annotated[int, Field(ge=1)]
    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS)]

    @field_validator("custodians")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a custodian is named twice")
        return value

    @field_validator("threshold")
    @classmethod
    def _at_most_n(cls, value: int, info: ValidationInfo) -> int:
        custodians = info.data.get("custodians")
        if custodians is not None:
            try:
                check_quorum(tuple(custodians), value)
            except Malformed as exc:
                raise ValueError(exc.detail) from None
        return value


def outputs(step: Step) -> tuple[str, ...]:
    """The files a step writes."""
    found = (getattr(step, "out", None), getattr(step, "csr_out", None))
    return tuple(path for path in found if path)


def inputs(step: Step) -> tuple[str, ...]:
    """The files a step reads."""
    if isinstance(step, SignCsr):
        return (step.csr,)
    if isinstance(step, ImportCertificate):
        return tuple(path for path in (step.certificate, step.chain) if path)
    return ()


def parse_script(data: bytes, source: str = "the ceremony file") -> CeremonyScript:
    """The script in ``data``; :class:`Malformed` naming every problem with its line otherwise."""
    if len(data) > MAX_SCRIPT_BYTES:
        raise PayloadTooLarge(f"{source} is larger than {MAX_SCRIPT_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed(f"{source} is not UTF-8 text") from None
    node, document = _load(text, source)
    if not isinstance(document, dict):
        raise Malformed(f"{source}: expected a mapping with ceremony, custodians, threshold and steps")
    try:
        script = CeremonyScript.model_validate(document)
    except ValidationError as exc:
        problems = [_describe(error, node) for error in exc.errors()]
        raise Malformed(
            f"{source} is not a valid ceremony script: " + "; ".join(problems[:10]),
            sub_errors=tuple(SubError("script", problem) for problem in problems),
        ) from None
    _check_files(script, node, source)
    return script


def _check_files(script: CeremonyScript, node: yaml.Node, source: str) -> None:
    """Each output written once; each input named before it is read, or already on disk (checked later)."""
    written: set[str] = set()
    for index, step in enumerate(script.steps):
        for path in outputs(step):
            if path in written:
                line = _line(node, ("steps", index))
                raise Malformed(
                    f"{source} is not a valid ceremony script: line {line}: step {index + 1} ({step.action}) "
                    f"writes {path}, which an earlier step writes"
                )
            written.add(path)


class _StrictLoader(yaml.SafeLoader):
    """The safe loader, refusing anchors, aliases and duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(None, None, "anchors and aliases are not allowed", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _load(text: str, source: str) -> tuple[yaml.Node, Any]:
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise Malformed(f"{source} is empty")
        return node, loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise Malformed(f"{source} is not valid YAML: {where}{str(problem)[:200]}") from None
    except RecursionError:
        raise Malformed(f"{source} is nested too deeply") from None
    finally:
        loader.dispose()


def _describe(error: Any, node: yaml.Node) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        message = f"unknown field {loc[-1]!r}"
        loc_for_text = loc[:-1]
    elif kind == "missing":
        message = f"missing field {loc[-1]!r}"
        loc_for_text = loc[:-1]
    elif kind == "union_tag_invalid":
        message = f"unknown action {error['ctx']['tag']!r}; use one of: {', '.join(ACTIONS)}"
        loc_for_text = loc
    elif kind == "union_tag_not_found":
        message = f"a step needs an action: one of {', '.join(ACTIONS)}"
        loc_for_text = loc
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        loc_for_text = loc
    return f"line {_line(node, loc)}: {_where(loc_for_text)}{message}"


def _where(loc: tuple[Any, ...]) -> str:
    """``step 2 (sign-csr), field 'days': `` for ``('steps', 1, 'sign-csr', 'days')``."""
    parts: list[str] = []
    rest = list(loc)
    if len(rest) >= 2 and rest[0] == "steps" and isinstance(rest[1], int):
        label = f"step {rest[1] + 1}"
        rest = rest[2:]
        if rest and rest[0] in ACTIONS:
            label += f" ({rest.pop(0)})"
        parts.append(label)
    if rest:
        text = "".join(f"[{item + 1}]" if isinstance(item, int) else f".{item}" for item in rest)
        parts.append(f"field {text.lstrip('.')}")
    return ", ".join(parts) + ": " if parts else ""


def _line(node: yaml.Node, loc: tuple[Any, ...]) -> int:
    """The line (1-based) of the YAML node at ``loc``, or of its nearest ancestor."""
    current = node
    for item in loc:
        if isinstance(current, yaml.MappingNode):
            match = next((value for key, value in current.value if getattr(key, "value", None) == item), None)
            if match is None:
                continue  # a union tag, or a key that is missing
            current = match
        elif isinstance(current, yaml.SequenceNode) and isinstance(item, int) and 0 <= item < len(current.value):
            current = current.value[item]
        else:
            break
    return current.start_mark.line + 1
