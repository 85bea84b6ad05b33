"""Locating IVR flow problems in YAML text: the node and the line an editor marks."""

from __future__ import annotations

from hotline.ivr.problems import FlowProblem, check_flow, check_flow_text

FLOW = """\
# comment line
start: menu
nodes:
  menu:
    type: menu
    prompt: {text: {zh-CN: "请按1"}}
    options: {1: sales, 2: nowhere}
    on_failure: sales
  sales:
    type: queue
    queue: sales
"""


def test_a_reference_to_a_missing_node_points_at_its_line() -> None:
    data, problems = check_flow_text(FLOW)
    assert data is not None
    assert problems == [FlowProblem("nodes.menu.options.2", "no node 'nowhere'", "menu", 7)]


def test_a_missing_field_points_at_the_node_that_lacks_it() -> None:
    _, problems = check_flow_text(FLOW.replace("    queue: sales\n", ""))
    assert problems == [FlowProblem("nodes.sales.queue", "Field required", "sales", 9)]


def test_unknown_node_type_and_unreachable_nodes() -> None:
    _, problems = check_flow_text(FLOW.replace("type: queue", "type: queeu"))
    assert [(p.location, p.line) for p in problems] == [("nodes.sales", 9)]
    assert problems[0].message.startswith("unknown node type")
    _, problems = check_flow_text(
        FLOW.replace("2: nowhere", "2: sales") + "  lost:\n    type: hangup\n"
    )
    assert problems == [FlowProblem("nodes.lost", "not reachable from start", "lost", 12)]


def test_broken_yaml_aliases_and_non_mappings_are_problems_not_errors() -> None:
    assert check_flow_text("start: [a\n")[1][0].message.startswith("not valid YAML")
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    (problem,) = check_flow_text(bomb)[1]
    assert (problem.message, problem.line) == ("YAML aliases (*name) are not allowed in a flow", 2)
    for deep in ("[" * 200_000, "- " * 60_000, "a: {" * 50_000):
        (problem,) = check_flow_text(deep)[1]
        assert (problem.message, problem.line) == ("nested deeper than 32 levels", 1)
    assert check_flow_text("- just a list\n")[1][0].location == "flow"
    (problem,) = check_flow_text("start: a\nnodes: {a: {type: hangup, at: !!int 0x}}\n")[1]
    assert problem.message.startswith("not valid YAML: a value cannot be read")
    assert check_flow([1, 2])
    assert check_flow("text")


def test_name_and_version_may_be_left_to_the_store() -> None:
    assert check_flow({"start": "a", "nodes": {"a": {"type": "hangup"}}}) == []
    problems = check_flow({"name": "has space", "start": "a", "nodes": {"a": {"type": "hangup"}}})
    assert [p.location for p in problems] == ["name"]
