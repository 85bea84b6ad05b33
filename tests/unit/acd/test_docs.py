"""docs/acd.md carries the transition table generated from the code, not a copy that drifts."""

from __future__ import annotations

from pathlib import Path

from hotline.acd.states import transitions_markdown
from hotline.acd.strategies import strategy_names

DOC = Path(__file__).resolve().parents[3] / "docs" / "acd.md"


def test_doc_has_the_generated_transition_table() -> None:
    assert transitions_markdown() in DOC.read_text()


def test_doc_lists_every_registered_strategy() -> None:
    text = DOC.read_text()
    for name in strategy_names():
        assert f"| `{name}` |" in text, name
