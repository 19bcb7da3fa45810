"""The machinery of the shop store: its keys, one optimistic transaction per change
(`Tx`), a command's outcome kept under its id, and the in-transaction reads and writes of
customers that every kind of command shares (orders/shop/store/__init__.py has the layout)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any, Literal, Self, TypeVar

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from config.shop import ShopConfig, shop_config_from_json
from config.workflow import Workflow
from orders.automation.rules import round_robin
from orders.commands import (
    Outcome,
    Reason,
)
from orders.connection import redis_client
from orders.model import Json
from orders.reasons import reason
from orders.shop.customers import (
    customer_fields,
    find_customer,
    flags,
    link_order,
    lookup_fields,
    note_inbound,
    owned_fields,
    platform_field,
    returned_count,
)
from orders.shop.workflow import returned_keys, status_name
from orders.store import StoreContended, StoreOutdated
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
_SHOP_LUA = files("orders").joinpath("lua/shop.lua").read_text(encoding="utf-8")
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


SHOP_LAYOUT = 2  # of a shop's keys: `S:layout`; 1 (absent) kept orders and customers in hashes


@dataclass(frozen=True, slots=True)
class ShopKeys:
    config: str
    orders: str  # a collection: one key per order, `S:orders:<order id>`
    ostatus: str
    customers: str  # a collection: `S:customers:<customer id>`
    cidx: str  # a collection: `S:cidx:<platform>:<user id>` / `S:cidx:phone:<phone>`
    flags: str
    counters: str
    cmds: str
    chats: str  # a collection: `S:chats:<conversation id>`
    chatopen: str
    inbox: str  # a collection: `S:inbox:<platform>:<user id>`
    rr: str
    messages: str  # appended only: never read in a transaction
    layout: str
    order_ids: str  # set: every order id (the collection's index)
    customer_ids: str  # set: every customer id

    @classmethod
    def of(cls, shop_id: str) -> ShopKeys:
        p = shop_prefix(shop_id)
        return cls(*(f"{p}:{name}" for name in (
            "config", "orders", "ostatus", "customers", "cidx", "flags", "counters", "cmd",
            "chats", "chatopen", "inbox", "rr", "messages", "layout", "oids", "cids",
        )))  # fmt: skip

    def collections(self) -> dict[str, str | None]:
        """The records kept one key each, so that a transaction WATCHes exactly the records it
        reads (two commands on different orders or customers never conflict); each with the
        set that indexes it, if any."""
        return {self.orders: self.order_ids, self.customers: self.customer_ids, self.cidx: None,
                self.chats: None, self.inbox: None}  # fmt: skip

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


def group_problems(group: str | None, members: Sequence[str] | None) -> list[Reason]:
    if group is None:
        return []
    if members is None:
        return [reason("unknown_group", "group", group=group)]
    if not distinct_members(members):
        return [reason("empty_group", "group", group=group)]
    return []


def distinct_members(members: Sequence[str] | None) -> list[str]:
    """A group's members, each once, in the configuration's order."""
    return list(dict.fromkeys(members or ()))


def load_json(raw: bytes | str | None) -> Any:
    return None if raw is None else orjson.loads(raw)


def as_text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class NotPrefetched(LookupError):
    """A decision read a key its snapshot does not hold (PrefetchedTx)."""


class Tx:
    """One attempt of a transaction: reads run at once (each key is WATCHed before it is first
    read, and only then: a transaction conflicts only with changes to what it read), writes are
    staged (later reads see them) and run together in MULTI/EXEC at the end. A field of a
    collection (ShopKeys.collections) is a key of its own: `get(keys.orders, id)` reads and
    watches that order only."""

    def __init__(self, pipe: Pipeline | None, watched: Sequence[str], keys: ShopKeys) -> None:
        self._pipe = pipe
        self._staged: dict[tuple[str, str], bytes | None] = {}
        self._watched: set[str] = set(watched)
        self._collections = keys.collections()
        self.writes: list[tuple[Any, ...]] = []

    async def read(self, *args: Any) -> Any:
        """A raw read (for whole keys: no staged value is seen); its key (args[1]) is WATCHed
        first if it is not yet, in the same round trip."""
        return await self._watch_and_read([args[1]], args)

    async def _watch_and_read(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """WATCH the keys not watched yet, then read: one round trip on the pipeline's
        connection (already watching, so it is held for this transaction)."""
        assert self._pipe is not None, "a transaction reads on its pipeline"
        fresh = [k for k in dict.fromkeys(keys) if k not in self._watched]
        # A cluster pipeline has no one connection to pack both on (redis-py routes by slot):
        # there, WATCH and the read go as two steps, as on a pipeline not watching yet.
        pipe, conn = self._pipe, getattr(self._pipe, "connection", None)
        if not fresh:
            return await pipe.execute_command(*args)
        self._watched.update(fresh)
        if conn is None:  # not watching yet (the transaction watches first), or a cluster
            await pipe.watch(*fresh)
            return await pipe.execute_command(*args)
        await conn.send_packed_command(conn.pack_commands([("WATCH", *fresh), tuple(args)]))
        await pipe.parse_response(conn, "WATCH")
        return await pipe.parse_response(conn, args[0])

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
        value: bytes | None
        if key in self._collections:
            value = await self.read("GET", f"{key}:{name}")
        else:
            value = await self.read("HGET", key, name)
        return value

    async def mget(self, key: str, names: Sequence[str]) -> list[bytes | None]:
        unstaged = [n for n in dict.fromkeys(names) if (key, n) not in self._staged]
        fetched: dict[str, bytes | None] = {}
        if unstaged and key in self._collections:
            members = [f"{key}:{n}" for n in unstaged]
            values: Any = await self._watch_and_read(members, ("MGET", *members))
            fetched = dict(zip(unstaged, values, strict=True))
        elif unstaged:
            fetched = dict(zip(unstaged, await self.read("HMGET", key, *unstaged), strict=True))
        return [self._staged[key, n] if (key, n) in self._staged else fetched[n] for n in names]

    async def get_json(self, key: str, name: str) -> Any:
        return load_json(await self.get(key, name))

    def set(self, key: str, name: str, value: bytes | str) -> None:
        data = value.encode() if isinstance(value, str) else value
        self._staged[key, name] = data
        if key in self._collections:
            self.write("SET", f"{key}:{name}", data)
            index = self._collections[key]
            if index is not None:
                self.write("SADD", index, name)
        else:
            self.write("HSET", key, name, data)

    def set_json(self, key: str, name: str, value: Any) -> None:
        self.set(key, name, orjson.dumps(value))

    def delete(self, key: str, name: str) -> None:
        self._staged[key, name] = None
        if key in self._collections:
            self.write("DEL", f"{key}:{name}")
        else:
            self.write("HDEL", key, name)

    async def next_number(self, key: str, name: str) -> int:
        """The next number of a counter (staged: given only if the transaction commits)."""
        current = await self.get(key, name)
        number = int(current or 0) + 1
        self.set(key, name, str(number))
        return number


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one read of a Redis Function saw (key -> value, None: absent) and its digest: the
    function commits writes only while the same read still sees the same (orders/lua/shop.lua)."""

    values: Mapping[str, bytes | None]
    digest: str
    held_customer_id: str | None = None  # a customer number taken for this decision, unused yet


