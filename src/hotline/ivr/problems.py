"""Where an IVR flow is wrong, as an editor needs it: the node, the YAML line, the message.

``load_flow`` reports problems as ``location: message`` lines (``nodes.menu.options.7: no
node 'salse'``). An admin editing the YAML wants each one next to the line it is about, so
this module walks the composed YAML tree (which keeps line numbers) along the location's
path. A location that goes deeper than the text (a required field that is missing) points
at the deepest part that exists: the node that lacks the field.

The stored flow's ``name`` and ``version`` belong to the store (the API numbers versions),
so a document may leave them out; they are filled in for validation only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from hotline import untrusted_yaml
from hotline.ivr.flow import FlowError, parse_flow

#: Stand-ins for a document that leaves ``name`` or ``version`` to the store.
DEFAULT_NAME = "flow"
DEFAULT_VERSION = 1
#: Deeper nesting than any flow needs is refused before parsing (``untrusted_yaml``).
MAX_DEPTH = 32


@dataclass(frozen=True)
class FlowProblem:
    location: str  # dotted path, "flow" for the whole document
    message: str
    node: str | None = None
    line: int | None = None  # 1-based, in the YAML text


def check_flow(data: object) -> list[FlowProblem]:
    """Problems of an already-parsed flow document (no line numbers)."""
    return _problems(data, None)


def check_flow_text(text: str) -> tuple[dict[str, Any] | None, list[FlowProblem]]:
    """Parse YAML and validate it: the document (when it is a mapping) and its problems."""
    deep = untrusted_yaml.too_deep(text, MAX_DEPTH)
    if deep is not None:
        return None, [FlowProblem("flow", f"nested deeper than {MAX_DEPTH} levels", line=deep)]
    try:
        alias = untrusted_yaml.first_alias(text)
        if alias is not None:
            message = "YAML aliases (*name) are not allowed in a flow"
            return None, [FlowProblem("flow", message, line=alias or None)]
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        reason = getattr(error, "problem", None) or "cannot be read"
        line = mark.line + 1 if mark is not None else None
        return None, [FlowProblem("flow", f"not valid YAML: {reason}", line=line)]
    except RecursionError:
        return None, [FlowProblem("flow", "not valid YAML: nested too deeply")]
    except (ValueError, TypeError, AttributeError) as error:
        # A scalar PyYAML cannot build (``2026-02-30``, ``!!int 0x``): see untrusted_yaml.
        return None, [FlowProblem("flow", f"not valid YAML: a value cannot be read ({error})")]
    problems = _problems(data, tree)
    return (data if isinstance(data, dict) else None), problems


def _problems(data: object, tree: yaml.Node | None) -> list[FlowProblem]:
    if isinstance(data, dict):
        data = {"name": DEFAULT_NAME, "version": DEFAULT_VERSION, **data}
    try:
        parse_flow(data)
    except FlowError as error:
        return [_locate(problem, tree) for problem in error.problems]
    return []


def _locate(problem: str, tree: yaml.Node | None) -> FlowProblem:
    location, separator, message = problem.partition(": ")
    if not separator or " " in location:
        return FlowProblem("flow", problem, line=_line(tree, []))
    parts = location.split(".")
    node = parts[1] if len(parts) > 1 and parts[0] == "nodes" else None
    return FlowProblem(location, message, node=node, line=_line(tree, parts))


def _line(tree: yaml.Node | None, parts: list[str]) -> int | None:
    """The line of the deepest part of ``parts`` found in the YAML tree."""
    if tree is None:
        return None
    current: yaml.Node = tree
    line = current.start_mark.line + 1
    for part in parts:
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    line, current = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(current, yaml.SequenceNode) and part.isdigit():
            index = int(part)
            if index >= len(current.value):
                return line
            current = current.value[index]
            line = current.start_mark.line + 1
        else:
            return line
    return line
