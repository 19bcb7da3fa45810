"""Finished orders: put (once per id), status moves (single and bulk), merges, assignees
and tags, and reading them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson

from config.workflow import Workflow
from orders.commands import (
    AssignOrder,
    ChangeStatus,
    Merge,
    Reason,
    TagOrder,
)
from orders.model import Json
from orders.reasons import reason
from orders.shop.customers import lookup_fields
from orders.shop.order import (
    assign_order,
    created_event,
    merge_orders,
    merge_problems,
    order_event,
    tag_order,
)
from orders.shop.store.transaction import (
    MAX_ATTEMPTS,
    OUTCOME_TTL,
    NotPrefetched,
    PrefetchedTx,
    ShopKeys,
    ShopResult,
    Snapshot,
    StoreBase,
    Tx,
    as_text,
    distinct_members,
    group_problems,
    load_json,
    order_sort_key,
    text_map,
)
from orders.shop.workflow import move, transition_problems
from orders.store import FunctionCall, StoreContended, fcall_one, registry_key


def _held(customer_id: str | None) -> Callable[[], Awaitable[str]]:
    """The customer number a snapshot took for a new customer (none taken: not foreseen)."""

    async def number() -> str:
        if customer_id is None:
            raise NotPrefetched("a new customer's number")
        return customer_id

    return number


def _snapshot_of(reply: Any) -> Snapshot | None:
    """chotdon_put_order's answer: None when it committed, else what it read."""
    if as_text(reply[0]) == "done":
        return None
    _, digest, held, keys, values = reply
    return Snapshot(
        {as_text(key): value for key, value in zip(keys, values, strict=True)},
        as_text(digest),
        as_text(held) or None,
    )


