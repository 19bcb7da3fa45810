"""Livestreams and their drafts: list, start (with the livestream's products), stop; the
numbered drafts with the seeds' filters; one draft with its ETag; every draft command; and
the live stream of draft and order events (server-sent events)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from config.shop import Product, ProductGroup
from stream.livestreams import LivestreamRefused, start_livestream, stop_livestream
from web.api.draft_actions import add_draft_routes
from web.auth import Principal, require
from web.errors import ApiError, web_reason
from web.events import BadPosition, LiveBatch, Position
from web.responses import JsonResponse
from web.roles import Action
from web.services import services
from web.views import board_draft, commenters, paged, select_drafts

router = APIRouter(tags=["livestreams"])
READ = Depends(require(Action.READ))
MANAGE = Depends(require(Action.LIVESTREAMS))
DraftStatus = Literal["open", "cancelled", "finalised"]


class StartLivestream(BaseModel):
    model_config = ConfigDict(extra="forbid")

    livestream_id: str = Field(min_length=1, max_length=200, pattern=r"^[^{}\s]+$")
    products: list[Product] | None = Field(
        default=None,
        description="the livestream's own product group (codes, prices, stock, attributes); "
        "left out: the shop's products. Starting a started livestream changes its products",
    )


@router.get("/livestreams", summary="the shop's livestreams, latest first")
async def list_livestreams(
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    cursor: int = Query(0, ge=0),
    who: Principal = READ,
) -> dict[str, Any]:
    summaries = await services(request).drafts.livestreams(who.shop_id)
    items = [
        {"livestream_id": s.livestream_id, "started_at": s.started_at, "open": s.open,
         "drafts": s.drafts}
        for s in summaries
    ]  # fmt: skip
    return paged(items, cursor, limit)


@router.post("/livestreams", status_code=201, summary="start a livestream, or change its products")
async def start(request: Request, body: StartLivestream, who: Principal = MANAGE) -> JsonResponse:
    svc = services(request)
    shop = await svc.shop(who.shop_id)
    if body.products is not None:
        shop = shop.with_products(ProductGroup.model_validate({"products": body.products}))
    try:
        await start_livestream(svc.settings, shop, body.livestream_id)
    except (LivestreamRefused, ValueError) as refused:  # ValueError: another shop's id
        raise _conflict(str(refused)) from None
    info = await svc.livestream(who.shop_id, body.livestream_id)
    return JsonResponse(
        {"livestream_id": info.livestream_id, "open": info.open, "products": len(shop.products)},
        status_code=201,
    )


@router.post("/livestreams/{livestream_id}/stop", summary="stop taking orders")
async def stop(request: Request, livestream_id: str, who: Principal = MANAGE) -> dict[str, Any]:
    svc = services(request)
    await svc.livestream(who.shop_id, livestream_id)
    try:
        await stop_livestream(svc.settings, livestream_id)
    except LivestreamRefused as refused:
        raise _conflict(str(refused)) from None
    return {"livestream_id": livestream_id, "open": False}


def _conflict(why: str) -> ApiError:
    return ApiError(409, [web_reason("invalid", "livestream_id", message=why)])


@router.get("/livestreams/{livestream_id}", summary="a livestream: products, stock, waitlists")
async def one(request: Request, livestream_id: str, who: Principal = READ) -> dict[str, Any]:
    svc = services(request)
    info = await svc.livestream(who.shop_id, livestream_id)
    held, queues = await svc.drafts.stock(info.shop_id, livestream_id)
    config = orjson.loads(info.shop_config_json)
    products = [
        {**product, "held": held.get(product["code"], 0),
         "waiting": sum(units for units, _line, _user in queues.get(product["code"], []))}
        for product in config.get("products", [])
    ]  # fmt: skip
    return {"livestream_id": livestream_id, "open": info.open, "products": products}


@router.get("/livestreams/{livestream_id}/drafts", summary="the numbered drafts, filtered")
async def drafts(
    request: Request,
    livestream_id: str,
    staff: str | None = None,
    seq: int | None = None,
    status: DraftStatus | None = None,
    attention: bool = Query(False, description="only drafts with a line to re-pick or a variant"),
    q: str | None = Query(None, description="the customer's name or phone, or the number"),
    limit: int = Query(500, ge=1, le=5000),
    cursor: int = Query(0, ge=0),
    who: Principal = READ,
) -> JsonResponse:
    svc = services(request)
    info = await svc.livestream(who.shop_id, livestream_id)
    # The position first, then the snapshot: events in between are sent again, none lost.
    position = await svc.events.position(livestream_id)
    selected = select_drafts(
        await svc.drafts.drafts(info.shop_id, livestream_id),
        staff=staff, seq=seq, status=status, attention=attention, q=q,
    )  # fmt: skip
    body = paged(selected, cursor, limit, events_from=position.encode(), open=info.open)
    users, phones = commenters(body["items"])
    flags = await svc.shops.customer_flags(info.shop_id, users, phones)
    body["items"] = [board_draft(draft, flags) for draft in body["items"]]
    return JsonResponse(body)


@router.get("/livestreams/{livestream_id}/drafts/{seq}", summary="one draft, with its ETag")
async def draft(
    request: Request, livestream_id: str, seq: int, who: Principal = READ
) -> JsonResponse:
    svc = services(request)
    info = await svc.livestream(who.shop_id, livestream_id)
    found = await svc.drafts.draft(info.shop_id, livestream_id, seq)
    if found is None:
        raise ApiError.of(404, "not_found", "seq", what=f"draft {seq}")
    users, phones = commenters([found])
    shown = board_draft(found, await svc.shops.customer_flags(info.shop_id, users, phones))
    return JsonResponse(shown, headers={"ETag": f'"{shown["version"]}"'})


@router.get(
    "/livestreams/{livestream_id}/events",
    summary="server-sent events: the livestream's drafts and orders as they change",
    response_class=StreamingResponse,
)
async def events(
    request: Request,
    livestream_id: str,
    since: str | None = Query(None, description="a position (`events_from` of the draft list)"),
    last_event_id: str | None = Header(None),
    who: Principal = READ,
) -> StreamingResponse:
    svc = services(request)
    await svc.livestream(who.shop_id, livestream_id)
    given = last_event_id or since
    try:
        start_at = Position.decode(given) if given else await svc.events.position(livestream_id)
    except BadPosition as bad:
        raise ApiError(400, [web_reason("invalid", "Last-Event-ID", message=str(bad))]) from None

    async def stream() -> AsyncIterator[bytes]:
        yield b"retry: 2000\n\n"
        try:
            async for batch in svc.events.follow(livestream_id, start_at):
                if await request.is_disconnected():
                    return
                yield b": keep-alive\n\n" if batch is None else _sse(batch)
        except BadPosition as bad:
            yield b"event: resync\ndata: " + orjson.dumps({"reason": str(bad)}) + b"\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _sse(batch: LiveBatch) -> bytes:
    data = orjson.dumps({"drafts": batch.drafts, "orders": batch.orders})
    return b"id: " + batch.position.encode().encode() + b"\nevent: changes\ndata: " + data + b"\n\n"


async def _address_in_shop(
    request: Request, who: Principal, path: dict[str, Any]
) -> dict[str, Any]:
    """A livestream draft's address, once the livestream is known to be the caller's shop's."""
    await services(request).livestream(who.shop_id, path["livestream_id"])
    return {"livestream_id": path["livestream_id"], "seq": path["seq"]}


add_draft_routes(router, "/livestreams/{livestream_id}/drafts/{seq}", _address_in_shop, "drafts")
