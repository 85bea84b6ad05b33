"""Inbound routes: most specific match wins; business hours pick the closed destination."""

import pytest

from hotline.calls.hours import Calendar
from hotline.calls.numbers import NumberingPlan
from hotline.calls.routing import Destination, InboundRoute, InboundRouter, RoutingError

MONDAY_11_SHANGHAI = 1_795_402_800.0
SUNDAY_11_SHANGHAI = MONDAY_11_SHANGHAI - 86_400
PLAN = NumberingPlan(region="CN", area_code="21")
OFFICE = Calendar.model_validate({"timezone": "Asia/Shanghai", "weekly": {"mon": "09:00-18:00"}})


def route(name: str, did: str, target: str, **extra: object) -> InboundRoute:
    return InboundRoute.model_validate(
        {"name": name, "did": did, "destination": {"type": "flow", "target": target}, **extra}
    )


ROUTES = [
    route("catch-all", "*", "default"),
    route("shanghai", "+86216000*", "shanghai"),
    route("shanghai-sales", "+8621600012*", "sales"),
    route("hotline", "+862160001234", "hotline"),
    route(
        "hotline-from-unicom",
        "+862160001234",
        "hotline-unicom",
        trunk="unicom",
        calendar="office",
        closed={"type": "queue", "target": "night-desk"},
    ),
    route("demo", "4000", "demo"),
]


def decide(did: str, trunk: str | None = None, now: float = MONDAY_11_SHANGHAI) -> str:
    decision = InboundRouter(ROUTES, {"office": OFFICE}, PLAN).route(did, trunk, now)
    assert decision is not None
    return decision.destination.target


@pytest.mark.parametrize(
    ("did", "trunk", "target"),
    [
        ("+862160001234", None, "hotline"),
        ("021 6000 1234", "telecom", "hotline"),  # national format from another carrier
        ("60001234", None, "hotline"),  # local format
        ("+862160001234", "unicom", "hotline-unicom"),  # trunk-bound route wins
        ("+862160001299", None, "sales"),  # longest prefix
        ("+862160009999", None, "shanghai"),
        ("+8613800138000", None, "default"),
        ("4000", None, "demo"),  # an extension-like DID matches literally
    ],
)
def test_most_specific_route_wins(did: str, trunk: str | None, target: str) -> None:
    assert decide(did, trunk) == target


def test_closed_destination_outside_business_hours() -> None:
    assert decide("+862160001234", "unicom", SUNDAY_11_SHANGHAI) == "night-desk"
    router = InboundRouter(ROUTES, {"office": OFFICE}, PLAN)
    decision = router.route("+862160001234", "unicom", SUNDAY_11_SHANGHAI)
    assert decision is not None
    assert not decision.in_hours
    assert decision.destination == Destination(type="queue", target="night-desk")


def test_no_route_means_none() -> None:
    router = InboundRouter([route("only", "4000", "x")], {}, PLAN)
    assert router.route("4001", None, 0) is None


def test_without_the_catch_all_only_routes_that_name_the_number_match() -> None:
    router = InboundRouter(ROUTES, {"office": OFFICE}, PLAN)
    assert router.route("021 6888 8888", None, MONDAY_11_SHANGHAI, catch_all=False) is None
    prefixed = router.route("+862160009999", None, MONDAY_11_SHANGHAI, catch_all=False)
    assert prefixed is not None
    assert prefixed.route.name == "shanghai"
    exact = router.route("4000", None, MONDAY_11_SHANGHAI, catch_all=False)
    assert exact is not None
    assert exact.route.name == "demo"


def test_conflicts_and_bad_patterns_are_refused() -> None:
    with pytest.raises(RoutingError, match="routes a and b match the same number"):
        InboundRouter(
            [route("a", "021 6000 1234", "x"), route("b", "+862160001234", "y")], {}, PLAN
        )
    with pytest.raises(RoutingError, match="route a: no calendar 'night'"):
        InboundRouter([route("a", "4000", "x", calendar="night")], {}, PLAN)
    with pytest.raises(ValueError, match="give digits, optionally"):
        route("a", "40*0", "x")
