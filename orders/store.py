"""The Redis store of the order book: one FCALL of lua/orderbook.lua per batch of comments.

The rules live in orders/book.py; the Redis Function carries out the same rules atomically, so a
batch is applied whole or not at all and a replayed batch changes nothing (ARCHITECTURE.md,
"Delivery guarantee"). Errors of Redis itself propagate: the caller retries or stops.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any, Generic, Literal, TypeVar

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from config.shop import Orders, Product, ShopConfig
from orders.connection import redis_client
from orders.events import CommentEvent, validate_events, validate_op
from orders.model import DraftCommandResult, Json, ReasonTuple

__all__ = [
    "Applied",
    "DraftCommandResult",
    "DraftStore",
    "FunctionCall",
    "LivestreamInfo",
    "StoreBusy",
    "StoreError",
    "StoreOutdated",
    "WatermarkBehind",
    "encode_events",
    "encode_products",
    "fcall_one",
    "fcall_together",
    "livestream_prefix",
    "registry_key",
    "transient_reply",
]

RepeatRule = Literal["ignore", "add"]
T = TypeVar("T")

DEFAULT_RETENTION_DAYS = Orders().retention_days
_LUA = files("orders").joinpath("lua/orderbook.lua").read_text(encoding="utf-8")
# Braces would break the hash tag that keeps a livestream's keys in one Cluster slot.
_ID_RE = re.compile(r"^[^{}\s]+$")


class StoreError(RuntimeError):
    """The store refused a call (bad input, unknown livestream); nothing was written."""


class StoreBusy(StoreError):
    """Redis cannot take writes for now (out of memory, a read-only replica after a failover,
    busy with a script, loading its data); nothing was written. Worth retrying."""


class StoreOutdated(StoreError):
    """The livestream's state was written by an older chotdon (another key layout): nothing
    was read or written; `chotdon migrate` upgrades it."""


class WatermarkBehind(StoreError):
    """The store's watermark of a partition is below what the caller knew it to be: Redis lost
    recent writes (a restart from an fsync-everysec AOF, a failover to a lagging replica).
    Nothing was written; the caller seeks back to the store's positions and applies again."""


class StoreContended(StoreBusy):
    """Other clients kept changing the same keys: every optimistic attempt lost (nothing was
    written). Worth retrying after a pause."""


# Error-reply prefixes of a server that cannot serve now but will (redis.io "Error replies").
# MISCONF: Redis cannot write its append-only file (a full disk) and refuses every write until
# it can; found by the fault suite (tests/faults), where it used to stop the worker for good.
_TRANSIENT = (
    "OOM", "READONLY", "BUSY", "LOADING", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "MISCONF",
)  # fmt: skip


def transient_reply(exc: ResponseError) -> bool:
    """Whether an error reply says Redis cannot take writes *for now* (worth retrying)."""
    return str(exc).split(" ", 1)[0] in _TRANSIENT


def _refusal(exc: ResponseError) -> StoreError:
    message = str(exc)
    if transient_reply(exc):
        return StoreBusy(message)
    if "chotdon: watermark went back" in message:
        return WatermarkBehind(message)
    if "run `chotdon migrate`" in message:
        return StoreOutdated(message)
    return StoreError(message)


def _missing_function(exc: ResponseError) -> bool:
    # Functions live in the server's data: a fresh server (no persistence) lacks them.
    return "function not found" in str(exc).lower()


@dataclass(frozen=True, slots=True)
class FunctionCall(Generic[T]):
    """One FCALL of a chotdon library, ready to be sent alone or with others in one round trip
    (`fcall_together`): the stores prepare it, whoever holds several sends them."""

    function: str
    key: str  # the one key named (its hash tag routes the call on a Cluster)
    args: tuple[Any, ...]
    decode: Callable[[Any], T]
    load: Callable[[], Awaitable[None]]  # loads the function's library into the server


