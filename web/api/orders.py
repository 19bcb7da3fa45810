"""Finished orders: list with filters, one order, single and bulk status moves, merges,
assignees and tags; the shop's statuses (names, colours, moves) for the screens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from orders.commands import AssignOrder, ChangeStatus, Merge, TagOrder
from web.auth import Principal, require
from web.commands import CommandBody, build, send
from web.errors import ApiError
from web.responses import JsonResponse
from web.roles import Action
from web.services import services
from web.views import paged, select_orders

router = APIRouter(tags=["orders"])
READ = Depends(require(Action.READ))


class StatusBody(CommandBody):
    order_ids: list[str] = Field(min_length=1, max_length=10_000, description="one, or many: "
                                 "all move, or none and every reason is listed")  # fmt: skip
    to: str = Field(description="a status key of the shop's workflow")


class MergeBody(CommandBody):
    order_ids: list[str] = Field(min_length=2, max_length=1000)


class AssignBody(CommandBody):
    assignee: str | None = None
    group: str | None = Field(default=None, description="or the next member of this group")
    keep_existing: bool = False


class TagBody(CommandBody):
    tag: str


@router.get("/workflow", summary="the shop's order statuses, colours and allowed moves")
async def workflow(request: Request, who: Principal = READ) -> dict[str, Any]:
    shop = await services(request).shop(who.shop_id)
    return {
        "statuses": [status.model_dump() for status in shop.workflow.statuses],
        "actions": dict(shop.workflow.actions),
        "staff": [person.model_dump() for person in shop.staff],
    }


@router.get("/orders", summary="the shop's orders, newest first")
async def list_orders(
    request: Request,
    status: str | None = None,
    staff: str | None = Query(None, description="assigned to, or finalised by"),
    livestream: str | None = None,
    q: str | None = Query(None, description="order id, customer's name, phone or province"),
    limit: int = Query(100, ge=1, le=1000),
    cursor: int = Query(0, ge=0),
    who: Principal = READ,
) -> dict[str, Any]:
    orders = await services(request).shops.orders(
        who.shop_id, status=status, staff=staff, livestream=livestream
    )
    newest_first = list(reversed(select_orders(orders, q)))
    return paged(newest_first, cursor, limit)


@router.get("/orders/{order_id}", summary="one order")
async def order(request: Request, order_id: str, who: Principal = READ) -> dict[str, Any]:
    found = await services(request).shops.order(who.shop_id, order_id)
    if found is None:
        raise ApiError.of(404, "not_found", "order_id", what=f"order {order_id}")
    return found


@router.post("/orders/status", summary="move one order or many to another status")
async def change_status(
    request: Request, body: StatusBody, who: Principal = Depends(require(Action.CHANGE_STATUS))
) -> JsonResponse:
    command = build(ChangeStatus, who, body.command_id, shop_id=who.shop_id,
                    order_ids=body.order_ids, to=body.to)  # fmt: skip
    return await send(request, command)


@router.post("/orders/merge", summary="merge one customer's orders into one (gộp đơn)")
async def merge(
    request: Request, body: MergeBody, who: Principal = Depends(require(Action.MERGE))
) -> JsonResponse:
    command = build(Merge, who, body.command_id, shop_id=who.shop_id, order_ids=body.order_ids)
    return await send(request, command)


@router.post("/orders/{order_id}/assign", summary="assign an order to a salesperson")
async def assign(
    request: Request,
    order_id: str,
    body: AssignBody,
    who: Principal = Depends(require(Action.ASSIGN_ORDERS)),
) -> JsonResponse:
    command = build(AssignOrder, who, body.command_id, shop_id=who.shop_id, order_id=order_id,
                    assignee=body.assignee, group=body.group,
                    keep_existing=body.keep_existing)  # fmt: skip
    return await send(request, command)


@router.post("/orders/{order_id}/tags", summary="tag an order")
async def tag(
    request: Request,
    order_id: str,
    body: TagBody,
    who: Principal = Depends(require(Action.ASSIGN_ORDERS)),
) -> JsonResponse:
    command = build(TagOrder, who, body.command_id, shop_id=who.shop_id, order_id=order_id,
                    tag=body.tag)  # fmt: skip
    return await send(request, command)
