"""The shop-level Redis store: finished orders, statuses, merges, customers, chat orders.

Every key of a shop carries the hash tag `{<shop>}` (one Cluster slot per shop); `S` below is
`chotdon:{<shop>}`. Livestream drafts live elsewhere (orders/store.py, `{<shop>:<livestream>}`).

| key | type | holds |
|---|---|---|
| `S:config` | string | the shop configuration JSON (`apply_config`) |
| `S:orders` | hash | order id -> order JSON (v1, orders/shop/order.py) |
| `S:ostatus` | hash | order id -> status key, for orders not merged into another |
| `S:customers` | hash | customer id (`C-<n>`) -> customer JSON (orders/shop/customers.py) |
| `S:cidx` | hash | `<platform>:<user_id>` / `phone:<phone>` -> the customer id owning it |
| `S:flags` | hash | the same fields -> {"returned": n, "blacklisted": bool} of their owner |
| `S:counters` | hash | `customer`, `merge`: the last number given (C-<n>, M-<n>) |
| `S:cmd:<command id>` | string | the command's outcome (`ShopResult` JSON), kept 30 days |
| `S:chats` | hash | conversation id -> its latest chat draft JSON (orders/shop/chat.py) |
| `S:chatopen` | hash | conversation id -> salesperson, for the open chat drafts |
| `S:inbox` | hash | `<platform>:<user_id>` -> the person's messaging state (customers.py) |
| `S:messages` | list | the customer messages sent or refused, oldest first (the last 10,000) |
| `S:rr` | hash | `owner:<group>` / `order:<group>` -> the group's round-robin picks so far |
| `S:autodrafts:<livestream>` | hash | seq -> the automation's last snapshot of that draft |
| `chotdon:shops` | set | the shops `apply_config` has set up (outside every tag) |

Every change is one optimistic transaction: WATCH the shop's keys, read, decide with the pure
rules of orders/shop/order.py, workflow.py, customers.py and chat.py, then MULTI/EXEC the
writes; retried on WatchError. Concurrent commands of one shop therefore conflict and retry
(benchmarks/command_bench.py measures it): fine at staff speed, the first thing to change for
many concurrent workers per shop (a key per order, WATCH what is read).
`S:messages` (only ever appended) and `S:autodrafts:*` (one atomic script, written at the pace
of draft events) stay out of the WATCH, so they never make a staff command retry.
A command's outcome is stored under its command id (its own key) in the same transaction, for
30 days: a command delivered twice acts once and answers the stored outcome again
(`duplicate=True`). Refusals are stored too; a refused command changes nothing else.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from config.shop import Product, ShopConfig, shop_config_from_json
from config.workflow import Workflow
from orders.automation.rules import round_robin
from orders.commands import (
    AssignOrder,
    AssignOwner,
    Blacklist,
    ChangeStatus,
    ChatDiscard,
    ChatStart,
    InboundMessage,
    Merge,
    Outcome,
    Reason,
    TagOrder,
    aware_instant,
)
from orders.events import CREATING_ACTIONS
from orders.model import Json
from orders.reasons import reason
from orders.shop.chat import (
    apply_chat_op,
    chat_order,
    discard_chat,
    new_chat_draft,
    op_name,
)
from orders.shop.customers import (
    customer_fields,
    empty_inbox,
    find_customer,
    flags,
    link_order,
    link_person,
    lookup_fields,
    new_customer,
    note_inbound,
    note_replied,
    owned_fields,
    owner_event,
    owner_of,
    phone_field,
    platform_field,
    returned_count,
    set_blacklist,
    set_owner,
    sorted_customers,
)
from orders.shop.order import (
    assign_order,
    created_event,
    merge_orders,
    merge_problems,
    order_event,
    tag_order,
)
from orders.shop.workflow import move, returned_keys, status_name, transition_problems
from orders.store import StoreContended, registry_key
from parsers.phones import find_phones

T = TypeVar("T")
MAX_ATTEMPTS = 64
# A command's outcome is kept this long: far beyond Kafka's retention, so any redelivery of the
# command finds it; then it expires instead of growing the store forever.
OUTCOME_TTL = 30 * 24 * 3600
SHOPS_KEY = "chotdon:shops"  # the shops set up (outside every hash tag, like the registry)
_ID_RE = re.compile(r"^[^{}\s]+$")
CHANNELS = frozenset({"private_reply", "message"})
MESSAGES_KEPT = 10_000  # S:messages keeps the latest this many
AUTODRAFT_TTL_DAYS = 30
AUTODRAFT_TTL_SECONDS = AUTODRAFT_TTL_DAYS * 24 * 3600
# remember_draft: the previous snapshot out, the new one in, in one step
_REMEMBER = """
local previous = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return previous
"""


def shop_prefix(shop_id: str) -> str:
    if not _ID_RE.match(shop_id):
        raise ValueError(f"shop id {shop_id!r} must be non-empty, without braces or spaces")
    return f"chotdon:{{{shop_id}}}"


def flags_key(shop_id: str) -> str:
    """The hash the comment path reads with one HMGET per batch (fields: `<platform>:<user_id>`
    and `phone:<phone>`; values: {"returned": n, "blacklisted": bool} JSON)."""
    return f"{shop_prefix(shop_id)}:flags"


@dataclass(frozen=True, slots=True)
class _Keys:
    config: str
    orders: str
    ostatus: str
    customers: str
    cidx: str
    flags: str
    counters: str
    cmds: str
    chats: str
    chatopen: str
    inbox: str
    rr: str
    messages: str  # appended only: not WATCHed

    @classmethod
    def of(cls, shop_id: str) -> _Keys:
        p = shop_prefix(shop_id)
        return cls(*(f"{p}:{name}" for name in (
            "config", "orders", "ostatus", "customers", "cidx", "flags", "counters", "cmd",
            "chats", "chatopen", "inbox", "rr", "messages",
        )))  # fmt: skip

    def shared(self) -> list[str]:
        """The shop's keys every transaction WATCHes up front (one round trip): a command's
        decision may read any of them. Outcome keys are watched as they are read."""
        return [self.config, self.orders, self.ostatus, self.customers, self.cidx, self.flags,
                self.counters, self.chats, self.chatopen, self.inbox, self.rr]  # fmt: skip

    def outcome(self, command_id: str) -> str:
        """One key per command (not one hash for all): commands of one shop that touch
        different things never conflict over the record of their outcomes."""
        return f"{self.cmds}:{command_id}"


@dataclass(slots=True)
class ShopResult:
    """What a shop-level command did (the store's side of an `Outcome`)."""

    status: Literal["applied", "refused"]
    reasons: list[Reason] = field(default_factory=list)
    draft: Json | None = None  # a chat draft after the command
    orders: list[Json] = field(default_factory=list)  # orders created or changed
    events: list[Json] = field(default_factory=list)  # for chotdon.order-events
    previous_orders: list[Json] = field(default_factory=list)  # an upsell's customer's orders
    customer: Json | None = None  # the customer record a blacklist or assign_owner changed
    message: Json | None = None  # a customer message: sent (applied) or not (refused)
    duplicate: bool = False  # the command was applied before: this is its stored outcome

    @classmethod
    def refused(cls, reasons: list[Reason], draft: Json | None = None) -> ShopResult:
        return cls("refused", reasons=reasons, draft=draft)

    def to_json(self) -> Json:
        return {"status": self.status, "reasons": [r.model_dump() for r in self.reasons],
                "draft": self.draft, "orders": self.orders, "events": self.events,
                "previous_orders": self.previous_orders,
                "customer": self.customer, "message": self.message}  # fmt: skip

    @classmethod
    def from_json(cls, data: Json, *, duplicate: bool = False) -> ShopResult:
        return cls(
            status=data["status"],
            reasons=[Reason.model_validate(r) for r in data["reasons"]],
            draft=data.get("draft"),
            orders=list(data.get("orders") or []),
            events=list(data.get("events") or []),
            previous_orders=list(data.get("previous_orders") or []),
            customer=data.get("customer"),
            message=data.get("message"),
            duplicate=duplicate,
        )

    def outcome(self, command_id: str, type_: str) -> Outcome:
        """The outcome message for `chotdon.command-outcomes`."""
        return Outcome(command_id=command_id, type=type_, status=self.status,
                       reasons=self.reasons, draft=self.draft, orders=self.orders,
                       previous_orders=self.previous_orders, customer=self.customer,
                       message=self.message)  # fmt: skip


def _group_problems(group: str | None, members: Sequence[str] | None) -> list[Reason]:
    if group is None:
        return []
    if members is None:
        return [reason("unknown_group", "group", group=group)]
    if not _members(members):
        return [reason("empty_group", "group", group=group)]
    return []


def _members(members: Sequence[str] | None) -> list[str]:
    """A group's members, each once, in the configuration's order."""
    return list(dict.fromkeys(members or ()))


def _load(raw: bytes | str | None) -> Any:
    return None if raw is None else orjson.loads(raw)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _Tx:
    """One attempt of a transaction: reads run at once (the keys are WATCHed), writes are staged
    (later reads see them) and run together in MULTI/EXEC at the end."""

    def __init__(self, pipe: Pipeline, watched: Sequence[str]) -> None:
        self._pipe = pipe
        self._staged: dict[tuple[str, str], bytes | None] = {}
        self._watched: set[str] = set(watched)
        self.writes: list[tuple[Any, ...]] = []

    async def read(self, *args: Any) -> Any:
        """A raw read (for whole keys: no staged value is seen). A key not WATCHed yet (a
        command's outcome key) is WATCHed first (args[1] is the key of every read used here)."""
        key = args[1]
        if key not in self._watched:
            await self._pipe.watch(key)
            self._watched.add(key)
        return await self._pipe.execute_command(*args)

    async def get_value(self, key: str) -> bytes | None:
        """A string key (staged values seen)."""
        if (key, "") in self._staged:
            return self._staged[key, ""]
        value: bytes | None = await self.read("GET", key)
        return value

    def set_value(self, key: str, value: bytes, expire_seconds: int) -> None:
        self._staged[key, ""] = value
        self.write("SET", key, value, "EX", expire_seconds)

    def write(self, *args: Any) -> None:
        self.writes.append(args)

    async def get(self, key: str, name: str) -> bytes | None:
        if (key, name) in self._staged:
            return self._staged[key, name]
        value: bytes | None = await self.read("HGET", key, name)
        return value

    async def mget(self, key: str, names: Sequence[str]) -> list[bytes | None]:
        unstaged = [n for n in dict.fromkeys(names) if (key, n) not in self._staged]
        fetched: dict[str, bytes | None] = {}
        if unstaged:
            fetched = dict(zip(unstaged, await self.read("HMGET", key, *unstaged), strict=True))
        return [self._staged[key, n] if (key, n) in self._staged else fetched[n] for n in names]

    async def get_json(self, key: str, name: str) -> Any:
        return _load(await self.get(key, name))

    def set(self, key: str, name: str, value: bytes | str) -> None:
        data = value.encode() if isinstance(value, str) else value
        self._staged[key, name] = data
        self.write("HSET", key, name, data)

    def set_json(self, key: str, name: str, value: Any) -> None:
        self.set(key, name, orjson.dumps(value))

    def delete(self, key: str, name: str) -> None:
        self._staged[key, name] = None
        self.write("HDEL", key, name)

    async def next_number(self, key: str, name: str) -> int:
        """The next number of a counter (staged: given only if the transaction commits)."""
        current = await self.get(key, name)
        number = int(current or 0) + 1
        self.set(key, name, str(number))
        return number


def _normalised_phone(phone: str | None) -> tuple[str | None, list[Reason]]:
    if phone is None:
        return None, []
    found = find_phones(phone)
    if not found:
        return None, [reason("invalid_phone", "phone", phone=phone)]
    return found[0], []


def _text_map(raw: Any) -> dict[str, str]:
    """A hash as HGETALL answers it, as text."""
    return {_text(k): _text(v) for k, v in raw.items()}


def _order_sort_key(order: Json) -> tuple[str, str]:
    return (str(order.get("finalised_at") or ""), str(order["order_id"]))


class ShopStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._remember = redis.register_script(_REMEMBER)

    @classmethod
    @asynccontextmanager
    async def connect(cls, url: str) -> AsyncIterator[ShopStore]:
        """A store on its own client, closed on exit (for one-shot CLI commands)."""
        client = Redis.from_url(url)
        try:
            yield cls(client)
        finally:
            await client.aclose()

    # -- transactions ----------------------------------------------------------------------

    async def _transact(self, shop_id: str, body: Callable[[_Tx, _Keys], Awaitable[T]]) -> T:
        """Run `body` under WATCH of every key of the shop; commit its writes atomically;
        run it again if another client changed the shop meanwhile."""
        keys = _Keys.of(shop_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(MAX_ATTEMPTS):
                await pipe.watch(*keys.shared())
                tx = _Tx(pipe, keys.shared())
                result = await body(tx, keys)
                if not tx.writes:
                    await pipe.reset()  # type: ignore[no-untyped-call]
                    return result
                pipe.multi()  # type: ignore[no-untyped-call]
                for args in tx.writes:
                    pipe.execute_command(*args)
                try:
                    await pipe.execute()
                except WatchError:
                    continue
                return result
        raise StoreContended(
            f"shop {shop_id!r}: {MAX_ATTEMPTS} attempts lost to concurrent changes"
        )

    async def _command(
        self,
        shop_id: str,
        command_id: str,
        body: Callable[[_Tx, _Keys], Awaitable[ShopResult]],
    ) -> ShopResult:
        """`body` once per command id: a repeat answers the stored outcome, changing nothing."""

        async def run(tx: _Tx, keys: _Keys) -> ShopResult:
            stored = _load(await tx.get_value(keys.outcome(command_id)))
            if stored is not None:
                return ShopResult.from_json(stored, duplicate=True)
            result = await body(tx, keys)
            tx.set_value(keys.outcome(command_id), orjson.dumps(result.to_json()), OUTCOME_TTL)
            return result

        return await self._transact(shop_id, run)

    async def _workflow(self, tx: _Tx, keys: _Keys) -> Workflow:
        raw = await tx.read("GET", keys.config)
        return Workflow() if raw is None else shop_config_from_json(raw).workflow

    # -- customers (inside a transaction) --------------------------------------------------

    async def _refresh_customers(
        self, tx: _Tx, keys: _Keys, customer_ids: Iterable[str], workflow: Workflow
    ) -> None:
        """Recount `returned` from the orders' statuses and rewrite the owned flags fields."""
        returned = returned_keys(workflow)
        for cid in dict.fromkeys(customer_ids):
            customer = await tx.get_json(keys.customers, cid)
            if customer is None:
                continue
            statuses = dict(zip(customer["orders"], [
                None if raw is None else _text(raw)
                for raw in await tx.mget(keys.ostatus, customer["orders"])
            ], strict=True)) if customer["orders"] else {}  # fmt: skip
            count = returned_count(customer["orders"], statuses, returned)
            if count != customer["returned"]:
                customer["returned"] = count
                tx.set_json(keys.customers, cid, customer)
            await self._write_flags(tx, keys, customer)

    async def _write_flags(self, tx: _Tx, keys: _Keys, customer: Json) -> None:
        names = customer_fields(customer)
        owners = [None if o is None else _text(o) for o in await tx.mget(keys.cidx, names)]
        value = orjson.dumps(flags(customer))
        for name in owned_fields(customer, dict(zip(names, owners, strict=True))):
            if await tx.get(keys.flags, name) != value:
                tx.set(keys.flags, name, value)

    async def _index(self, tx: _Tx, keys: _Keys, names: Sequence[str]) -> dict[str, str | None]:
        owners = await tx.mget(keys.cidx, names)
        return {n: None if o is None else _text(o) for n, o in zip(names, owners, strict=True)}

    async def _put(self, tx: _Tx, keys: _Keys, order: Json, workflow: Workflow) -> Json:
        """Store a new order, linked to its customer (found or created)."""
        person = order["customer"]
        index = await self._index(tx, keys, lookup_fields(person))
        candidates: dict[str, Json] = {}
        for cid in {person.get("customer_id"), find_customer(person, index)}:
            if cid:
                record = await tx.get_json(keys.customers, cid)
                if record is not None:
                    candidates[cid] = record
        counter = await tx.get(keys.counters, "customer")
        new_id = f"C-{int(counter or 0) + 1}"
        linked = link_order(order, index=index, customers=candidates, new_id=new_id,
                            at=order["updated_at"])  # fmt: skip
        if linked.created:
            await tx.next_number(keys.counters, "customer")
        stored = linked.order
        cid = linked.customer["customer_id"]
        tx.set_json(keys.orders, stored["order_id"], stored)
        if not stored.get("merged_into"):
            tx.set(keys.ostatus, stored["order_id"], stored["status"])
        tx.set_json(keys.customers, cid, linked.customer)
        for name, owner in linked.index.items():
            tx.set(keys.cidx, name, owner)
        await self._refresh_customers(tx, keys, [cid], workflow)
        return stored

    async def _customer_by(self, tx: _Tx, keys: _Keys, names: Sequence[str]) -> Json | None:
        index = await self._index(tx, keys, names)
        for name in names:
            if index.get(name):
                record: Json | None = await tx.get_json(keys.customers, str(index[name]))
                return record
        return None

    async def _customer_orders(self, tx: _Tx, keys: _Keys, customer: Json) -> list[Json]:
        """A customer's orders that stand on their own (not merged into another)."""
        raws = await tx.mget(keys.orders, customer["orders"]) if customer["orders"] else []
        found = [orjson.loads(raw) for raw in raws if raw is not None]
        return sorted((o for o in found if not o.get("merged_into")), key=_order_sort_key)

    # -- configuration ---------------------------------------------------------------------

    async def apply_config(self, shop: ShopConfig) -> list[str]:
        """Store the shop's configuration, or return why not (storing nothing): orders left in a
        status the new workflow removed (orders merged into another are closed records and do
        not count). When the returned statuses change, every customer's `returned` and flags
        are recounted. The workflow's structure is checked by `config.shop.Workflow` itself."""
        new_keys = {status.key for status in shop.workflow.statuses}

        async def body(tx: _Tx, keys: _Keys) -> list[str]:
            old = await self._workflow(tx, keys)
            statuses = _text_map(await tx.read("HGETALL", keys.ostatus))
            counts = Counter(statuses.values())
            left = [f"orders left in a removed status: {status_name(old, key)} ({key}): "
                    f"{n} order{'s' if n != 1 else ''}"
                    for key, n in sorted(counts.items()) if key not in new_keys]  # fmt: skip
            if left:
                return left
            tx.write("SET", keys.config, shop.model_dump_json())
            if returned_keys(old) != returned_keys(shop.workflow):
                await self._recount_all(tx, keys, statuses, shop.workflow)
            return []

        problems = await self._transact(shop.shop.id, body)
        if not problems:
            await self._redis.sadd(SHOPS_KEY, shop.shop.id)
        return problems

    async def shop_ids(self) -> list[str]:
        """The shops `apply_config` has set up."""
        return sorted(_text(member) for member in await self._redis.smembers(SHOPS_KEY))

    async def _recount_all(
        self, tx: _Tx, keys: _Keys, statuses: Mapping[str, str], workflow: Workflow
    ) -> None:
        returned = returned_keys(workflow)
        customers = [orjson.loads(raw) for raw in (await tx.read("HVALS", keys.customers))]
        index = _text_map(await tx.read("HGETALL", keys.cidx))
        for customer in customers:
            customer["returned"] = returned_count(customer["orders"], statuses, returned)
            tx.set_json(keys.customers, customer["customer_id"], customer)
            for name in owned_fields(customer, index):
                tx.set_json(keys.flags, name, flags(customer))

    async def config(self, shop_id: str) -> ShopConfig | None:
        raw = await self._redis.get(_Keys.of(shop_id).config)
        return None if raw is None else shop_config_from_json(raw)

    # -- orders ----------------------------------------------------------------------------

    async def put_order(
        self, order: Json, command_id: str, workflow: Workflow | None = None
    ) -> tuple[Json, bool]:
        """Store a finished order (from a finalised draft): (the stored order, created).

        Idempotent by order id: one order id, one order; an existing order is returned
        unchanged with created=False. A new one is linked to its customer (found by platform
        account, then phone, or created), which gets `customer.customer_id`. The outcome
        ({"orders": [order], "events": [created]}) is recorded under `command_id` unless that
        command has one. `workflow` (which statuses count as returned) defaults to the stored
        configuration's.
        """
        shop_id = order["shop_id"]

        async def body(tx: _Tx, keys: _Keys) -> tuple[Json, bool]:
            existing: Json | None = await tx.get_json(keys.orders, order["order_id"])
            if existing is not None:
                return existing, False
            stored = await self._put(tx, keys, order, workflow or await self._workflow(tx, keys))
            if await tx.get_value(keys.outcome(command_id)) is None:
                result = ShopResult("applied", orders=[stored],
                                    events=[created_event(stored, command_id)])  # fmt: skip
                tx.set_value(keys.outcome(command_id), orjson.dumps(result.to_json()),
                             OUTCOME_TTL)  # fmt: skip
            return stored, True

        return await self._transact(shop_id, body)

    async def shop_of_livestream(self, livestream_id: str) -> str | None:
        """The shop a livestream belongs to (`chotdon live start` records it); None: unknown."""
        owner = await self._redis.hget(registry_key(livestream_id), "shop_id")
        return None if owner is None else _text(owner)

    async def _shop_of(self, shop_id: str | None, order_ids: Sequence[str]) -> str | None:
        """The command's shop, or the shop of the livestream its first order id names."""
        if shop_id is not None:
            return shop_id
        livestream, _, _ = order_ids[0].rpartition("-")
        return await self.shop_of_livestream(livestream) if livestream else None

    async def _orders_of(
        self, tx: _Tx, keys: _Keys, order_ids: Sequence[str]
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

        async def body(tx: _Tx, keys: _Keys) -> ShopResult:
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

        async def body(tx: _Tx, keys: _Keys) -> ShopResult:
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

    # -- customers -------------------------------------------------------------------------

    async def blacklist(self, cmd: Blacklist) -> ShopResult:
        """Flag (or unflag) a customer, found by platform account first, then phone. Flagging
        someone without a record yet creates one (no orders), so their comments are marked
        from the next one on; unflagging an unknown person is refused (customer_not_found)."""
        phone, problems = _normalised_phone(cmd.phone)
        if problems:
            return ShopResult.refused(problems)
        person = {"platform": cmd.platform, "user_id": cmd.user_id, "phone": phone}

        async def body(tx: _Tx, keys: _Keys) -> ShopResult:
            names = lookup_fields(person)
            index = await self._index(tx, keys, names)
            cid = find_customer(person, index)
            customer = None if cid is None else await tx.get_json(keys.customers, cid)
            if customer is None:
                if not cmd.blacklisted:
                    return ShopResult.refused([reason("customer_not_found", None)])
                number = await tx.next_number(keys.counters, "customer")
                customer = new_customer(f"C-{number}", cmd.shop_id, cmd.issued_at)
            customer = link_person(customer, person, cmd.issued_at)
            customer = set_blacklist(customer, cmd.blacklisted, cmd.reason, cmd.issued_at)
            tx.set_json(keys.customers, customer["customer_id"], customer)
            for name in customer_fields(customer):
                if name in names and not index.get(name):
                    tx.set(keys.cidx, name, customer["customer_id"])
            await self._write_flags(tx, keys, customer)
            return ShopResult("applied", customer=customer)

        return await self._command(cmd.shop_id, cmd.command_id, body)

    # -- automation: owners, assignees, tags -------------------------------------------------

    async def _pick(
        self, tx: _Tx, keys: _Keys, purpose: str, group: str, members: Sequence[str]
    ) -> str:
        """The group's next member in turn: the count of picks lives in Redis (`S:rr`), raised
        in the caller's transaction, so turns are fair over time and across restarts, and a
        repeated command (answered from its `S:cmd:<id>`) takes no turn. Owners and order assignees
        take turns separately (two rules on one group would otherwise alternate between them:
        with two members, one would own every customer and the other get every order)."""
        number = await tx.next_number(keys.rr, f"{purpose}:{group}")
        return round_robin(members, number - 1)

    async def _customer_for(
        self, tx: _Tx, keys: _Keys, order_id: str | None, person: Json
    ) -> tuple[Json | None, Json, list[Reason]]:
        """(the customer record or None, the person to create one for, reasons to refuse): the
        order's customer, else the person's by platform account, then phone."""
        if order_id is not None:
            order = await tx.get_json(keys.orders, order_id)
            if order is None:
                return None, person, [reason("order_not_found", "order_id", order_id=order_id)]
            cid = order["customer"].get("customer_id")
            record = None if not cid else await tx.get_json(keys.customers, cid)
            if record is not None:
                return record, person, []
            if not lookup_fields(person):
                person = {key: order["customer"].get(key)
                          for key in ("platform", "user_id", "phone")}  # fmt: skip
        return await self._customer_by(tx, keys, lookup_fields(person)), person, []

    async def assign_owner(
        self, cmd: AssignOwner, members: Sequence[str] | None = None
    ) -> ShopResult:
        """Set the customer's `owner`: `cmd.owner`, or the next of `members` (the group's
        member ids in the shop configuration's order; None: the shop has no such group) in
        turn. The customer is the order's, else found by platform account, then phone; a person
        without a record yet (a rule on a new draft comes before any order) gets one, as a
        blacklist does. With `keep_existing`, a customer who has an owner keeps them (and takes
        no turn). Event: "owner_assigned" (order_id: the command's, or null), when the owner
        changes."""
        phone, problems = _normalised_phone(cmd.phone)
        if problems:
            return ShopResult.refused(problems)
        person = {"platform": cmd.platform, "user_id": cmd.user_id, "phone": phone}

        async def body(tx: _Tx, keys: _Keys) -> ShopResult:
            group_problems = _group_problems(cmd.group, members)
            if group_problems:
                return ShopResult.refused(group_problems)
            customer, who, problems = await self._customer_for(tx, keys, cmd.order_id, person)
            if problems:
                return ShopResult.refused(problems)
            created = customer is None
            if customer is None:
                names = lookup_fields(who)
                if not names:
                    return ShopResult.refused([reason("customer_not_found", None)])
                number = await tx.next_number(keys.counters, "customer")
                customer = link_person(new_customer(f"C-{number}", cmd.shop_id, cmd.issued_at),
                                       who, cmd.issued_at)  # fmt: skip
                index = await self._index(tx, keys, names)
                for name in customer_fields(customer):
                    if name in names and not index.get(name):
                        tx.set(keys.cidx, name, customer["customer_id"])
            previous = owner_of(customer)
            if cmd.keep_existing and previous is not None:
                return ShopResult("applied", customer=customer)
            owner = cmd.owner or await self._pick(tx, keys, "owner", str(cmd.group),
                                                  _members(members))  # fmt: skip
            if owner == previous:
                return ShopResult("applied", customer=customer)
            customer = set_owner(customer, owner, cmd.issued_at)
            tx.set_json(keys.customers, customer["customer_id"], customer)
            if created:
                await self._write_flags(tx, keys, customer)
            event = owner_event(customer, previous=previous, order_id=cmd.order_id,
                                staff=cmd.staff_id, at=cmd.issued_at,
                                command_id=cmd.command_id)  # fmt: skip
            return ShopResult("applied", customer=customer, events=[event])

        return await self._command(cmd.shop_id, cmd.command_id, body)

    async def _open_order(
        self, tx: _Tx, keys: _Keys, order_id: str
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

        async def body(tx: _Tx, keys: _Keys) -> ShopResult:
            problems = _group_problems(cmd.group, members)
            order, order_problems = await self._open_order(tx, keys, cmd.order_id)
            if problems or order is None:
                return ShopResult.refused(order_problems + problems)
            previous = order["staff"].get("assigned")
            if cmd.keep_existing and previous:
                return ShopResult("applied", orders=[order])
            assignee = cmd.assignee or await self._pick(tx, keys, "order", str(cmd.group),
                                                        _members(members))  # fmt: skip
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

        async def body(tx: _Tx, keys: _Keys) -> ShopResult:
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

    # -- customer messages -----------------------------------------------------------------

    async def _note_inbound(
        self, tx: _Tx, keys: _Keys, platform: str, user_id: str, at: str,
        conversation_id: str | None,
    ) -> None:  # fmt: skip
        name = platform_field(platform, user_id)
        state = note_inbound(await tx.get_json(keys.inbox, name), at, conversation_id)
        tx.set_json(keys.inbox, name, state)

    async def record_inbound(self, cmd: InboundMessage) -> ShopResult:
        """The customer wrote to the shop's inbox at `cmd.at`: their state in `S:inbox` keeps
        the latest such time (and conversation), which `record_message`'s check reads."""

        async def body(tx: _Tx, keys: _Keys) -> ShopResult:
            await self._note_inbound(tx, keys, cmd.platform, cmd.user_id, cmd.at,
                                     cmd.conversation_id)  # fmt: skip
            return ShopResult("applied")

        return await self._command(cmd.shop_id, cmd.command_id, body)

    async def record_message(
        self,
        shop_id: str,
        command_id: str,
        message: Json,
        check: Callable[[Json], tuple[str, str] | Json],
    ) -> ShopResult:
        """Decide, once per command id, whether a customer message may be sent, and log it.

        `message` is built by the caller: {"v": 1, "message_id" (= command_id), "shop_id",
        "platform", "user_id", "template", "text", "order_id", "livestream_id", "seq" (or
        null), "at"}. Inside the transaction `check` (pure) gets the person's messaging state
        (customers.empty_inbox's shape: a person who never wrote has the empty state) and
        answers (code, reason) when the message may not be sent, or else the channel it goes
        by: {"channel": "private_reply" | "message", "comment_id"}. The channel depends on the
        state (a comment's one private reply may be used already), hence decided here.
        Allowed: the message is logged in `S:messages` with "sent": true (a private reply's
        comment id joins the state's `replied`), status "applied". Not allowed: logged with
        "sent": false, "reason_code" and "reason", status "refused" with the reason
        message_not_allowed. Either way `result.message` is the logged entry. "sent" means
        the store let it go: the caller sends it after this.
        """
        if message.get("message_id", command_id) != command_id:
            raise ValueError("a message's message_id is the command id that sends it")
        name = platform_field(str(message["platform"]), str(message["user_id"]))

        async def body(tx: _Tx, keys: _Keys) -> ShopResult:
            state: Json = await tx.get_json(keys.inbox, name) or empty_inbox()
            verdict = check(copy.deepcopy(state))
            entry: Json = {**message, "message_id": command_id, "channel": None,
                           "comment_id": None}  # fmt: skip
            if isinstance(verdict, tuple):
                code, why = verdict
                entry |= {"sent": False, "reason_code": code, "reason": why}
                self._log_message(tx, keys, entry)
                return ShopResult("refused", reasons=[reason("message_not_allowed", None,
                                                             reason=why)],
                                  message=entry)  # fmt: skip
            entry |= {"channel": verdict["channel"], "comment_id": verdict.get("comment_id")}
            if entry["channel"] not in CHANNELS:
                raise ValueError(f"a message's channel is one of {sorted(CHANNELS)}")
            if entry["channel"] == "private_reply" and not entry["comment_id"]:
                raise ValueError("a private reply answers a comment: comment_id is missing")
            entry |= {"sent": True, "reason_code": None, "reason": None}
            self._log_message(tx, keys, entry)
            if entry["channel"] == "private_reply":
                tx.set_json(keys.inbox, name, note_replied(state, str(entry["comment_id"])))
            return ShopResult("applied", message=entry)

        return await self._command(shop_id, command_id, body)

    def _log_message(self, tx: _Tx, keys: _Keys, entry: Json) -> None:
        tx.write("RPUSH", keys.messages, orjson.dumps(entry))
        tx.write("LTRIM", keys.messages, -MESSAGES_KEPT, -1)

    async def messages(self, shop_id: str, limit: int | None = None) -> list[Json]:
        """The customer messages logged (sent or not), oldest first; `limit`: the latest ones."""
        if limit is not None and limit <= 0:
            return []
        start = 0 if limit is None else -limit
        raws = await self._redis.lrange(_Keys.of(shop_id).messages, start, -1)
        return [orjson.loads(raw) for raw in raws]

    async def inbox_state(self, shop_id: str, platform: str, user_id: str) -> Json | None:
        """The person's messaging state (customers.empty_inbox), None if nothing is known."""
        raw = await self._redis.hget(_Keys.of(shop_id).inbox, platform_field(platform, user_id))
        state: Json | None = _load(raw)
        return state

    # -- automation memory -----------------------------------------------------------------

    async def take_turn(
        self, shop_id: str, group: str, members: Sequence[str], turn_id: str
    ) -> str:
        """The next member of `group` for a livestream draft's assignment (drafts are assigned
        by a concrete staff id in their own keys): round-robin on the group's `draft` counter,
        once per `turn_id` (the automation command's id), so a redelivered event gets the same
        person and takes no second turn."""
        if not members:
            raise ValueError(f"group {group!r} has no members")

        async def body(tx: _Tx, keys: _Keys) -> ShopResult:
            pick = await self._pick(tx, keys, "draft", group, members)
            return ShopResult("applied", customer={"pick": pick})

        result = await self._command(shop_id, f"turn:{turn_id}", body)
        return str((result.customer or {})["pick"])

    async def recall_draft(self, shop_id: str, livestream_id: str, seq: int) -> Json | None:
        """The automation's last snapshot of a draft (remember_draft), without changing it."""
        key = f"{shop_prefix(shop_id)}:autodrafts:{livestream_id}"
        snapshot: Json | None = _load(await self._redis.hget(key, str(seq)))
        return snapshot

    async def remember_draft(
        self, shop_id: str, livestream_id: str, seq: int, snapshot: Json
    ) -> Json | None:
        """Store the automation's snapshot of a livestream draft and return the previous one,
        atomically (one script): None the first time, so the caller learns the draft is new,
        and can compare the two (a waitlist promotion). The livestream's snapshots expire
        AUTODRAFT_TTL days after the last one: a draft event replayed later than that looks
        new again, and the commands it triggers are answered from its `S:cmd:<id>` (their ids are
        derived from the event)."""
        if not _ID_RE.match(livestream_id):
            raise ValueError(f"livestream id {livestream_id!r} must not have braces or spaces")
        key = f"{shop_prefix(shop_id)}:autodrafts:{livestream_id}"
        raw = await self._remember(keys=[key], args=[str(seq), orjson.dumps(snapshot),
                                             AUTODRAFT_TTL_SECONDS])  # fmt: skip
        previous: Json | None = _load(raw)
        return previous

    # -- chat orders -----------------------------------------------------------------------

    async def chat_start(self, cmd: ChatStart) -> ShopResult:
        """A salesperson starts the conversation's next chat order (n = 1, 2, 3...). Refused
        while the conversation has an open one. An upsell answers the customer's previous
        orders (found by phone, else by platform account) as `previous_orders`. With a
        `user_id` (and an `issued_at` with its offset) it also records that the customer wrote
        to the shop then (`record_inbound`); `website` goes to the draft and the order."""
        phone, problems = _normalised_phone(cmd.customer_phone)
        if problems:
            return ShopResult.refused(problems)

        async def body(tx: _Tx, keys: _Keys) -> ShopResult:
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
    ) -> ShopResult:
        """One operation on the conversation's open chat order (orders/shop/chat.py lists them).

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

        async def body(tx: _Tx, keys: _Keys) -> ShopResult:
            draft = await tx.get_json(keys.chats, conversation_id)
            if draft is None or draft["status"] != "open":
                return ShopResult.refused(
                    [reason("chat_not_found", None, conversation=conversation_id)], draft
                )
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

        async def body(tx: _Tx, keys: _Keys) -> ShopResult:
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
        keys = _Keys.of(shop_id)
        open_by = _text_map(await self._redis.hgetall(keys.chatopen))
        mine = sorted(conv for conv, staff in open_by.items() if staff == staff_id)
        if not mine:
            return []
        raws = await self._redis.hmget(keys.chats, mine)
        drafts = [orjson.loads(raw) for raw in raws if raw is not None]
        drafts = [d for d in drafts if d["status"] == "open" and d["staff"] == staff_id]
        return sorted(drafts, key=lambda d: (d["created_at"], d["conversation_id"]))

    async def chat_draft(self, shop_id: str, conversation_id: str) -> Json | None:
        """The conversation's latest chat draft (open, finalised or discarded)."""
        draft: Json | None = _load(await self._redis.hget(_Keys.of(shop_id).chats, conversation_id))
        return draft

    # -- reads -----------------------------------------------------------------------------

    async def outcome(self, shop_id: str, command_id: str) -> ShopResult | None:
        """The stored outcome of a command, if it was applied or refused."""
        raw = await self._redis.get(_Keys.of(shop_id).outcome(command_id))
        return None if raw is None else ShopResult.from_json(orjson.loads(raw), duplicate=True)

    async def order(self, shop_id: str, order_id: str) -> Json | None:
        order: Json | None = _load(await self._redis.hget(_Keys.of(shop_id).orders, order_id))
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
        keys = _Keys.of(shop_id)
        raws: Sequence[bytes | str | None]
        if status is None:
            raws = await self._redis.hvals(keys.orders)
        else:
            index = _text_map(await self._redis.hgetall(keys.ostatus))
            ids = sorted(oid for oid, key in index.items() if key == status)
            raws = await self._redis.hmget(keys.orders, ids) if ids else []
        found = [orjson.loads(raw) for raw in raws if raw is not None]
        if staff is not None:
            found = [o for o in found if o["staff"]["assigned"] == staff]
        if livestream is not None:
            found = [o for o in found if o["source"]["livestream_id"] == livestream]
        return sorted(found, key=_order_sort_key)

    async def customers(self, shop_id: str) -> list[Json]:
        raws = await self._redis.hvals(_Keys.of(shop_id).customers)
        return sorted_customers([orjson.loads(raw) for raw in raws])

    async def customer(self, shop_id: str, customer_id: str) -> Json | None:
        raw = await self._redis.hget(_Keys.of(shop_id).customers, customer_id)
        customer: Json | None = _load(raw)
        return customer

    async def customer_of(
        self,
        shop_id: str,
        *,
        order_id: str | None = None,
        platform: str | None = None,
        user_id: str | None = None,
        phone: str | None = None,
    ) -> Json | None:
        """A customer record: the order's customer, else by platform account, then phone (as
        typed: normalised like commands'; a phone that is no mobile number finds nobody)."""
        keys = _Keys.of(shop_id)
        if order_id is not None:
            order = _load(await self._redis.hget(keys.orders, order_id))
            cid = None if order is None else order["customer"].get("customer_id")
            if cid:
                found = await self.customer(shop_id, cid)
                if found is not None:
                    return found
        normalised, _ = _normalised_phone(phone)
        names = lookup_fields({"platform": platform, "user_id": user_id, "phone": normalised})
        if not names:
            return None
        owners = await self._redis.hmget(keys.cidx, names)
        cid = next((_text(owner) for owner in owners if owner is not None), None)
        return None if cid is None else await self.customer(shop_id, cid)

    async def customer_flags(
        self, shop_id: str, platform_users: Sequence[str], phones: Sequence[str]
    ) -> dict[str, Json]:
        """Flags of commenters, in one HMGET: fields `<platform>:<user_id>` (as given in
        `platform_users`) and `phone:<phone>`; only the fields of known customers appear."""
        names = list(dict.fromkeys([*platform_users, *(phone_field(p) for p in phones)]))
        if not names:
            return {}
        raws = await self._redis.hmget(flags_key(shop_id), names)
        return {n: orjson.loads(raw) for n, raw in zip(names, raws, strict=True) if raw is not None}