class PrefetchedTx(Tx):
    """A transaction attempt whose reads are answered from a snapshot: writes are staged as in
    `Tx` and committed by whoever made the snapshot; a read of a key the snapshot lacks (or of
    anything but a string key) raises NotPrefetched, and the caller takes the WATCH path."""

    def __init__(self, snapshot: Snapshot, keys: ShopKeys) -> None:
        super().__init__(None, (), keys)
        self._values = snapshot.values

    async def _watch_and_read(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        command = args[0]
        if command == "GET":
            return self._value(args[1])
        if command == "MGET":
            return [self._value(key) for key in args[1:]]
        raise NotPrefetched(f"{command} is not a read a snapshot answers")

    def _value(self, key: str) -> bytes | None:
        if key not in self._values:
            raise NotPrefetched(key)
        return self._values[key]


def _standing_status(raw: bytes | None) -> str | None:
    """An order's status, None for an order merged into another (a closed record)."""
    order = load_json(raw)
    return None if order is None or order.get("merged_into") else str(order["status"])


def normalised_phone(phone: str | None) -> tuple[str | None, list[Reason]]:
    if phone is None:
        return None, []
    found = find_phones(phone)
    if not found:
        return None, [reason("invalid_phone", "phone", phone=phone)]
    return found[0], []


def text_map(raw: Any) -> dict[str, str]:
    """A hash as HGETALL answers it, as text."""
    return {as_text(k): as_text(v) for k, v in raw.items()}


def order_sort_key(order: Json) -> tuple[str, str]:
    return (str(order.get("finalised_at") or ""), str(order["order_id"]))


class StoreBase:
    """The connection, the transactions and the configuration; the commands are mixins."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._remember = redis.register_script(_REMEMBER)
        self._current: set[str] = set()  # shops whose layout this store has checked
        self.functions_loaded = False  # this process's orders/lua/shop.lua is in the server

    @classmethod
    @asynccontextmanager
    async def connect(cls, url: str) -> AsyncIterator[Self]:
        """A store on its own client, closed on exit (for one-shot CLI commands)."""
        client = redis_client(url)
        try:
            yield cls(client)
        finally:
            await client.aclose()

    async def load_functions(self) -> None:
        """The shop's Redis Function library (orders/lua/shop.lua). Loaded (replacing the
        one there) before this store's first call of it, so that a library an older chotdon
        loaded does not answer this one, and again when a call finds the server without it."""
        await self._redis.function_load(_SHOP_LUA, replace=True)
        self.functions_loaded = True

    async def _transact(self, shop_id: str, body: Callable[[Tx, ShopKeys], Awaitable[T]]) -> T:
        """Run `body` under WATCH of every key of the shop; commit its writes atomically;
        run it again if another client changed the shop meanwhile."""
        keys = ShopKeys.of(shop_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(MAX_ATTEMPTS):
                await pipe.watch(keys.layout)  # watching: reads run at once from here on
                tx = Tx(pipe, [keys.layout], keys)
                if shop_id not in self._current:
                    await self._check_layout(tx, keys, shop_id)
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

    async def _check_layout(self, tx: Tx, keys: ShopKeys, shop_id: str) -> None:
        """Refuse a shop written by another layout (StoreOutdated: run `chotdon migrate`); a
        shop without any state yet gets this layout with its first write."""
        layout = await tx.read("GET", keys.layout)
        if layout is not None and int(layout) == SHOP_LAYOUT:
            self._current.add(shop_id)
            return
        if layout is None and not await tx.read("EXISTS", keys.config, keys.orders):
            tx.write("SET", keys.layout, str(SHOP_LAYOUT))
            return
        raise StoreOutdated(
            f"shop {shop_id!r}: its Redis state is of layout {as_text(layout or '1')}, this "
            f"chotdon reads layout {SHOP_LAYOUT}: run `chotdon migrate`"
        )

    async def migrate(self, shop_id: str) -> bool:
        """Upgrade a shop of layout 1 (orders, customers, their index, chats and inbox states
        in one hash each) to this layout, atomically; False when it was current."""
        keys = ShopKeys.of(shop_id)
        layout = await self._redis.get(keys.layout)
        if layout is not None and int(layout) == SHOP_LAYOUT:
            return False
        async with self._redis.pipeline(transaction=True) as pipe:
            for collection, index in keys.collections().items():
                records = await self._redis.hgetall(collection)
                for name, value in records.items():
                    pipe.set(f"{collection}:{as_text(name)}", value)
                if records and index is not None:
                    pipe.sadd(index, *(as_text(name) for name in records))
                pipe.delete(collection)
            pipe.set(keys.layout, str(SHOP_LAYOUT))
            await pipe.execute()
        self._current.add(shop_id)
        return True

    async def _record(self, key: str, name: str) -> bytes | None:
        """One record of a collection, outside a transaction."""
        raw: Any = await self._redis.get(f"{key}:{name}")
        return None if raw is None else bytes(raw)

    async def _records(self, key: str, names: Sequence[str]) -> list[bytes | None]:
        if not names:
            return []
        raws: list[Any] = await self._redis.mget([f"{key}:{n}" for n in names])
        return [None if raw is None else bytes(raw) for raw in raws]

    async def _all_records(self, key: str, index: str) -> list[bytes]:
        names = sorted(as_text(n) for n in await self._redis.smembers(index))
        return [raw for raw in await self._records(key, names) if raw is not None]

    async def _command(
        self,
        shop_id: str,
        command_id: str,
        body: Callable[[Tx, ShopKeys], Awaitable[ShopResult]],
    ) -> ShopResult:
        """`body` once per command id: a repeat answers the stored outcome, changing nothing."""

        async def run(tx: Tx, keys: ShopKeys) -> ShopResult:
            stored = load_json(await tx.get_value(keys.outcome(command_id)))
            if stored is not None:
                return ShopResult.from_json(stored, duplicate=True)
            result = await body(tx, keys)
            tx.set_value(keys.outcome(command_id), orjson.dumps(result.to_json()), OUTCOME_TTL)
            return result

        return await self._transact(shop_id, run)

    async def _workflow(self, tx: Tx, keys: ShopKeys) -> Workflow:
        raw = await tx.read("GET", keys.config)
        return Workflow() if raw is None else shop_config_from_json(raw).workflow

    async def _refresh_customers(
        self, tx: Tx, keys: ShopKeys, customer_ids: Iterable[str], workflow: Workflow
    ) -> None:
        """Recount `returned` from the orders' statuses and rewrite the owned flags fields."""
        returned = returned_keys(workflow)
        for cid in dict.fromkeys(customer_ids):
            customer = await tx.get_json(keys.customers, cid)
            if customer is None:
                continue
            statuses = dict(zip(customer["orders"], [
                _standing_status(raw)
                for raw in await tx.mget(keys.orders, customer["orders"])
            ], strict=True)) if customer["orders"] else {}  # fmt: skip
            count = returned_count(customer["orders"], statuses, returned)
            if count != customer["returned"]:
                customer["returned"] = count
                tx.set_json(keys.customers, cid, customer)
            await self._write_flags(tx, keys, customer)

    async def _write_flags(self, tx: Tx, keys: ShopKeys, customer: Json) -> None:
        names = customer_fields(customer)
        owners = [None if o is None else as_text(o) for o in await tx.mget(keys.cidx, names)]
        value = orjson.dumps(flags(customer))
        # written, never read here: the flags hash is every customer's, and reading it would
        # make any two customers' transactions conflict
        for name in owned_fields(customer, dict(zip(names, owners, strict=True))):
            tx.set(keys.flags, name, value)

    async def _index(self, tx: Tx, keys: ShopKeys, names: Sequence[str]) -> dict[str, str | None]:
        owners = await tx.mget(keys.cidx, names)
        return {n: None if o is None else as_text(o) for n, o in zip(names, owners, strict=True)}

    async def _put(
        self,
        tx: Tx,
        keys: ShopKeys,
        order: Json,
        workflow: Workflow,
        new_customer_id: Callable[[], Awaitable[str]] | None = None,
    ) -> Json:
        """Store a new order, linked to its customer (found or created: its number from
        `new_customer_id`, by default the counter's next)."""
        person = order["customer"]
        index = await self._index(tx, keys, lookup_fields(person))
        candidates: dict[str, Json] = {}
        for cid in {person.get("customer_id"), find_customer(person, index)}:
            if cid:
                record = await tx.get_json(keys.customers, cid)
                if record is not None:
                    candidates[cid] = record
        at = order["updated_at"]
        linked = link_order(order, index=index, customers=candidates, new_id="C-0", at=at)
        if linked.created:
            new_id = await (new_customer_id or (lambda: self._new_customer_id(keys)))()
            linked = link_order(order, index=index, customers=candidates, new_id=new_id, at=at)
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

    async def _new_customer_id(self, keys: ShopKeys) -> str:
        """The next customer number, taken outside the transaction (a counter every new
        customer reads would make all of them conflict): a transaction that is retried or
        refused leaves a number unused, never a number used twice."""
        return f"C-{await self._redis.hincrby(keys.counters, 'customer', 1)}"

    async def _customer_by(self, tx: Tx, keys: ShopKeys, names: Sequence[str]) -> Json | None:
        index = await self._index(tx, keys, names)
        for name in names:
            if index.get(name):
                record: Json | None = await tx.get_json(keys.customers, str(index[name]))
                return record
        return None

    async def _customer_orders(self, tx: Tx, keys: ShopKeys, customer: Json) -> list[Json]:
        """A customer's orders that stand on their own (not merged into another)."""
        raws = await tx.mget(keys.orders, customer["orders"]) if customer["orders"] else []
        found = [orjson.loads(raw) for raw in raws if raw is not None]
        return sorted((o for o in found if not o.get("merged_into")), key=order_sort_key)

    async def _pick(
        self, tx: Tx, keys: ShopKeys, purpose: str, group: str, members: Sequence[str]
    ) -> str:
        """The group's next member in turn: the count of picks lives in Redis (`S:rr`), raised
        in the caller's transaction, so turns are fair over time and across restarts, and a
        repeated command (answered from its `S:cmd:<id>`) takes no turn. Owners and order assignees
        take turns separately (two rules on one group would otherwise alternate between them:
        with two members, one would own every customer and the other get every order)."""
        number = await tx.next_number(keys.rr, f"{purpose}:{group}")
        return round_robin(members, number - 1)

    async def _note_inbound(
        self, tx: Tx, keys: ShopKeys, platform: str, user_id: str, at: str,
        conversation_id: str | None,
    ) -> None:  # fmt: skip
        name = platform_field(platform, user_id)
        state = note_inbound(await tx.get_json(keys.inbox, name), at, conversation_id)
        tx.set_json(keys.inbox, name, state)

    async def apply_config(self, shop: ShopConfig) -> list[str]:
        """Store the shop's configuration, or return why not (storing nothing): orders left in a
        status the new workflow removed (orders merged into another are closed records and do
        not count). When the returned statuses change, every customer's `returned` and flags
        are recounted. The workflow's structure is checked by `config.shop.Workflow` itself."""
        new_keys = {status.key for status in shop.workflow.statuses}

        async def body(tx: Tx, keys: ShopKeys) -> list[str]:
            old = await self._workflow(tx, keys)
            statuses = text_map(await tx.read("HGETALL", keys.ostatus))
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
        return sorted(as_text(member) for member in await self._redis.smembers(SHOPS_KEY))

    async def _recount_all(
        self, tx: Tx, keys: ShopKeys, statuses: Mapping[str, str], workflow: Workflow
    ) -> None:
        returned = returned_keys(workflow)
        ids = sorted(as_text(i) for i in await tx.read("SMEMBERS", keys.customer_ids))
        customers = [orjson.loads(raw) for raw in await tx.mget(keys.customers, ids) if raw]
        names = [name for customer in customers for name in customer_fields(customer)]
        index = {n: as_text(o) for n, o in zip(names, await tx.mget(keys.cidx, names),
                                                strict=True) if o is not None}  # fmt: skip
        for customer in customers:
            customer["returned"] = returned_count(customer["orders"], statuses, returned)
            tx.set_json(keys.customers, customer["customer_id"], customer)
            for name in owned_fields(customer, index):
                tx.set_json(keys.flags, name, flags(customer))

    async def config(self, shop_id: str) -> ShopConfig | None:
        raw = await self._redis.get(ShopKeys.of(shop_id).config)
        return None if raw is None else shop_config_from_json(raw)

    async def outcome(self, shop_id: str, command_id: str) -> ShopResult | None:
        """The stored outcome of a command, if it was applied or refused."""
        raw = await self._redis.get(ShopKeys.of(shop_id).outcome(command_id))
        return None if raw is None else ShopResult.from_json(orjson.loads(raw), duplicate=True)
