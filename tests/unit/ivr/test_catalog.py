"""Flow versions and department pilots (gray release)."""

import pytest

from hotline.ivr.catalog import CatalogError, FlowCatalog
from hotline.ivr.flow import Flow, parse_flow


def flow(version: int, greeting: str = "hi") -> Flow:
    return parse_flow(
        {
            "name": "main",
            "version": version,
            "start": "bye",
            "nodes": {"bye": {"type": "hangup", "prompt": {"text": {"en": greeting}}}},
        }
    )


def test_pilot_department_gets_the_new_version_others_the_published_one() -> None:
    catalog = FlowCatalog()
    catalog.add(flow(1))
    catalog.add(flow(2, "new greeting"))
    catalog.publish("main", 1)
    catalog.start_pilot("main", 2, department="after-sales")
    assert catalog.for_call("main", "after-sales").version == 2
    assert catalog.for_call("main", "sales").version == 1
    assert catalog.for_call("main").version == 1
    catalog.end_pilot("main", "after-sales")
    assert catalog.for_call("main", "after-sales").version == 1
    assert catalog.versions("main") == [1, 2]


def test_version_numbers_are_never_reused_for_other_content() -> None:
    catalog = FlowCatalog()
    catalog.add(flow(1))
    catalog.add(flow(1))  # the same content again is harmless
    with pytest.raises(CatalogError, match="already has a different version 1"):
        catalog.add(flow(1, "changed"))


def test_unknown_flows_and_versions() -> None:
    catalog = FlowCatalog()
    with pytest.raises(CatalogError, match="no flow main version 3"):
        catalog.publish("main", 3)
    catalog.add(flow(1))
    with pytest.raises(CatalogError, match="flow main has no published version"):
        catalog.for_call("main")


def test_replacing_pilots_ends_the_missing_ones_and_refuses_unknown_versions() -> None:
    catalog = FlowCatalog()
    catalog.add(flow(1))
    catalog.add(flow(2, "new greeting"))
    catalog.publish("main", 1)
    catalog.replace_pilots({("main", "sales"): 2, ("main", "after-sales"): 2})
    running = catalog.for_call("main", "sales")
    catalog.replace_pilots({("main", "after-sales"): 2})
    assert catalog.for_call("main", "sales").version == 1
    assert catalog.for_call("main", "after-sales").version == 2
    assert running.version == 2  # a call that started in the pilot keeps what it runs
    with pytest.raises(CatalogError, match="no flow main version 9"):
        catalog.replace_pilots({("main", "sales"): 9})
    assert catalog.pilots() == {("main", "after-sales"): 2}  # unchanged by the refusal
