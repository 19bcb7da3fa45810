"""Chat orders (seed 000): start a sale or an upsell, edit, finalise or discard it, resume
the unfinished ones after a crash."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from config.shop import Product
from config.workflow import Workflow
from orders.commands import (
    ChatDiscard,
    ChatStart,
    Reason,
    aware_instant,
)
from orders.events import CREATING_ACTIONS
from orders.model import Json, draft_version
from orders.reasons import reason
from orders.shop.chat import (
    apply_chat_op,
    chat_order,
    discard_chat,
    new_chat_draft,
    op_name,
)
from orders.shop.customers import (
    phone_field,
    platform_field,
)
from orders.shop.order import (
    created_event,
)
from orders.shop.store.transaction import (
    ShopKeys,
    ShopResult,
    StoreBase,
    Tx,
    load_json,
    normalised_phone,
    text_map,
)


class ChatCommands(StoreBase):
    async def chat_start(self, cmd: ChatStart) -> ShopResult:
        """A salesperson starts the conversation's next chat order (n = 1, 2, 3...). Refused
        while the conversation has an open one. An upsell answers the customer's previous
        orders (found by phone, else by platform account) as `previous_orders`. With a
        `user_id` (and an `issued_at` with its offset) it also records that the customer wrote
        to the shop then (`record_inbound`); `website` goes to the draft and the order."""
        phone, problems = normalised_phone(cmd.customer_phone)
        if problems:
            return ShopResult.refused(problems)

        async def body(tx: Tx, keys: ShopKeys) -> ShopResult:
            current = await tx.get_json(keys.chats, cmd.conversation_id)
            if current is not None and current["status"] == "open":
                return ShopResult.refused(
                    [reason("chat_in_progress", None, conversation=cmd.conversation_id)], current
                )
            draft = new_chat_draft(
                shop_id=cmd.shop_id, conversation_id=cmd.conversation_id,
                n=1 if current is None else int(current["n"]) + 1, mode=cmd.mode,
                platform=cmd.platform, page_id=cmd.page_id, user_id=cmd.user_id,
                name=cmd.customer_name, phone=phone, staff=cmd.staff_id, at=cmd.issued_at,
                website=cmd.website,
            )  # fmt: skip
            previous: list[Json] = []
            if cmd.mode == "upsell":
                names = [phone_field(phone)] if phone else []
                if cmd.user_id:
                    names.append(platform_field(cmd.platform, cmd.user_id))
                customer = await self._customer_by(tx, keys, names) if names else None
                if customer is not None:
                    previous = await self._customer_orders(tx, keys, customer)
            tx.set_json(keys.chats, cmd.conversation_id, draft)
            tx.set(keys.chatopen, cmd.conversation_id, cmd.staff_id)
            if cmd.user_id and aware_instant(cmd.issued_at) is not None:
                # a conversation means the customer wrote: it opens the messaging window
                await self._note_inbound(tx, keys, cmd.platform, cmd.user_id, cmd.issued_at,
                                         cmd.conversation_id)  # fmt: skip
            return ShopResult("applied", draft=draft, previous_orders=previous)

        return await self._command(cmd.shop_id, cmd.command_id, body)

    async def chat_command(
        self,
        shop_id: str,
        conversation_id: str,
        command_id: str,
        op: Mapping[str, Any],
        products: Mapping[str, Product],
        validate: Callable[[Json], list[Reason]],
        *,
        staff: str | None = None,
        at: str | None = None,
        workflow: Workflow | None = None,
        expect_version: str | None = None,
    ) -> ShopResult:
        """One operation on the conversation's open chat order (orders/shop/chat.py lists them).
        With `expect_version`, a draft that is no longer that version is refused
        (`draft_changed`): checked inside the transaction, so two staff cannot both pass.

        A finalise that creates an order first asks `validate(draft)` (inside the transaction,
        on the draft as it is) and is refused with its reasons; otherwise the draft is
        finalised and the order `<conversation>-<n>` is stored (customer linked) in the same
        transaction. `staff` and `at` default to the op's `staff` and `at` (or `staff_id`,
        `issued_at`);
        `workflow` (the status of each action) to the stored configuration's.
        """
        staff_id = staff or op.get("staff") or op.get("staff_id")
        when = at or op.get("at") or op.get("issued_at")
        if not isinstance(staff_id, str) or not isinstance(when, str):
            raise ValueError("chat_command needs the staff and the time of the command")
        name = op_name(op)

        async def body(tx: Tx, keys: ShopKeys) -> ShopResult:
            draft = await tx.get_json(keys.chats, conversation_id)
            if draft is None or draft["status"] != "open":
                return ShopResult.refused(
                    [reason("chat_not_found", None, conversation=conversation_id)], draft
                )
            if expect_version is not None and draft_version(draft) != expect_version:
                return ShopResult.refused([reason("draft_changed", "expect_version")], draft)
            if name == "finalise" and op.get("action") in CREATING_ACTIONS:
                problems = validate(draft)
                if problems:
                    return ShopResult.refused(problems, draft)
            new, problems = apply_chat_op(draft, op, products, staff=staff_id, at=when)
            if problems:
                return ShopResult.refused(problems, draft)
            tx.set_json(keys.chats, conversation_id, new)
            if new["status"] == "open":
                if new["staff"] != draft["staff"]:
                    tx.set(keys.chatopen, conversation_id, new["staff"])
            else:
                tx.delete(keys.chatopen, conversation_id)
            if new["status"] != "finalised":
                return ShopResult("applied", draft=new)
            flow = workflow or await self._workflow(tx, keys)
            order = chat_order(new, status=flow.actions[new["action"]], command_id=command_id)
            existing = await tx.get_json(keys.orders, order["order_id"])
            if existing is not None:  # one order id, one order
                return ShopResult("applied", draft=new, orders=[existing])
            stored = await self._put(tx, keys, order, flow)
            return ShopResult("applied", draft=new, orders=[stored],
                              events=[created_event(stored, command_id)])  # fmt: skip

        return await self._command(shop_id, command_id, body)

    async def chat_discard(self, cmd: ChatDiscard) -> ShopResult:
        """Give up the conversation's open chat order (the salesperson said No on resume)."""

        async def body(tx: Tx, keys: ShopKeys) -> ShopResult:
            draft = await tx.get_json(keys.chats, cmd.conversation_id)
            if draft is None or draft["status"] != "open":
                return ShopResult.refused(
                    [reason("chat_not_found", None, conversation=cmd.conversation_id)], draft
                )
            new = discard_chat(draft, cmd.issued_at)
            tx.set_json(keys.chats, cmd.conversation_id, new)
            tx.delete(keys.chatopen, cmd.conversation_id)
            return ShopResult("applied", draft=new)

        return await self._command(cmd.shop_id, cmd.command_id, body)

    async def chat_resume(self, shop_id: str, staff_id: str) -> list[Json]:
        """The salesperson's open chat orders, oldest first: an unfinished chat order lives in
        Redis only, so it survives any crash of the app or the worker and is offered back."""
        keys = ShopKeys.of(shop_id)
        open_by = text_map(await self._redis.hgetall(keys.chatopen))
        mine = sorted(conv for conv, staff in open_by.items() if staff == staff_id)
        if not mine:
            return []
        raws = await self._records(keys.chats, mine)
        drafts = [orjson.loads(raw) for raw in raws if raw is not None]
        drafts = [d for d in drafts if d["status"] == "open" and d["staff"] == staff_id]
        return sorted(drafts, key=lambda d: (d["created_at"], d["conversation_id"]))

    async def chat_draft(self, shop_id: str, conversation_id: str) -> Json | None:
        """The conversation's latest chat draft (open, finalised or discarded)."""
        draft: Json | None = load_json(
            await self._record(ShopKeys.of(shop_id).chats, conversation_id)
        )
        return draft
