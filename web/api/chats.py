"""Orders made in a conversation (seed 000): start a new sale or an upsell, the same draft
commands as a livestream draft, resume what a crash left unfinished, or discard it."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from orders.commands import ChatDiscard, ChatStart
from web.api.draft_actions import add_draft_routes
from web.auth import Principal, require
from web.commands import CommandBody, build, send, with_version
from web.errors import ApiError
from web.responses import JsonResponse
from web.roles import Action
from web.services import services

router = APIRouter(tags=["chats"])
EDIT = Depends(require(Action.EDIT_DRAFTS))


class ChatStartBody(CommandBody):
    conversation_id: str = Field(min_length=1, max_length=200)
    platform: str
    page_id: str | None = None
    user_id: str | None = Field(default=None, description="the customer's id on the platform")
    customer_name: str | None = None
    customer_phone: str | None = None
    mode: Literal["new_sale", "upsell"] = "new_sale"
    website: str | None = None


@router.post("/chats", summary="start an order in a conversation (upsell: see past orders)")
async def start(request: Request, body: ChatStartBody, who: Principal = EDIT) -> JsonResponse:
    command = build(ChatStart, who, body.command_id, shop_id=who.shop_id,
                    **body.model_dump(exclude={"command_id"}))  # fmt: skip
    return await send(request, command)


@router.get("/chats/resume", summary="your unfinished chat orders (they survive any crash)")
async def resume(request: Request, who: Principal = EDIT) -> dict[str, Any]:
    drafts = await services(request).shops.chat_resume(who.shop_id, who.staff_id)
    return {"items": [with_version(d) for d in drafts], "total": len(drafts), "next_cursor": None}


@router.get("/chats/{conversation_id}", summary="a conversation's latest chat order")
async def chat(request: Request, conversation_id: str, who: Principal = EDIT) -> JsonResponse:
    draft = await services(request).shops.chat_draft(who.shop_id, conversation_id)
    if draft is None:
        raise ApiError.of(404, "not_found", "conversation_id", what=f"chat {conversation_id}")
    shown = with_version(draft)
    assert shown is not None
    return JsonResponse(shown, headers={"ETag": f'"{shown["version"]}"'})


@router.post("/chats/{conversation_id}/discard", summary="drop the unfinished chat order")
async def discard(
    request: Request, conversation_id: str, body: CommandBody, who: Principal = EDIT
) -> JsonResponse:
    command = build(ChatDiscard, who, body.command_id, shop_id=who.shop_id,
                    conversation_id=conversation_id)  # fmt: skip
    return await send(request, command)


async def _chat_address(request: Request, who: Principal, path: dict[str, Any]) -> dict[str, Any]:
    return {"shop_id": who.shop_id, "conversation_id": path["conversation_id"]}


add_draft_routes(router, "/chats/{conversation_id}", _chat_address, "chats")
