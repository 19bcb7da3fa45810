"""Customer messages: a `send_message` command becomes a message for the customer's inbox.

The text is the shop's template rendered with the order's (or draft's) values; the platform's
window decides whether it may go and by which channel (orders/automation/messages.py), inside
the shop store's transaction, against the customer's messaging state there. A message that may
not be sent is recorded with the reason instead. Only an allowed message reaches
`chotdon.messages.outbound`, addressed to the customer's inbox on their platform: never to the
comment thread (seed 002).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from config.shop import ShopConfig
from orders.automation.messages import Channel, message_channel, message_values, render
from orders.commands import SendMessage
from orders.reasons import reason
from orders.shop.store import ShopResult, ShopStore
from orders.shop.workflow import status_name
from orders.store import DraftStore

Json = dict[str, Any]


async def send_message(
    drafts: DraftStore, shops: ShopStore, shop: ShopConfig, command: SendMessage
) -> ShopResult:
    template = shop.messages.template(command.template)
    if template is None:
        return ShopResult.refused(
            [reason("unknown_template", "template", template=command.template)]
        )
    subject, draft = await _subject(drafts, shops, shop, command)
    if subject is None:
        missing = command.order_id or f"{command.livestream_id}-{command.seq}"
        return ShopResult.refused([reason("order_not_found", order_id=missing)])
    line = _line(subject, command.line)
    status = status_name(shop.workflow, subject["status"]) if "source" in subject else None
    text = render(template, message_values(subject, shop.shop.name, status, line))
    customer = subject["customer"]
    comment_id, comment_at = _last_comment(draft)
    now = datetime.fromisoformat(command.issued_at)
    message: Json = {
        "v": 1, "message_id": command.command_id, "shop_id": shop.shop.id,
        "platform": customer["platform"], "user_id": customer["user_id"],
        "template": command.template, "text": text, "order_id": subject.get("order_id"),
        "livestream_id": command.livestream_id or (subject.get("source") or {}).get(
            "livestream_id"), "seq": command.seq or subject.get("seq"), "at": command.issued_at,
    }  # fmt: skip

    def check(state: Json) -> tuple[str, str] | Json:
        last = state.get("last_inbound_at")
        verdict = message_channel(
            customer["platform"], now, comment_id=comment_id, comment_at=comment_at,
            replied_comment_ids=state.get("replied", ()),
            last_inbound_at=None if last is None else datetime.fromisoformat(last),
        )  # fmt: skip
        if isinstance(verdict, Channel):
            return {"channel": verdict.kind, "comment_id": verdict.comment_id}
        return verdict

    return await shops.record_message(shop.shop.id, command.command_id, message, check)


async def _subject(
    drafts: DraftStore, shops: ShopStore, shop: ShopConfig, command: SendMessage
) -> tuple[Json | None, Json | None]:
    """(what the message is about, the livestream draft behind it, whose comments it answers)."""
    if command.order_id is not None:
        order = await shops.order(shop.shop.id, command.order_id)
        source = (order or {}).get("source") or {}
        draft = None
        if order is not None and source.get("livestream_id"):
            draft = await drafts.draft(shop.shop.id, source["livestream_id"], int(order["seq"]))
        return order, draft
    draft = await drafts.draft(shop.shop.id, command.livestream_id or "", command.seq or 0)
    return draft, draft


def _line(subject: Json, position: int | None) -> Json | None:
    lines = subject.get("lines") or []
    if position is None or not 1 <= position <= len(lines):
        return None
    line: Json = lines[position - 1]
    return line


def _last_comment(draft: Json | None) -> tuple[str | None, datetime | None]:
    """The customer's latest order comment in the draft, which a private reply answers; its time
    is the draft's `updated_at` (the time of the comment that last changed it)."""
    if draft is None:
        return None, None
    ids = [cid for line in draft.get("lines", []) for cid in line.get("comment_ids", [])]
    if not ids:
        return None, None
    return ids[-1], datetime.fromisoformat(draft["updated_at"])
