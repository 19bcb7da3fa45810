"""The command processor: staff commands in, changes applied atomically in Redis, outcomes out.

Independent of faust, like the comment pipeline. `handle` takes one record of
`chotdon.order-commands`, applies it through the store that owns its state (a livestream draft:
the Redis Function of orders/lua; orders, customers and chat drafts: the shop store's
transactions), and publishes what happened, waiting until Kafka has it:
- the outcome (applied, or refused with every reason) on `chotdon.command-outcomes`;
- changed drafts on `chotdon.draft-events`, created orders on `chotdon.orders`, order changes on
  `chotdon.order-events`.
Every store call is idempotent by `command_id`, so a command redelivered after a crash answers
the same outcome and publishes the same messages again: nothing lost, nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from pydantic import TypeAdapter, ValidationError

from config.settings import Topics
from config.shop import ShopConfig, shop_config_from_json
from orders.checks.finalise import finalise_problems
from orders.commands import (
    AssignOrder,
    AssignOwner,
    Blacklist,
    ChangeStatus,
    ChatDiscard,
    ChatStart,
    Command,
    Finalise,
    InboundMessage,
    Merge,
    Outcome,
    Reason,
    SendMessage,
    TagOrder,
)
from orders.decide import (
    STALE_RETRIES,
    FinaliseStep,
    command_op,
    creates_order,
    finalise_step,
    finalised_order,
    is_new_order,
    members,
    staff_problems,
    versioned_op,
)
from orders.reasons import reason
from orders.shop.order import created_event, livestream_of_order
from orders.shop.store import ShopResult, ShopStore, Snapshot
from orders.store import DraftStore, FunctionCall, StoreError, fcall_together
from stream import metrics
from stream.messages import DeadLetterReason, describe_error, draft_event_json
from stream.outbound import send_message
from stream.pipeline import Backoff, Record, dead_letter, store_unavailable

log = logging.getLogger("chotdon.commands")
Json = dict[str, Any]
Outgoing = list[tuple[str, bytes | None, bytes]]
Publish = Callable[[Sequence[tuple[str, bytes | None, bytes]]], Awaitable[None]]

T = TypeVar("T")
_ORDERING = frozenset({"open", "finalised"})  # the statuses of a draft a finalise makes an order of

COMMANDS: TypeAdapter[Command] = TypeAdapter(Command)


class CommandProcessor:
    def __init__(
        self,
        drafts: DraftStore,
        shops: ShopStore,
        publish: Publish,
        topics: Topics,
        backoff: Backoff | None = None,
    ) -> None:
        self.drafts = drafts
        self.shops = shops
        self.publish = publish
        self.topics = topics
        self.backoff = backoff or Backoff()
        # Where the command last handled may have written: (shop, livestream or None for the
        # shop's own keys). The agent marks its position there (stream/command_positions.py).
        self.touched: set[tuple[str, str | None]] = set()

    async def handle(self, record: Record) -> Outcome | None:
        """Apply one command and publish everything it produced; None for a dead letter."""
        self.touched = set()
        outgoing: Outgoing = []
        command = self._decode(record, outgoing)
        outcome = None
        if command is not None:
            try:
                outcome = await self.backoff.call(
                    f"command {command.command_id}", lambda: self._apply(command, outgoing)
                )
            except StoreError as exc:
                if store_unavailable(exc):
                    raise  # Redis busy for now, and this processor's backoff does not retry
                # Refused for good by the store (not Redis being away: that is retried). One
                # such command must not block every command after it: it is answered, and
                # kept in dead letters with the store's words, for an engineer.
                log.error("the store refused command %s: %s", command.command_id, exc)
                outgoing.clear()
                outgoing.append(dead_letter(record, DeadLetterReason.STORE_REFUSED, str(exc),
                                            self.topics.dead_letters))  # fmt: skip
                outcome = _refused(command, [reason("store_error", error=str(exc))])
            outgoing.insert(0, (self.topics.command_outcomes, command.key.encode(), _json(outcome)))
            metrics.COMMANDS.labels(command.type, outcome.status).inc()
        await self.publish(outgoing)
        return outcome

    def _decode(self, record: Record, outgoing: Outgoing) -> Command | None:
        try:
            return COMMANDS.validate_json(record.value or b"")
        except ValidationError as exc:
            detail = describe_error(exc)
        reason_code = DeadLetterReason.INVALID_COMMAND
        outgoing.append(dead_letter(record, reason_code, detail, self.topics.dead_letters))
        return None

    async def _apply(self, command: Command, outgoing: Outgoing) -> Outcome:
        if isinstance(command, ChangeStatus | Merge | AssignOrder | TagOrder):
            return await self._order_command(command, outgoing)
        if isinstance(command, Blacklist | AssignOwner | InboundMessage | SendMessage):
            return await self._customer_command(command, outgoing)
        if isinstance(command, ChatStart | ChatDiscard) or command.conversation_id is not None:
            return await self._chat_command(command, outgoing)
        return await self._live_command(command, outgoing)

    # -- livestream drafts ----------------------------------------------------------------

    async def _live_command(self, command: Any, outgoing: Outgoing) -> Outcome:
        livestream_id: str = command.livestream_id
        checked = isinstance(command, Finalise) or command.expect_version is not None
        raw: bytes | None = None
        if checked:  # checked against the draft: read with the livestream, in one round trip
            info, raw = await self.drafts.livestream_info_and_draft(livestream_id, command.seq or 0)
        else:
            info = await self.drafts.livestream_info(livestream_id)
        if info is None:
            return _refused(command, [reason("livestream_not_found", livestream=livestream_id)])
        self.touched.add((info.shop_id, livestream_id))
        shop = shop_config_from_json(info.shop_config_json)
        problems = staff_problems(shop, command)
        op, op_problems = command_op(command)
        if problems or op_problems:
            return _refused(command, problems + op_problems)
        if isinstance(command, Finalise):
            return await self._finalise(command, shop, info.shop_id, raw, outgoing)
        if not checked:
            result = await self.drafts.apply_draft_command(
                info.shop_id, livestream_id, command.command_id, op
            )
            return self._draft_outcome(command, info.shop_id, result, outgoing)
        outcome, _ = await self._checked_against_draft(
            command, info.shop_id, raw, lambda raw: versioned_op(command, op, raw), outgoing
        )
        return outcome

    async def _finalise(
        self,
        command: Finalise,
        shop: ShopConfig,
        shop_id: str,
        raw: bytes | None,
        outgoing: Outgoing,
    ) -> Outcome:
        """Three round trips: the livestream and the draft; the finalise with, beside it, the
        shop store's read for the order it makes; the order put (orders/shop/store)."""
        creating = creates_order(command)

        def order_read(step: FinaliseStep) -> FunctionCall[Snapshot | None] | None:
            # A draft neither open (checked complete) nor finalised (a redelivery) is refused
            # by the store: no order to read for.
            if not creating or step.op is None or step.draft["status"] not in _ORDERING:
                return None
            # the order as it will be once the store finalised the draft read (if it did not,
            # put_order's read is checked like any other, and read again)
            expected = {**step.draft, "action": command.action, "order_id": step.op["order_id"]}
            order = finalised_order(command, shop, expected)
            return self.shops.order_read_call(order, command.command_id, shop.workflow)

        outcome, snapshot = await self._checked_against_draft(
            command, shop_id, raw, lambda raw: finalise_step(command, raw), outgoing, order_read
        )
        if outcome.status == "applied" and outcome.draft is not None and creating:
            order = await self._put_order(command, shop, outcome.draft, outgoing, snapshot)
            outcome.orders.append(order)
        return outcome

    async def _checked_against_draft(
        self,
        command: Any,
        shop_id: str,
        raw: bytes | None,
        step_of: Callable[[bytes], FinaliseStep],
        outgoing: Outgoing,
        alongside: Callable[[FinaliseStep], FunctionCall[T] | None] | None = None,
    ) -> tuple[Outcome, T | None]:
        """Decide on the draft read (`raw`, or read now), and have the store apply the op only
        if the draft is still exactly that (else read and decide again). `alongside`: a call
        sent in the same round trip as the op's, its answer returned with the outcome."""
        livestream_id, seq = command.livestream_id or "", command.seq or 0
        for _ in range(STALE_RETRIES):
            if raw is None:
                raw = await self.drafts.draft_raw(shop_id, livestream_id, seq)
            if raw is None:
                return _refused(command, [reason("draft_not_found", seq=seq)]), None
            step = step_of(raw)
            if step.op is None:
                return _refused(command, step.refused, step.draft), None
            extra = alongside(step) if alongside is not None else None
            answer = None
            if extra is None:
                result = await self.drafts.apply_draft_command(
                    shop_id, livestream_id, command.command_id, step.op
                )
            else:
                call = self.drafts.draft_command_call(
                    shop_id, livestream_id, command.command_id, step.op
                )
                result, answer = await fcall_together(self.drafts.redis, [call, extra])
            if result.status != "stale":
                return self._draft_outcome(command, shop_id, result, outgoing), answer
            raw = None
        raise RuntimeError(f"draft {livestream_id} #{seq} kept changing under command")

    async def _put_order(
        self,
        command: Finalise,
        shop: ShopConfig,
        draft: Json,
        outgoing: Outgoing,
        snapshot: Snapshot | None = None,
    ) -> Json:
        """The draft is finalised in its livestream's keys; the order goes to the shop's. A crash
        in between is healed by redelivery: the draft answers the same stored outcome and the
        order, keyed by its deterministic id, is put once."""
        order = finalised_order(command, shop, draft)
        self.touched.add((shop.shop.id, None))  # the order goes to the shop's keys
        stored, _created = await self.shops.put_order(
            order, command.command_id, shop.workflow, snapshot
        )
        # Keyed by order id: one order's messages stay in one partition, in order.
        key = stored["order_id"].encode()
        outgoing.append((self.topics.orders, key, orjson.dumps(stored)))
        event = created_event(stored, command.command_id)
        outgoing.append((self.topics.order_events, key, orjson.dumps(event)))
        return stored

    def _draft_outcome(
        self, command: Any, shop_id: str, result: Any, outgoing: Outgoing
    ) -> Outcome:
        reasons = [reason(code, field, **params) for code, field, params in result.reasons]
        if result.status == "refused":
            return _refused(command, reasons, result.draft)
        now = datetime.now(UTC)
        key = command.livestream_id.encode()
        for draft in [result.draft, *result.others]:
            if draft is not None:
                value = draft_event_json(shop_id, command.livestream_id, draft, [], now)
                outgoing.append((self.topics.draft_events, key, value))
        return Outcome(
            command_id=command.command_id, type=command.type, status="applied", draft=result.draft
        )

    # -- orders, chats, customers: the shop's keys ------------------------------------------

    async def _shop_config(self, shop_id: str | None) -> ShopConfig | None:
        return None if shop_id is None else await self.shops.config(shop_id)

    async def _order_command(
        self, command: ChangeStatus | Merge | AssignOrder | TagOrder, outgoing: Outgoing
    ) -> Outcome:
        first = (
            command.order_id
            if isinstance(command, AssignOrder | TagOrder)
            else (command.order_ids[0])
        )
        shop_id = command.shop_id or await self._shop_of_order(first)
        if shop_id is None:  # a chat or merged order's id names no livestream
            return _refused(command, [reason("shop_unknown", "shop_id", order_id=first)])
        shop = await self._shop_config(shop_id)
        if shop is None:
            return _refused(command, [reason("shop_not_configured", shop=shop_id)])
        problems = staff_problems(shop, command)
        if problems:
            return _refused(command, problems)
        command = command.model_copy(update={"shop_id": shop.shop.id})
        self.touched.add((shop.shop.id, None))
        if isinstance(command, ChangeStatus):
            result = await self.shops.change_status(command, shop.workflow)
        elif isinstance(command, Merge):
            result = await self.shops.merge(command, shop.workflow)
        elif isinstance(command, AssignOrder):
            result = await self.shops.assign_order(command, members(shop, command.group))
        else:
            result = await self.shops.tag_order(command)
        return self._shop_outcome(command, result, outgoing)

    async def _customer_command(
        self,
        command: Blacklist | AssignOwner | InboundMessage | SendMessage,
        outgoing: Outgoing,
    ) -> Outcome:
        shop = await self._shop_config(command.shop_id)
        if shop is None:
            return _refused(command, [reason("shop_not_configured", shop=command.shop_id)])
        problems = staff_problems(shop, command)
        if problems:
            return _refused(command, problems)
        self.touched.add((shop.shop.id, None))
        if isinstance(command, SendMessage) and command.livestream_id is not None:
            self.touched.add((shop.shop.id, command.livestream_id))
        if isinstance(command, Blacklist):
            result = await self.shops.blacklist(command)
        elif isinstance(command, AssignOwner):
            result = await self.shops.assign_owner(command, members(shop, command.group))
        elif isinstance(command, InboundMessage):
            result = await self.shops.record_inbound(command)
        else:
            result = await send_message(self.drafts, self.shops, shop, command)
            if result.status == "applied" and result.message is not None:
                key = command.key.encode()
                outgoing.append((self.topics.messages_outbound, key, orjson.dumps(result.message)))
        return self._shop_outcome(command, result, outgoing)

    async def _shop_of_order(self, order_id: str) -> str | None:
        livestream_id = livestream_of_order(order_id)
        return None if livestream_id is None else await self.shops.shop_of_livestream(livestream_id)

    async def _chat_command(self, command: Any, outgoing: Outgoing) -> Outcome:
        shop = await self._shop_config(command.shop_id)
        if shop is None:
            return _refused(command, [reason("shop_not_configured", shop=command.shop_id)])
        problems = staff_problems(shop, command)
        self.touched.add((shop.shop.id, None))
        if isinstance(command, ChatStart):
            return self._shop_outcome(
                command,
                (problems and _refusal(problems)) or await self.shops.chat_start(command),
                outgoing,
            )
        if isinstance(command, ChatDiscard):
            result = _refusal(problems) if problems else await self.shops.chat_discard(command)
            return self._shop_outcome(command, result, outgoing)
        op, op_problems = command_op(command)
        if problems or op_problems:
            return _refused(command, problems + op_problems)
        products = {p.code: p for p in shop.products}
        result = await self.shops.chat_command(
            shop.shop.id,
            command.conversation_id,
            command.command_id,
            op,
            products,
            finalise_problems,
            expect_version=command.expect_version,
        )
        return self._shop_outcome(command, result, outgoing)

    def _shop_outcome(self, command: Any, result: ShopResult, outgoing: Outgoing) -> Outcome:
        if result.status == "refused":
            return _refused(command, list(result.reasons), result.draft)
        for order in result.orders:
            if order.get("merged_into") is None and is_new_order(order, result.events):
                key = order["order_id"].encode()
                outgoing.append((self.topics.orders, key, orjson.dumps(order)))
        for event in result.events:
            # one order's events in one partition, in order; an owner change without an order
            # is keyed by its customer
            key = (event.get("order_id") or event.get("customer_id") or event["shop_id"]).encode()
            outgoing.append((self.topics.order_events, key, orjson.dumps(event)))
        return result.outcome(command.command_id, command.type)


def _refusal(problems: list[Reason]) -> ShopResult:
    return ShopResult(status="refused", reasons=problems)


def _refused(command: Any, reasons: list[Reason], draft: Json | None = None) -> Outcome:
    return Outcome(
        command_id=command.command_id,
        type=command.type,
        status="refused",
        reasons=reasons,
        draft=draft,
    )


def _json(outcome: Outcome) -> bytes:
    return orjson.dumps(outcome.model_dump(mode="json"))
