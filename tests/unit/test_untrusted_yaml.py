"""Untrusted YAML: deep nesting and aliases are refused with their line before a parser
could spend minutes (or all memory) on them; ordinary configuration loads unchanged."""

from __future__ import annotations

import pytest

from hotline import untrusted_yaml
from hotline.untrusted_yaml import UntrustedYamlError


def test_ordinary_configuration_loads() -> None:
    text = "queues:\n  - name: sales\n    skills: [{name: en, level: 2}]\n"
    assert untrusted_yaml.load(text, 8) == {
        "queues": [{"name": "sales", "skills": [{"name": "en", "level": 2}]}]
    }


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb: " + "[" * 50_000, 2),  # flow brackets, unterminated as an attacker sends them
        ("x:\n" + "- " * 20 + "deep\n", 2),  # block sequence indicators on one line
        ("top:\n" + " " * 200 + "key: v\n", 2),  # indentation deeper than any nesting allowed
    ],
)
def test_deep_nesting_is_refused_at_its_line(text: str, line: int) -> None:
    with pytest.raises(UntrustedYamlError) as refused:
        untrusted_yaml.load(text, 8)
    assert refused.value == UntrustedYamlError("nested deeper than 8 levels", line)


def test_brackets_inside_balanced_quotes_are_not_nesting() -> None:
    assert untrusted_yaml.load('prompt: "press [1] or [2]"\n', 1) == {"prompt": "press [1] or [2]"}


def test_aliases_are_refused_before_expansion() -> None:
    laughs = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    with pytest.raises(UntrustedYamlError) as refused:
        untrusted_yaml.load(laughs, 8)
    assert str(refused.value) == "YAML aliases (*name) are not allowed (line 2)"


def test_syntax_errors_name_their_line() -> None:
    with pytest.raises(UntrustedYamlError) as refused:
        untrusted_yaml.load("a: 1\nb: [1, 2\nc: 3\n", 8)
    assert refused.value.message.startswith("not valid YAML")
    assert refused.value.line == 3


@pytest.mark.parametrize("text", ["day: 2026-02-30", "n: !!int 0x", "t: !!timestamp x"])
def test_values_yaml_cannot_build_are_refused_not_raised(text: str) -> None:
    with pytest.raises(UntrustedYamlError) as refused:
        untrusted_yaml.load(text, 8)
    assert refused.value.message.startswith("not valid YAML: a value cannot be read")
