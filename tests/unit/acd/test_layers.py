"""The modules behind ``Acd`` form a one-way chain: each imports only those below it.

``distributor`` composes the others; a module importing one above it would be the start of
an import cycle, and would blur which module owns what (docs/acd.md, "Code layout").
"""

from __future__ import annotations

import ast
from pathlib import Path

import hotline.acd

#: Top first. Each may import any module after it, none before it.
CHAIN = ["distributor", "presence", "offering", "routing", "queues", "agents", "timers"]
PACKAGE = Path(hotline.acd.__file__).parent


def acd_imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name.split(".")[2] for name in names if name.startswith("hotline.acd.")}


def test_chain_modules_import_only_modules_below_them() -> None:
    for index, module in enumerate(CHAIN):
        above = set(CHAIN[: index + 1])
        assert not acd_imports(module) & above, module


def test_supporting_modules_do_not_import_the_chain() -> None:
    """config, events, skills, states, statistics and strategies sit below the chain."""
    for path in PACKAGE.glob("*.py"):
        module = path.stem
        if module in CHAIN or module in ("__init__", "simulation"):
            continue
        assert not acd_imports(module) & set(CHAIN), module
