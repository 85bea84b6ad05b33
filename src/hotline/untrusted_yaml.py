"""YAML from people or systems we do not control (an admin's IVR editor, a backup upload),
read without letting a crafted document take the node down.

PyYAML and libyaml take time quadratic in the nesting depth (200 000 ``[`` keep libyaml busy
for minutes; deep ``- - -`` crashes it) and expand aliases without limit (a few nested
``*name`` become billions of elements: "billion laughs"). Configuration never needs either,
so deep text is refused in one linear pass before any parser sees it, and aliases are
refused from the event stream before the document is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True)
class UntrustedYamlError(Exception):
    """Why a document was refused, and the 1-based line when one is known."""

    message: str
    line: int | None = None

    def __str__(self) -> str:
        return self.message if self.line is None else f"{self.message} (line {self.line})"


def too_deep(text: str, max_depth: int) -> int | None:
    """The line where nesting passes ``max_depth``, or None.

    Block nesting is judged by indentation and ``- ``/``? `` indicators, flow nesting by
    brackets; brackets in quoted text only count when unbalanced, which errs on the safe side.
    """
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" ")
        if stripped.startswith("#"):
            continue
        if len(line) - len(stripped) > 8 * max_depth:
            return number
        indicators = 0
        while stripped[:2] in ("- ", "? ", "-\t") or stripped == "-":
            indicators += 1
            stripped = stripped[2:].lstrip(" ")
        if indicators > max_depth:
            return number
        for char in stripped:
            if char in "[{":
                depth += 1
                if depth > max_depth:
                    return number
            elif char in "]}" and depth > 0:
                depth -= 1
    return None


def first_alias(text: str) -> int | None:
    """The line of the first alias (``*name``), 0 when its line is unknown, or None."""
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            return event.start_mark.line + 1 if event.start_mark is not None else 0
    return None


def check(text: str, max_depth: int) -> None:
    """Raise :class:`UntrustedYamlError` for text too deep or with aliases; YAML syntax
    errors are left to the caller's parse, which reports them with their line."""
    deep = too_deep(text, max_depth)
    if deep is not None:
        raise UntrustedYamlError(f"nested deeper than {max_depth} levels", deep)
    try:
        alias = first_alias(text)
    except yaml.YAMLError:
        return
    if alias is not None:
        raise UntrustedYamlError("YAML aliases (*name) are not allowed", alias or None)


def load(text: str, max_depth: int) -> Any:
    """The document, after :func:`check`; a YAML syntax error becomes
    :class:`UntrustedYamlError` with its line."""
    check(text, max_depth)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        reason = getattr(error, "problem", None) or "cannot be read"
        raise UntrustedYamlError(
            f"not valid YAML: {reason}", mark.line + 1 if mark is not None else None
        ) from None
    except RecursionError:
        raise UntrustedYamlError("not valid YAML: nested too deeply") from None
    except (ValueError, TypeError, AttributeError) as error:
        # PyYAML's constructors raise these, not YAMLError, for a well-formed scalar they
        # cannot build: ``2026-02-30`` (a date), ``!!int 0x``, ``!!timestamp x``.
        raise UntrustedYamlError(f"not valid YAML: a value cannot be read ({error})") from None
