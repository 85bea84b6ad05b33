"""A stand-in for a shop's order system, so the demo's "press 2" path has something real to
ask over HTTP. Answers are derived from the order number, so every demo caller hears the
same status for the same number; numbers starting with 9 do not exist (404), to hear the
fallback branch.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path

STATUSES = (
    {"zh-CN": "正在处理", "en": "being prepared"},
    {"zh-CN": "已发货", "en": "shipped"},
    {"zh-CN": "正在派送", "en": "out for delivery"},
    {"zh-CN": "已签收", "en": "delivered"},
)


def demo_orders_router() -> APIRouter:
    router = APIRouter(prefix="/demo/orders", tags=["demo"])

    @router.get("/{number}")
    async def order_status(
        number: str = Path(pattern=r"^[0-9]{8}$", description="eight-digit order number"),
    ) -> dict[str, object]:
        if number.startswith("9"):
            raise HTTPException(status_code=404, detail=f"no order {number}")
        return {"order": number, "status": STATUSES[sum(map(int, number)) % len(STATUSES)]}

    return router
