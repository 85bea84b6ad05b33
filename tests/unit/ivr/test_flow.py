"""Flow documents: a good one loads; every mistake is reported at its node."""

from pathlib import Path

import pytest

from hotline.ivr.flow import FlowError, HttpNode, MenuNode, load_flow, parse_flow

FIXTURE = Path(__file__).parents[2] / "fixtures" / "ivr" / "hotline.yaml"

BASE = """
name: t
version: 1
start: menu
nodes:
  menu:
    type: menu
    prompt: {text: {en: "Press 1"}}
    options: {1: bye}
    on_failure: bye
  bye: {type: hangup}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(FlowError) as caught:
        load_flow(text)
    return caught.value.problems


def test_fixture_flow_loads_with_dtmf_keys_as_text() -> None:
    flow = load_flow(FIXTURE.read_text(encoding="utf-8"))
    menu = flow.nodes["main_menu"]
    assert isinstance(menu, MenuNode)
    assert menu.options == {
        "1": "sales",
        "2": "order_number",
        "3": "complaints",
        "0": "operator",
        "9": "english",
    }
    lookup = flow.nodes["order_lookup"]
    assert isinstance(lookup, HttpNode)
    assert lookup.save == {"order_status": "status", "vip": "customer.vip"}


def test_unknown_target_named_with_its_field() -> None:
    assert problems(BASE.replace("options: {1: bye}", "options: {1: salse}")) == [
        "nodes.menu.options.1: no node 'salse'"
    ]


def test_unknown_start() -> None:
    assert problems(BASE.replace("start: menu", "start: welcome")) == ["start: no node 'welcome'"]


def test_unknown_field_and_unknown_type_point_at_the_node() -> None:
    text = BASE + "  extra: {type: dance}\n"
    text = text.replace("on_failure: bye\n", "on_failure: bye\n    colour: red\n")
    found = problems(text)
    assert "nodes.menu.colour: unknown field" in found
    assert any(p.startswith("nodes.extra: unknown node type; use one of") for p in found)


def test_missing_type() -> None:
    assert problems(BASE + "  odd: {next: bye}\n") == ["nodes.odd: a node needs a type"]


def test_bad_dtmf_key() -> None:
    found = problems(BASE.replace("options: {1: bye}", "options: {A: bye}"))
    assert found == ["nodes.menu.options: option 'A' is not a DTMF key (0-9, *, #)"]


def test_unreachable_node() -> None:
    assert problems(BASE + "  lost: {type: hangup}\n") == ["nodes.lost: not reachable from start"]


def test_loop_of_nodes_that_wait_for_nothing_is_refused() -> None:
    text = BASE.replace("options: {1: bye}", "options: {1: a}") + (
        "  a: {type: set, variables: {x: '1'}, next: b}\n"
        "  b: {type: switch, variable: x, cases: {'1': a}, default: bye}\n"
    )
    assert problems(text) == ["nodes.a: loop without input: a -> b -> a"]


def test_loop_through_a_menu_is_fine() -> None:
    text = BASE.replace("options: {1: bye}", "options: {1: again}") + (
        "  again: {type: set, variables: {x: '1'}, next: menu}\n"
    )
    assert load_flow(text).nodes["again"].type == "set"


def test_collect_limits_and_pattern_checked() -> None:
    text = BASE.replace("options: {1: bye}", "options: {1: c}") + (
        "  c: {type: collect, prompt: {text: {en: x}}, variable: n, min_digits: 9,"
        " max_digits: 4, pattern: '([', next: bye, on_failure: bye}\n"
    )
    assert problems(text) == ["nodes.c: min_digits is greater than max_digits"]


def test_bad_placeholder_in_prompt() -> None:
    found = problems(BASE.replace('"Press 1"', '"Price ${"'))
    assert found == ["nodes.menu.prompt: text.en: bad placeholder; write ${name} and $$ for '$'"]


def test_prompt_needs_content() -> None:
    found = problems(BASE.replace('{text: {en: "Press 1"}}', "{}"))
    assert found == [
        "nodes.menu.prompt: a prompt needs text or a recording in at least one language"
    ]


def test_invalid_yaml_and_wrong_document_shape() -> None:
    assert problems("nodes: [") == ["line 1: not valid YAML"]
    assert problems("- a\n- b\n") == ["the document must be a mapping with name, version, nodes"]
    with pytest.raises(FlowError, match="version: Input should be greater than or equal to 1"):
        parse_flow({"name": "x", "version": 0, "start": "a", "nodes": {"a": {"type": "hangup"}}})


def test_error_message_is_one_line_with_flow_name() -> None:
    with pytest.raises(FlowError) as caught:
        load_flow(BASE.replace("options: {1: bye}", "options: {1: nowhere}"))
    assert str(caught.value) == "invalid IVR flow t v1: nodes.menu.options.1: no node 'nowhere'"


def test_lookup_host_cannot_come_from_a_variable() -> None:
    text = BASE.replace("options: {1: bye}", "options: {1: h}") + (
        "  h: {type: http, url: 'http://${host}/x', next: bye, on_error: bye}\n"
    )
    assert problems(text) == ["nodes.h.url: String should match pattern '^https?://[^/$]+(/|$)'"]
