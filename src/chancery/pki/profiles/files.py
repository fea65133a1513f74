"""Profile files as text: YAML (or JSON, a subset of it) in, YAML out.

Files come from operators and from the REST API, so parsing is defensive: a
size limit, no YAML tags beyond the safe ones, and no anchors or aliases (an
alias "bomb" is small as text and enormous once expanded).
"""

from __future__ import annotations

from typing import Any

import yaml

from chancery.errors import Malformed, PayloadTooLarge

MAX_PROFILE_BYTES = 256 * 1024


class _NoAliasLoader(yaml.SafeLoader):
    """The safe loader, refusing anchors and aliases."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases are not allowed in profile files", event.start_mark)
        event = self.peek_event()
        if getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(None, None, "anchors are not allowed in profile files", event.start_mark)
        return super().compose_node(parent, index)


def parse_profile_text(data: bytes | str) -> Any:
    """The document in ``data`` (one YAML or JSON document); raise :class:`Malformed` saying where it breaks."""
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if size > MAX_PROFILE_BYTES:
        raise PayloadTooLarge(f"a profile file is at most {MAX_PROFILE_BYTES // 1024} KiB")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed("a profile file must be UTF-8 text") from None
    try:
        return yaml.load(data, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise Malformed(f"not a valid YAML document: {_where(exc)}") from None
    except RecursionError:
        raise Malformed("the profile file is nested too deeply") from None


def dump_profile(document: dict[str, Any]) -> str:
    """``document`` as YAML, keys in the order they were written."""
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False)


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return str(problem)[:200]
    return f"{str(problem)[:200]} (line {mark.line + 1}, column {mark.column + 1})"