async def fcall_together(redis: Redis, calls: Sequence[FunctionCall[Any]]) -> list[Any]:
    """Send the calls in one pipeline (one round trip on one server; on a Cluster, one per
    node, sent at once) and decode each reply. They run in order but not atomically together:
    each is a call of its own. An error reply becomes StoreError (after the rest were sent);
    a library the server lacks is loaded and its call sent again, alone."""
    pipe = redis.pipeline(transaction=False)
    for call in calls:
        pipe.execute_command("FCALL", call.function, 1, call.key, *call.args)
    replies = await pipe.execute(raise_on_error=False)
    decoded = []
    for call, reply in zip(calls, replies, strict=True):
        if isinstance(reply, ResponseError):
            if not _missing_function(reply):
                raise _refusal(reply) from reply
            await call.load()
            try:
                reply = await redis.fcall(call.function, 1, call.key, *call.args)
            except ResponseError as exc:
                raise _refusal(exc) from exc
        decoded.append(call.decode(reply))
    return decoded


async def fcall_one(redis: Redis, call: FunctionCall[T]) -> T:
    """One call on its own (`fcall_together` of one, without a pipeline)."""
    try:
        return call.decode(await redis.fcall(call.function, 1, call.key, *call.args))
    except ResponseError as exc:
        if not _missing_function(exc):
            raise _refusal(exc) from exc
    await call.load()
    try:
        return call.decode(await redis.fcall(call.function, 1, call.key, *call.args))
    except ResponseError as exc:
        raise _refusal(exc) from exc


@dataclass(frozen=True, slots=True)
class LivestreamSummary:
    livestream_id: str
    started_at: str  # when it was first started (ISO 8601, UTC)
    open: bool  # still taking orders (not stopped)
    drafts: int  # the last sequence number given


@dataclass(frozen=True, slots=True)
class LivestreamInfo:
    shop_id: str
    livestream_id: str
    open: bool
    config_version: int
    shop_config_json: bytes


# A draft as the Redis Function answers it: its view in P:view (a waiting line's "waitlist" is
# [ticket, "code"]) and the places of those lines, in the order they appear.
RawDraft = tuple[bytes, list[int]]


@dataclass(frozen=True, slots=True)
class Applied:
    """What one `chotdon_apply` call did. Drafts are decoded when asked for."""

    raw_changed: list[RawDraft]  # drafts this batch changed, by seq
    raw_redelivered: list[RawDraft]  # current drafts changed by batches redelivered now
    created: int  # drafts this batch created (sequence numbers given)
    watermarks: dict[int, int] = field(default_factory=dict)  # per partition, after the call

    @property
    def changed(self) -> list[Json]:
        return _drafts_of(self.raw_changed)

    @property
    def redelivered(self) -> list[Json]:
        return _drafts_of(self.raw_redelivered)

    def to_publish(self) -> list[Json]:
        """What the agent publishes: changed drafts, then the redelivered ones. A waitlist
        place moving up (someone ahead left) changes no draft: places are counted when read."""
        return self.changed + self.redelivered


def retention_days(shop_config_json: bytes) -> int:
    """The shop's `[orders] retention_days`, from the configuration a livestream keeps."""
    days = orjson.loads(shop_config_json or b"{}").get("orders", {}).get("retention_days")
    return int(days) if isinstance(days, int) and days >= 1 else DEFAULT_RETENTION_DAYS


def livestream_prefix(shop_id: str, livestream_id: str) -> str:
    for value in (shop_id, livestream_id):
        if not _ID_RE.match(value):
            raise ValueError(f"id {value!r} must be non-empty, without braces or spaces")
    return f"chotdon:{{{shop_id}:{livestream_id}}}"


def registry_key(livestream_id: str) -> str:
    """Lets commands that know only the livestream find its shop (outside the hash tag)."""
    return f"chotdon:livestream:{livestream_id}"


def shop_livestreams_key(shop_id: str) -> str:
    """The shop's livestreams: livestream id -> when it was first started (in the shop's tag)."""
    return f"chotdon:{{{shop_id}}}:livestreams"


def encode_events(events: Sequence[CommentEvent]) -> bytes:
    return orjson.dumps([
        [e.comment_id, e.offset, e.user_id, e.user_name, e.created_at, e.intent, e.phone,
         [[i.code, i.qty, i.attributes, i.status] for i in e.items], e.platform, e.partition]
        for e in events
    ])  # fmt: skip


