"""Customers: the list (with their order and returned-order counts: bom hàng), one customer with
their order history, and the blacklist."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from orders.commands import Blacklist
from web.auth import Principal, require
from web.commands import CommandBody, build, send
from web.errors import ApiError
from web.responses import JsonResponse
from web.roles import Action
from web.services import services
from web.views import paged, select_customers

router = APIRouter(tags=["customers"])
READ = Depends(require(Action.READ))


class BlacklistBody(CommandBody):
    phone: str | None = None
    platform: str | None = None
    user_id: str | None = None
    blacklisted: bool = True
    reason: str | None = None


@router.get("/customers", summary="the shop's customers")
async def list_customers(
    request: Request,
    q: str | None = Query(None, description="name, phone or customer id"),
    blacklisted: bool | None = None,
    limit: int = Query(100, ge=1, le=1000),
    cursor: int = Query(0, ge=0),
    who: Principal = READ,
) -> dict[str, Any]:
    customers = await services(request).shops.customers(who.shop_id)
    return paged(select_customers(customers, q, blacklisted), cursor, limit)


@router.get("/customers/{customer_id}", summary="one customer and their orders")
async def customer(request: Request, customer_id: str, who: Principal = READ) -> dict[str, Any]:
    shops = services(request).shops
    found = await shops.customer(who.shop_id, customer_id)
    if found is None:
        raise ApiError.of(404, "not_found", "customer_id", what=f"customer {customer_id}")
    orders = [await shops.order(who.shop_id, order_id) for order_id in found.get("orders", [])]
    return {**found, "order_history": [order for order in orders if order is not None]}


@router.post("/customers/blacklist", summary="flag a customer as bom hàng, or clear the flag")
async def blacklist(
    request: Request, body: BlacklistBody, who: Principal = Depends(require(Action.BLACKLIST))
) -> JsonResponse:
    command = build(Blacklist, who, body.command_id, shop_id=who.shop_id,
                    **body.model_dump(exclude={"command_id"}))  # fmt: skip
    return await send(request, command)
