"""The QA search and analysis routes in the RBAC matrix (test_rbac_matrix.py): every reader
of QA (qa:read) may search, read the analysis of call ``call-A-0`` (agent ``agent``'s,
department A), play its audio (redacted for those without recordings:unredacted) and see
the jobs; only qa:config queues re-analyses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.unit.api.conftest import World
from tests.unit.api.test_qa_api import seed_analysis

ALL = frozenset({"admin", "supervisor", "agent", "qa", "auditor"})
QA_CONFIG = frozenset({"admin", "qa"})
#: The analysed recording the cases read; the matrix maps it to ``{recording_id}``.
RECORDING = "call-A-0"


async def analysed(world: World, _item_id: int) -> None:
    await seed_analysis(world, "A")


def qa_search_cases(case: Callable[..., Any], simple: Callable[..., Any]) -> list[Any]:
    one = f"/api/v1/qa/recordings/{RECORDING}"

    def on_the_analysis(method: str, path: str, allowed: frozenset[str], **more: Any) -> Any:
        return case(method, path, allowed, resource="recording", setup=analysed, **more)

    return [
        on_the_analysis("GET", "/api/v1/qa/search?q=退款", ALL),
        on_the_analysis("GET", one, ALL),
        on_the_analysis("GET", one + "/audio", ALL),
        on_the_analysis("GET", "/api/v1/qa/jobs", ALL),
        on_the_analysis("GET", f"/api/v1/qa/jobs/{RECORDING}", ALL),
        on_the_analysis(
            "POST",
            "/api/v1/qa/reanalyze",
            QA_CONFIG,
            body=simple(lambda w, n: {"since": "2026-05-04"}),
        ),
    ]