def encode_products(products: Sequence[Product]) -> bytes:
    """Attribute names, and their allowed values in the same order (staff commands check them)."""
    return orjson.dumps([
        {"code": p.code, "name": p.name, "price": p.price, "stock": p.stock,
         "attributes": list(p.attributes), "values": [list(v) for v in p.attributes.values()]}
        for p in products
    ])  # fmt: skip


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class DraftStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._owners: dict[str, str] = {}  # livestream -> shop: a livestream never changes shop

    @classmethod
    @asynccontextmanager
    async def connect(cls, url: str) -> AsyncIterator[DraftStore]:
        """A store on its own client, closed on exit (for one-shot CLI commands)."""
        client = redis_client(url)
        try:
            yield cls(client)
        finally:
            await client.aclose()

    @property
    def redis(self) -> Redis:
        """The client: calls of this store and of the shop store go together on it
        (`fcall_together`), the shop's keys being on the same server or Cluster."""
        return self._redis

    async def load_functions(self) -> None:
        await self._redis.function_load(_LUA, replace=True)

    async def _fcall(self, name: str, key: str, *args: Any, read_only: bool = False) -> Any:
        """Error replies become StoreError; connection errors propagate as they are."""
        call = self._redis.fcall_ro if read_only else self._redis.fcall
        try:
            return await call(name, 1, key, *args)
        except ResponseError as exc:
            if not _missing_function(exc):
                raise _refusal(exc) from exc
        await self.load_functions()
        try:
            return await call(name, 1, key, *args)
        except ResponseError as exc:
            raise _refusal(exc) from exc

    async def register_livestream(
        self,
        shop_id: str,
        livestream_id: str,
        products: Sequence[Product],
        repeat_comment: RepeatRule,
        *,
        shop_config_json: bytes,
    ) -> list[Json]:
        """Create the livestream, or change its products (mid-live): idempotent.

        A change bumps the config version; more stock serves waiting customers at once, and
        the drafts that changed so are returned. Re-registering keeps the open flag.
        """
        prefix = livestream_prefix(shop_id, livestream_id)
        registry = registry_key(livestream_id)
        await self._redis.hsetnx(registry, "shop_id", shop_id)
        owner = await self._redis.hget(registry, "shop_id")
        if owner is not None and _text(owner) != shop_id:
            raise StoreError(f"livestream {livestream_id!r} belongs to shop {_text(owner)!r}")
        raw = await self._fcall(
            "chotdon_register", f"{prefix}:meta", shop_id, livestream_id,
            encode_products(products), repeat_comment, shop_config_json,
        )  # fmt: skip
        started = datetime.now(UTC).isoformat(timespec="seconds")
        await self._redis.hsetnx(shop_livestreams_key(shop_id), livestream_id, started)
        return _drafts_of([_raw_draft(d) for d in raw])

    async def register_shop(self, shop: ShopConfig, livestream_id: str) -> list[Json]:
        """register_livestream with everything taken from a shop configuration (its products
        being the livestream's product group when it has one)."""
        return await self.register_livestream(
            shop.shop.id, livestream_id, shop.products, shop.orders.repeat_comment,
            shop_config_json=shop.model_dump_json().encode(),
        )  # fmt: skip

    async def _shop_of(self, livestream_id: str) -> str | None:
        known = self._owners.get(livestream_id)
        if known is not None:
            return known
        owner = await self._redis.hget(registry_key(livestream_id), "shop_id")
        if owner is None:
            return None
        self._owners[livestream_id] = _text(owner)
        return self._owners[livestream_id]

    async def stop_livestream(self, livestream_id: str, *, now: float | None = None) -> bool:
        """Orders and cancels stop changing drafts; False when the livestream is unknown.

        The shop's `[orders] retention_days` start counting: then every key of the livestream
        (drafts, dedupe set, command outcomes, its registry entry) expires at once. A second
        stop keeps the first deadline."""
        info = await self.livestream_info(livestream_id)
        if info is None:
            return False
        prefix = livestream_prefix(info.shop_id, livestream_id)
        days = retention_days(info.shop_config_json)
        deadline = int((time.time() if now is None else now) + days * 86400)
        stopped = bool(await self._fcall("chotdon_stop", f"{prefix}:meta", str(deadline)))
        # the first stop's deadline (gone with the rest if it has passed already: ours then)
        kept = await self._redis.hget(f"{prefix}:meta", "until")
        if stopped:
            until = deadline if kept is None else int(_text(kept))
            await self._redis.expireat(registry_key(livestream_id), until)
        return stopped

    async def livestream_info(self, livestream_id: str) -> LivestreamInfo | None:
        shop_id = await self._shop_of(livestream_id)
        if shop_id is None:
            return None
        meta = f"{livestream_prefix(shop_id, livestream_id)}:meta"
        return _info(shop_id, livestream_id, await self._redis.hmget(meta, _INFO_FIELDS))

    async def livestream_info_and_draft(
        self, livestream_id: str, seq: int
    ) -> tuple[LivestreamInfo | None, bytes | None]:
        """`livestream_info` and `draft_raw` of one of its drafts in one round trip (the keys
        of one livestream: one slot): a command checked against its draft reads both first."""
        shop_id = await self._shop_of(livestream_id)
        if shop_id is None:
            return None, None
        prefix = livestream_prefix(shop_id, livestream_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.hmget(f"{prefix}:meta", _INFO_FIELDS)
        pipe.execute_command("FCALL_RO", "chotdon_view", 1, f"{prefix}:meta", str(seq))
        row, view = await pipe.execute(raise_on_error=False)
        if isinstance(row, Exception):
            raise row
        info = _info(shop_id, livestream_id, row)
        if info is None:
            return None, None
        if isinstance(view, ResponseError):  # the library missing, say: the plain call handles it
            return info, await self.draft_raw(shop_id, livestream_id, seq)
        if isinstance(view, Exception):
            raise view
        return info, _view_bytes(view)

    async def apply_comments(
        self, shop_id: str, livestream_id: str, events: Sequence[CommentEvent]
    ) -> list[Json]:
        """Apply one batch atomically; return the drafts it changed, by seq."""
        return (await self.apply_batch(shop_id, livestream_id, events)).changed

    async def apply_batch(
        self,
        shop_id: str,
        livestream_id: str,
        events: Sequence[CommentEvent],
        expected: Mapping[int, int] | None = None,
        *,
        checked: bool = False,
    ) -> Applied:
        """Apply one batch atomically: the drafts it changed, the current drafts of the
        customers of redelivered records (at or below the watermark), drafts created, the
        partitions' watermarks after it.

        `expected`: per partition, the watermark the caller knows the store reached; a store
        below it lost writes, and the batch is refused with WatermarkBehind (nothing written).
        `checked`: the caller has set aside every event `event_problem` finds fault with (the
        comment pipeline does, comment by comment), so the batch is not checked again here.
        """
        if not events:
            return Applied([], [], 0)
        if not checked:
            validate_events(events)
        prefix = livestream_prefix(shop_id, livestream_id)
        args: list[bytes] = [encode_events(events)]
        if expected:
            args.append(orjson.dumps({str(p): wm for p, wm in expected.items()}))
        raw = await self._fcall("chotdon_apply", f"{prefix}:meta", *args)
        changed, redelivered, created, marks = raw
        return Applied(
            [_raw_draft(d) for d in changed],
            [_raw_draft(d) for d in redelivered],
            int(created),
            {int(marks[i]): int(marks[i + 1]) for i in range(0, len(marks), 2)},
        )

    async def apply_draft_command(
        self, shop_id: str, livestream_id: str, command_id: str, op: Json
    ) -> DraftCommandResult:
        """Apply a staff command's op to the draft it addresses by seq, atomically.

        The outcome of an applied or refused command is kept under its id: the same id again
        changes nothing and answers that outcome (duplicate=True) with the draft as it is now.
        A finalise whose `expect` is not the draft's view as it is now answers "stale" and is
        kept nowhere: read the draft again, check it again, retry. orders/README.md ("Staff
        commands") has the op of each type; a malformed op raises InvalidCommand, nothing
        written.
        """
        call = self.draft_command_call(shop_id, livestream_id, command_id, op)
        return call.decode(await self._fcall(call.function, call.key, *call.args))

    def draft_command_call(
        self, shop_id: str, livestream_id: str, command_id: str, op: Json
    ) -> FunctionCall[DraftCommandResult]:
        """`apply_draft_command` as a call to send with others (`fcall_together`)."""
        validate_op(command_id, op)
        prefix = livestream_prefix(shop_id, livestream_id)
        return FunctionCall("chotdon_command", f"{prefix}:meta", (command_id, orjson.dumps(op)),
                            _command_result, self.load_functions)  # fmt: skip

    async def draft_raw(self, shop_id: str, livestream_id: str, seq: int) -> bytes | None:
        """The draft's view exactly as the store compares it: what a finalise sends back as
        `expect` (its places counted now, in the same call that reads it)."""
        prefix = livestream_prefix(shop_id, livestream_id)
        raw = await self._fcall("chotdon_view", f"{prefix}:meta", str(seq), read_only=True)
        return _view_bytes(raw)

    async def drafts(self, shop_id: str, livestream_id: str) -> list[Json]:
        """Every draft of the livestream by seq, its waitlist places counted now: one read
        of the views, one pipelined count per waiting line."""
        prefix = livestream_prefix(shop_id, livestream_id)
        drafts: list[Json] = [orjson.loads(v) for v in await self._redis.hvals(f"{prefix}:view")]
        waiting = [line for d in drafts for line in _lines(d) if isinstance(line["waitlist"], list)]
        if waiting:
            pipe = self._redis.pipeline(transaction=False)
            for line in waiting:
                ticket, code = line["waitlist"]
                pipe.zcount(f"{prefix}:q:{code}", "-inf", ticket)
            for line, place in zip(waiting, await pipe.execute(), strict=True):
                line["waitlist"] = int(place)
        drafts.sort(key=lambda d: int(d["seq"]))
        return drafts

    async def draft(self, shop_id: str, livestream_id: str, seq: int) -> Json | None:
        raw = await self.draft_raw(shop_id, livestream_id, seq)
        if raw is None:
            return None
        draft: Json = orjson.loads(raw)
        return draft

    async def stock(
        self, shop_id: str, livestream_id: str
    ) -> tuple[dict[str, int], dict[str, list[tuple[int, int, str]]]]:
        """Units held per product (those with none left out) and each product's waitlist,
        head first, as (units, line id, user id) per request: OrderBook.held() and queues()."""
        prefix = livestream_prefix(shop_id, livestream_id)
        held = {
            _text(k): int(_text(v))
            for k, v in (await self._redis.hgetall(f"{prefix}:held")).items()
        }
        raw = orjson.loads(await self._fcall("chotdon_queues", f"{prefix}:meta", read_only=True))
        queues = {
            code: [(int(units), int(line), str(user)) for units, line, user in entries]
            for code, entries in sorted(raw.items())
        }
        return {code: units for code, units in sorted(held.items()) if units}, queues

    async def migrate(self, shop_id: str, livestream_id: str) -> bool:
        """Upgrade the livestream's state written by an older chotdon to this layout, in one
        atomic call (orders/README.md, "Layout versions"); False when it was current."""
        prefix = livestream_prefix(shop_id, livestream_id)
        return bool(await self._fcall("chotdon_migrate", f"{prefix}:meta"))

    async def customers(self, shop_id: str, livestream_id: str) -> dict[str, Json]:
        prefix = livestream_prefix(shop_id, livestream_id)
        try:
            raw = await self._redis.fcall_ro("chotdon_customers", 1, f"{prefix}:meta")
        except ResponseError as exc:
            raise StoreError(str(exc)) from exc
        customers: dict[str, Json] = orjson.loads(raw)
        return customers

    async def unattributed(self, shop_id: str, livestream_id: str) -> list[Json]:
        prefix = livestream_prefix(shop_id, livestream_id)
        return [orjson.loads(v) for v in await self._redis.lrange(f"{prefix}:unattr", 0, -1)]

    async def shops_of(self, livestream_ids: Sequence[str]) -> dict[str, str]:
        """The shop of each of these livestreams that is registered: one pipelined read."""
        if not livestream_ids:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for livestream_id in livestream_ids:
            pipe.hget(registry_key(livestream_id), "shop_id")
        owners = await pipe.execute()
        return {
            live: _text(owner)
            for live, owner in zip(livestream_ids, owners, strict=True)
            if owner is not None
        }

    async def registered_livestreams(self) -> dict[str, str]:
        """Every registered livestream and its shop (the registry keys)."""
        keys = [_text(k) async for k in self._redis.scan_iter(match=registry_key("*"), count=500)]
        prefix = len(registry_key(""))
        return await self.shops_of([key[prefix:] for key in keys])

    async def watermarks(
        self, livestreams: Mapping[str, str], partitions: Sequence[int]
    ) -> dict[str, dict[int, int]]:
        """Per livestream (id -> shop), the offset watermark of each of these partitions it has
        one for (the last offset of it applied): one pipelined read."""
        if not livestreams or not partitions:
            return {}
        fields = [f"wm.{p}" for p in partitions]
        pipe = self._redis.pipeline(transaction=False)
        for livestream_id, shop_id in livestreams.items():
            pipe.hmget(f"{livestream_prefix(shop_id, livestream_id)}:meta", fields)
        rows = await pipe.execute()
        marks: dict[str, dict[int, int]] = {}
        for livestream_id, row in zip(livestreams, rows, strict=True):
            found = {
                p: int(_text(v)) for p, v in zip(partitions, row, strict=True) if v is not None
            }
            if found:
                marks[livestream_id] = found
        return marks

    async def livestreams(self, shop_id: str) -> list[LivestreamSummary]:
        """The shop's livestreams, the latest started first."""
        index = shop_livestreams_key(shop_id)
        started = await self._redis.hgetall(index)
        summaries = []
        for raw_id, raw_at in started.items():
            livestream_id = _text(raw_id)
            meta = f"{livestream_prefix(shop_id, livestream_id)}:meta"
            is_open, seq = await self._redis.hmget(meta, ["open", "seq"])
            if seq is None:  # its retention ended (a hash field cannot expire on Redis 7.0)
                await self._redis.hdel(index, livestream_id)
                continue
            summaries.append(LivestreamSummary(
                livestream_id, _text(raw_at), _text(is_open or "0") == "1", int(_text(seq or 0))
            ))  # fmt: skip
        summaries.sort(key=lambda s: (s.started_at, s.livestream_id), reverse=True)
        return summaries

    async def progress(self, shop_id: str, livestream_id: str) -> tuple[int, int]:
        """(highest offset watermark over the livestream's partitions, last sequence number)."""
        meta = f"{livestream_prefix(shop_id, livestream_id)}:meta"
        fields = {_text(k): _text(v) for k, v in (await self._redis.hgetall(meta)).items()}
        if "seq" not in fields:
            raise StoreError(f"livestream not registered: {meta}")
        marks = [int(v) for k, v in fields.items() if k.startswith("wm.")]
        return max(marks, default=-1), int(fields["seq"])


_INFO_FIELDS = ["open", "ver", "config"]


def _info(shop_id: str, livestream_id: str, row: Sequence[Any]) -> LivestreamInfo | None:
    is_open, version, config = row
    if version is None:
        return None
    config_bytes = config if isinstance(config, bytes) else _text(config or "").encode()
    return LivestreamInfo(shop_id, livestream_id, _text(is_open) == "1",
                          int(_text(version)), config_bytes)  # fmt: skip


def _view_bytes(raw: Any) -> bytes | None:
    if not raw:
        return None
    return raw if isinstance(raw, bytes) else _text(raw).encode()


def _command_result(raw: Any) -> DraftCommandResult:
    status, reasons, draft, others, duplicate = raw
    return DraftCommandResult(
        status=_text(status),  # type: ignore[arg-type]
        reasons=_reasons_of(reasons),
        draft=None if not draft else _resolved(_raw_draft(draft)),
        others=_drafts_of([_raw_draft(d) for d in others]),
        duplicate=duplicate == 1,
    )


def _raw_draft(raw: Any) -> RawDraft:
    view, places = raw
    return (view if isinstance(view, bytes) else _text(view).encode()), [int(p) for p in places]


def _lines(draft: Json) -> list[Json]:
    return [*draft["lines"], *draft["history"]]


def _resolved(raw: RawDraft) -> Json:
    """A draft as shown: each waiting line's [ticket, code] becomes its place."""
    view, places = raw
    draft: Json = orjson.loads(view)
    if places:
        given = iter(places)
        for line in _lines(draft):
            if isinstance(line["waitlist"], list):
                line["waitlist"] = next(given)
    return draft


def _drafts_of(raw: Sequence[RawDraft]) -> list[Json]:
    return [_resolved(item) for item in raw]


def _reasons_of(raw: Any) -> list[ReasonTuple]:
    return [(code, field, params) for code, field, params in orjson.loads(raw)]