class OrderCommands(StoreBase):
    async def put_order(
        self,
        order: Json,
        command_id: str,
        workflow: Workflow | None = None,
        snapshot: Snapshot | None = None,
    ) -> tuple[Json, bool]:
        """Store a finished order (from a finalised draft): (the stored order, created).

        Idempotent by order id: one order id, one order; an existing order is returned
        unchanged with created=False. A new one is linked to its customer (found by platform
        account, then phone, or created), which gets `customer.customer_id`. The outcome
        ({"orders": [order], "events": [created]}) is recorded under `command_id` unless that
        command has one. `workflow` (which statuses count as returned) defaults to the stored
        configuration's.

        Two round trips (one with `snapshot`, the read of `order_read_call` made alongside
        another call): the Redis Function of orders/lua/shop.lua reads what the decision reads,
        the same Python rules decide on it, and the function commits the writes only if that
        read is unchanged, else answers the new read (decided again). A decision that reads
        beyond the snapshot (a layout to check, a record the function does not follow) takes
        the WATCH transaction instead, as every other shop command.
        """
        keys = ShopKeys.of(order["shop_id"])
        if not self.functions_loaded:
            await self.load_functions()
        given = snapshot is not None
        read = snapshot or await self._read_for(order, command_id, workflow)
        for _ in range(MAX_ATTEMPTS):
            assert read is not None, "a read without a digest answers what it read"
            tx = PrefetchedTx(read, keys)
            try:
                put = await self._put_order_in(tx, keys, order, command_id, workflow,
                                               _held(read.held_customer_id))  # fmt: skip
            except NotPrefetched:
                if not given:
                    break
                # read beside the draft's finalise, for the order expected then: read again
                given, read = False, await self._read_for(order, command_id, workflow)
                continue
            if not tx.writes:
                return put
            read = await self._commit_order(order, command_id, workflow, read, tx.writes)
            if read is None:
                return put
        else:
            raise StoreContended(
                f"shop {order['shop_id']!r}: {MAX_ATTEMPTS} attempts to put order "
                f"{order['order_id']!r} lost to concurrent changes"
            )

        async def body(tx: Tx, keys: ShopKeys) -> tuple[Json, bool]:
            return await self._put_order_in(tx, keys, order, command_id, workflow)

        return await self._transact(order["shop_id"], body)

    def order_read_call(
        self, order: Json, command_id: str, workflow: Workflow | None = None
    ) -> FunctionCall[Snapshot | None] | None:
        """The read `put_order(order, command_id, workflow)` decides on, as a call to send with
        another (`fcall_together`); its answer is put_order's `snapshot`. Made before the
        order is final (its draft not finalised yet), it is checked like any read: a changed
        order reads again. None before this store has loaded its library (put_order does)."""
        if not self.functions_loaded:
            return None
        return self._put_order_call(order, command_id, workflow, None, [])

    async def _read_for(
        self, order: Json, command_id: str, workflow: Workflow | None
    ) -> Snapshot | None:
        call = self._put_order_call(order, command_id, workflow, None, [])
        return await fcall_one(self._redis, call)

    async def _commit_order(
        self,
        order: Json,
        command_id: str,
        workflow: Workflow | None,
        read: Snapshot,
        writes: Sequence[tuple[Any, ...]],
    ) -> Snapshot | None:
        """The writes, if what `read` saw is still so (None); else the read as it is now."""
        return await fcall_one(
            self._redis, self._put_order_call(order, command_id, workflow, read, writes)
        )

    def _put_order_call(
        self,
        order: Json,
        command_id: str,
        workflow: Workflow | None,
        read: Snapshot | None,
        writes: Sequence[tuple[Any, ...]],
    ) -> FunctionCall[Snapshot | None]:
        person = order["customer"]
        args: list[Any] = [
            order["order_id"],
            command_id,
            orjson.dumps(lookup_fields(person)),
            person.get("customer_id") or "",
            "1" if workflow is None else "0",
            (read and read.held_customer_id) or "",
            read.digest if read is not None else "",
        ]
        for write in writes:
            args += [len(write), *write]
        layout = ShopKeys.of(order["shop_id"]).layout
        return FunctionCall("chotdon_put_order", layout, tuple(args), _snapshot_of,
                            self.load_functions)  # fmt: skip

    async def _put_order_in(
        self,
        tx: Tx,
        keys: ShopKeys,
        order: Json,
        command_id: str,
        workflow: Workflow | None,
        new_customer_id: Callable[[], Awaitable[str]] | None = None,
    ) -> tuple[Json, bool]:
        existing: Json | None = await tx.get_json(keys.orders, order["order_id"])
        if existing is not None:
            return existing, False
        stored = await self._put(tx, keys, order, workflow or await self._workflow(tx, keys),
                                 new_customer_id)  # fmt: skip
        if await tx.get_value(keys.outcome(command_id)) is None:
            result = ShopResult("applied", orders=[stored],
                                events=[created_event(stored, command_id)])  # fmt: skip
            tx.set_value(keys.outcome(command_id), orjson.dumps(result.to_json()),
                         OUTCOME_TTL)  # fmt: skip
        return stored, True

    async def shop_of_livestream(self, livestream_id: str) -> str | None:
        """The shop a livestream belongs to (`chotdon live start` records it); None: unknown."""
        owner = await self._redis.hget(registry_key(livestream_id), "shop_id")
        return None if owner is None else as_text(owner)

    async def _shop_of(self, shop_id: str | None, order_ids: Sequence[str]) -> str | None:
        """The command's shop, or the shop of the livestream its first order id names."""
        if shop_id is not None:
            return shop_id
        livestream, _, _ = order_ids[0].rpartition("-")
        return await self.shop_of_livestream(livestream) if livestream else None

    async def _orders_of(
        self, tx: Tx, keys: ShopKeys, order_ids: Sequence[str]
    ) -> tuple[list[Json], list[str]]:
        raws = await tx.mget(keys.orders, order_ids)
        found = [orjson.loads(raw) for raw in raws if raw is not None]
        missing = [oid for oid, raw in zip(order_ids, raws, strict=True) if raw is None]
        return found, missing

    async def change_status(self, cmd: ChangeStatus, workflow: Workflow) -> ShopResult:
        """Move one or many orders to `cmd.to`: all of them, or none and every reason."""
        shop_id = await self._shop_of(cmd.shop_id, cmd.order_ids)
        if shop_id is None:
            return ShopResult.refused([reason("order_not_found", "order_ids",
                                              order_id=cmd.order_ids[0])])  # fmt: skip

        async def body(tx: Tx, keys: ShopKeys) -> ShopResult:
            found, missing = await self._orders_of(tx, keys, cmd.order_ids)
            problems = transition_problems(found, cmd.to, workflow, missing=missing)
            if problems:
                return ShopResult.refused(problems)
            moved, events = [], []
            for order in found:
                changed = move(order, cmd.to, cmd.staff_id, cmd.issued_at, cmd.command_id)
                tx.set_json(keys.orders, changed["order_id"], changed)
                tx.set(keys.ostatus, changed["order_id"], cmd.to)
                moved.append(changed)
                events.append(order_event(
                    "status_changed", changed, from_=order["status"], to=cmd.to,
                    staff=cmd.staff_id, at=cmd.issued_at, command_id=cmd.command_id,
                ))  # fmt: skip
            customers = [o["customer"]["customer_id"] for o in moved]
            await self._refresh_customers(tx, keys, [c for c in customers if c], workflow)
            return ShopResult("applied", orders=moved, events=events)

        return await self._command(shop_id, cmd.command_id, body)

    async def merge(self, cmd: Merge, workflow: Workflow) -> ShopResult:
        """Gộp đơn: one customer's orders become the new order `M-<n>` (the originals stay,
        marked `merged_into`). Orders of the result: the merged order, then the originals."""
        shop_id = await self._shop_of(cmd.shop_id, cmd.order_ids)
        if shop_id is None:
            return ShopResult.refused([reason("order_not_found", "order_ids",
                                              order_id=cmd.order_ids[0])])  # fmt: skip

        async def body(tx: Tx, keys: ShopKeys) -> ShopResult:
            found, missing = await self._orders_of(tx, keys, cmd.order_ids)
            problems = merge_problems(found, workflow, missing=missing)
            if problems:
                return ShopResult.refused(problems)
            number = await tx.next_number(keys.counters, "merge")
            merged, originals = merge_orders(found, f"M-{number}", cmd.staff_id, cmd.issued_at,
                                             cmd.command_id)  # fmt: skip
            events = []
            for original in originals:
                tx.set_json(keys.orders, original["order_id"], original)
                tx.delete(keys.ostatus, original["order_id"])
                events.append(order_event(
                    "merged", original, from_=original["status"], to=original["status"],
                    staff=cmd.staff_id, at=cmd.issued_at, command_id=cmd.command_id,
                ))  # fmt: skip
            stored = await self._put(tx, keys, merged, workflow)
            events.insert(0, created_event(stored, cmd.command_id))
            customers = [o["customer"]["customer_id"] for o in originals]
            await self._refresh_customers(tx, keys, [c for c in customers if c], workflow)
            return ShopResult("applied", orders=[stored, *originals], events=events)

        return await self._command(shop_id, cmd.command_id, body)

    async def _open_order(
        self, tx: Tx, keys: ShopKeys, order_id: str
    ) -> tuple[Json | None, list[Reason]]:
        """An order that stands on its own (not merged into another), or why not."""
        order: Json | None = await tx.get_json(keys.orders, order_id)
        if order is None:
            return None, [reason("order_not_found", "order_id", order_id=order_id)]
        if order.get("merged_into"):
            return None, [reason("already_merged", "order_id", order_id=order_id,
                                 merged_into=order["merged_into"])]  # fmt: skip
        return order, []

    async def assign_order(
        self, cmd: AssignOrder, members: Sequence[str] | None = None
    ) -> ShopResult:
        """Set the order's `staff.assigned`: `cmd.assignee`, or the next of `members` in turn
        (as `assign_owner`). With `keep_existing`, an order that has an assignee keeps them.
        An order merged into another is closed (already_merged). Event: "assigned" (from the
        previous assignee to the new), when the assignee changes."""
        shop_id = await self._shop_of(cmd.shop_id, [cmd.order_id])
        if shop_id is None:
            return ShopResult.refused([reason("order_not_found", "order_id",
                                              order_id=cmd.order_id)])  # fmt: skip

        async def body(tx: Tx, keys: ShopKeys) -> ShopResult:
            problems = group_problems(cmd.group, members)
            order, order_problems = await self._open_order(tx, keys, cmd.order_id)
            if problems or order is None:
                return ShopResult.refused(order_problems + problems)
            previous = order["staff"].get("assigned")
            if cmd.keep_existing and previous:
                return ShopResult("applied", orders=[order])
            assignee = cmd.assignee or await self._pick(tx, keys, "order", str(cmd.group),
                                                        distinct_members(members))  # fmt: skip
            if assignee == previous:
                return ShopResult("applied", orders=[order])
            changed = assign_order(order, assignee, cmd.issued_at)
            tx.set_json(keys.orders, changed["order_id"], changed)
            event = order_event("assigned", changed, from_=previous, to=assignee,
                                staff=cmd.staff_id, at=cmd.issued_at,
                                command_id=cmd.command_id)  # fmt: skip
            return ShopResult("applied", orders=[changed], events=[event])

        return await self._command(shop_id, cmd.command_id, body)

    async def tag_order(self, cmd: TagOrder) -> ShopResult:
        """Add `cmd.tag` to the order's `tags`, once: an order that has it already is answered
        unchanged, with no event. An order merged into another is closed (already_merged).
        Event: "tagged" (from null, to the tag)."""
        shop_id = await self._shop_of(cmd.shop_id, [cmd.order_id])
        if shop_id is None:
            return ShopResult.refused([reason("order_not_found", "order_id",
                                              order_id=cmd.order_id)])  # fmt: skip

        async def body(tx: Tx, keys: ShopKeys) -> ShopResult:
            order, problems = await self._open_order(tx, keys, cmd.order_id)
            if order is None:
                return ShopResult.refused(problems)
            changed = tag_order(order, cmd.tag, cmd.issued_at)
            if changed is None:
                return ShopResult("applied", orders=[order])
            tx.set_json(keys.orders, changed["order_id"], changed)
            event = order_event("tagged", changed, from_=None, to=cmd.tag, staff=cmd.staff_id,
                                at=cmd.issued_at, command_id=cmd.command_id)  # fmt: skip
            return ShopResult("applied", orders=[changed], events=[event])

        return await self._command(shop_id, cmd.command_id, body)

    async def order(self, shop_id: str, order_id: str) -> Json | None:
        order: Json | None = load_json(await self._record(ShopKeys.of(shop_id).orders, order_id))
        return order

    async def orders(
        self,
        shop_id: str,
        status: str | None = None,
        staff: str | None = None,
        livestream: str | None = None,
    ) -> list[Json]:
        """The shop's orders by finalised_at then id. With `status`: the orders in that status
        that are not merged into another; `staff`: assigned to that salesperson; `livestream`:
        from that livestream."""
        keys = ShopKeys.of(shop_id)
        raws: Sequence[bytes | str | None]
        if status is None:
            raws = await self._all_records(keys.orders, keys.order_ids)
        else:
            index = text_map(await self._redis.hgetall(keys.ostatus))
            ids = sorted(oid for oid, key in index.items() if key == status)
            raws = await self._records(keys.orders, ids)
        found = [orjson.loads(raw) for raw in raws if raw is not None]
        if staff is not None:
            found = [o for o in found if o["staff"]["assigned"] == staff]
        if livestream is not None:
            found = [o for o in found if o["source"]["livestream_id"] == livestream]
        return sorted(found, key=order_sort_key)
