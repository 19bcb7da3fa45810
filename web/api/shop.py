"""Who am I, the shop's stats and its customer messages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from orders.shop.stats import order_stats
from web.auth import Principal, principal, require
from web.roles import Action, allowed_actions
from web.services import services
from web.views import paged

router = APIRouter(tags=["shop"])


@router.get("/me", summary="the caller: shop, staff id, role and what they may do")
async def me(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    shop = await services(request).shop(who.shop_id)
    return {
        "shop_id": who.shop_id,
        "shop_name": shop.shop.name,
        "staff_id": who.staff_id,
        "role": who.role,
        "may": allowed_actions(who.role, shop.permissions),
        "csrf_token": who.csrf,
    }


@router.get("/stats", summary="revenue and orders by status, livestream, staff and day")
async def stats(
    request: Request, who: Principal = Depends(require(Action.STATS))
) -> dict[str, Any]:
    svc = services(request)
    shop = await svc.shop(who.shop_id)
    found: dict[str, Any] = order_stats(
        await svc.shops.orders(who.shop_id), shop.workflow
    ).to_json()
    return found


@router.get(
    "/messages",
    summary="customer messages: sent, or why not, latest first, with the platform's delivery",
)
async def messages(
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    cursor: int = Query(0, ge=0),
    who: Principal = Depends(require(Action.READ)),
) -> dict[str, Any]:
    svc = services(request)
    answer = paged(list(reversed(await svc.shops.messages(who.shop_id))), cursor, limit)
    answer["items"] = await svc.with_delivery(who.shop_id, answer["items"])
    return answer
