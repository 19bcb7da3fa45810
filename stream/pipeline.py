"""The comment pipeline: Kafka records in, draft orders applied in Redis, events out.

Independent of faust, so it can be driven by the agent, a benchmark or a test alike. One
`handle` call per batch: decode every record (bad ones become dead letters), group by
livestream, parse with the livestream's compiled grammar (each distinct text once:
stream/reading.py), apply each group with one store call, then publish the draft events and
dead letters and wait until Kafka has them. Only then does `handle` return, and only then may
the caller acknowledge the batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import orjson
import redis.exceptions
from pydantic import ValidationError

from config.loader import ConfigError, validate_document
from config.settings import Topics
from config.shop import ShopConfig
from orders.events import CommentEvent, event_problem
from orders.shop.customers import commenter_field, draft_warnings
from orders.store import Applied, StoreBusy, StoreContended, transient_reply
from parsers import Grammar, compile_grammar
from parsers.models import ParseResult
from stream import metrics
from stream.messages import (
    Comment,
    DeadLetter,
    DeadLetterReason,
    describe_error,
    draft_event_json,
)
from stream.reading import RememberingGrammar

log = logging.getLogger("chotdon.pipeline")
T = TypeVar("T")
# Livestreams whose compiled grammar (and the texts it remembers, up to ~3 MB) a worker keeps:
# the least recently read one is dropped past this, so a worker that runs for months over
# thousands of lives stays bounded; a dropped live that comments again is compiled again.
GRAMMARS_KEPT = 256

# Redis being unreachable or refusing writes for now is worth waiting for; anything else
# from the store is not.
STORE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    StoreBusy,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    # a cluster mid-failover, to a client that does not retry it itself (the command agent's)
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.SlotNotCoveredError,
    redis.exceptions.ReadOnlyError,
    ConnectionError,
    OSError,
)


def store_unavailable(exc: BaseException) -> bool:
    """Redis away or refusing writes for now: the errors above, and the error replies of a
    server that will serve again (a full disk, a failover) from the stores that do not wrap
    them in StoreBusy (the shop store's transactions)."""
    if isinstance(exc, STORE_UNAVAILABLE):
        return True
    return isinstance(exc, redis.exceptions.ResponseError) and transient_reply(exc)


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class LivestreamInfo(Protocol):
    @property
    def shop_id(self) -> str: ...
    @property
    def config_version(self) -> int: ...
    @property
    def shop_config_json(self) -> bytes: ...


class CommentStore(Protocol):
    async def livestream_info(self, livestream_id: str) -> LivestreamInfo | None: ...

    async def apply_batch(
        self,
        shop_id: str,
        livestream_id: str,
        events: Sequence[CommentEvent],
        expected: Mapping[int, int] | None = None,
        *,
        checked: bool = False,
    ) -> Applied: ...


class KnownWatermarks:
    """Where the store is, as far as this worker knows: per livestream and partition, the
    watermark it read when it was given the partition or set itself since. Each store call
    sends what it knows for its partitions, and a store found behind it (Redis lost writes)
    refuses the call instead of applying on top of the gap (orders.store.WatermarkBehind)."""

    def __init__(self) -> None:
        self._marks: dict[tuple[str, int], int] = {}

    def expected(self, livestream_id: str, partitions: Iterable[int]) -> dict[int, int]:
        found = {p: self._marks.get((livestream_id, p)) for p in partitions}
        return {p: wm for p, wm in found.items() if wm is not None}

    def update(self, livestream_id: str, marks: Mapping[int, int]) -> None:
        for partition, mark in marks.items():
            self._marks[livestream_id, partition] = mark

    def forget(self, partitions: Iterable[int]) -> None:
        """Partitions this worker no longer owns: others move their watermarks now."""
        gone = set(partitions)
        for key in [k for k in self._marks if k[1] in gone]:
            del self._marks[key]

    def of_partition(self, partition: int) -> dict[str, int]:
        return {live: wm for (live, p), wm in self._marks.items() if p == partition}


# Produce (topic, key, value) messages and return once Kafka acknowledged all of them.
Publisher = Callable[[Sequence[tuple[str, bytes | None, bytes]]], Awaitable[None]]


CustomerFlags = Callable[[str, list[str], list[str]], Awaitable[dict[str, Any]]]


def _trouble(exc: BaseException) -> str:
    if isinstance(exc, StoreContended):
        return "contended (other workers changing the same shop)"
    refusing = isinstance(exc, StoreBusy | redis.exceptions.ResponseError)
    return "refusing writes" if refusing else "unreachable"


class Backoff:
    """Exponential backoff for store calls: 0.1 s doubling up to `ceiling` seconds.

    `after_timeout`, when given, runs once a call timed out, before the retry: the worker
    drops its Redis client's idle connections then (orders.connection.drop_idle_connections),
    since they went silent on the same path."""

    def __init__(
        self,
        first: float = 0.1,
        ceiling: float = 5.0,
        after_timeout: Callable[[], Awaitable[None]] | None = None,
        retries: int | None = None,
    ) -> None:
        self.first = first
        self.ceiling = ceiling
        self.after_timeout = after_timeout
        self.retries = retries  # None: until Redis answers; 0: the caller retries

    async def call(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        delay = self.first
        attempt = 0
        while True:
            try:
                result = await operation()
            except Exception as exc:
                if not store_unavailable(exc) or (
                    self.retries is not None and attempt >= self.retries
                ):
                    raise
                attempt += 1
                metrics.STORE_RETRIES.inc()
                if isinstance(exc, redis.exceptions.TimeoutError):
                    await self._after_timeout()
                log.warning(
                    "Redis %s during %s (%s: %s); retry %d in %.1fs. "
                    "The batch stays unacknowledged until it is applied.",
                    _trouble(exc),
                    what,
                    type(exc).__name__,
                    exc,
                    attempt,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.ceiling)
                continue
            if attempt:
                log.warning("Redis is back: %s succeeded after %d retries", what, attempt)
            return result

    async def _after_timeout(self) -> None:
        if self.after_timeout is None:
            return
        try:
            await self.after_timeout()
        except Exception:  # closing sockets must never fail the call being retried
            log.debug("dropping idle Redis connections failed", exc_info=True)


@dataclass(slots=True)
class Group:
    """One livestream's share of a batch, parsed and ready for one store call."""

    shop_id: str
    livestream_id: str
    comments: list[Comment]
    events: list[CommentEvent]


@dataclass(slots=True)
class Prepared:
    """A batch after the CPU work (decode, parse), before the I/O (store, Kafka)."""

    groups: list[Group]
    outgoing: list[tuple[str, bytes | None, bytes]]  # dead letters so far


class CommentPipeline:
    """`prepare` (decode, parse) then `commit` (store, publish). The agent overlaps the
    preparing of one batch with the committing of the previous one; `handle` does both."""

    def __init__(
        self,
        store: CommentStore,
        publish: Publisher,
        topics: Topics,
        backoff: Backoff | None = None,
        flags: CustomerFlags | None = None,
        known: KnownWatermarks | None = None,
    ) -> None:
        self.store = store
        self.publish = publish
        self.topics = topics
        self.backoff = backoff or Backoff()
        self.flags = flags
        self.known = known
        self._grammars: OrderedDict[str, tuple[int, RememberingGrammar]] = OrderedDict()

    async def handle(self, records: Sequence[Record]) -> None:
        await self.commit(await self.prepare(records))

    async def prepare(self, records: Sequence[Record]) -> Prepared:
        metrics.BATCH_SIZE.observe(len(records))
        metrics.COMMENTS_IN.inc(len(records))
        outgoing: list[tuple[str, bytes | None, bytes]] = []
        by_livestream: dict[str, list[tuple[Record, Comment]]] = {}
        for record in records:
            comment = self._decode(record, outgoing)
            if comment is not None:
                by_livestream.setdefault(comment.livestream_id, []).append((record, comment))
        # Livestreams are independent: their reads go out together, not one round trip after
        # the other (on a busy machine each round trip waits for a core).
        grammars = await asyncio.gather(*(self._grammar(live) for live in by_livestream))
        groups = []
        for (livestream_id, entries), found in zip(by_livestream.items(), grammars, strict=True):
            group = self._parse_group(livestream_id, entries, found, outgoing)
            if group is not None:
                groups.append(group)
        return Prepared(groups, outgoing)

    async def commit(self, prepared: Prepared) -> None:
        """Apply every group (concurrently: one livestream's keys never touch another's), then
        publish, each livestream's events in order; returns once Kafka has every message."""
        outgoing = prepared.outgoing
        produced = await asyncio.gather(*(self._apply_group(g) for g in prepared.groups))
        for messages in produced:
            outgoing.extend(messages)
        if outgoing:
            await self.publish(outgoing)

    # -- decoding -----------------------------------------------------------------------

    def _decode(
        self, record: Record, outgoing: list[tuple[str, bytes | None, bytes]]
    ) -> Comment | None:
        if record.value is None:
            self._dead(record, DeadLetterReason.UNDECODABLE, "the record has no value", outgoing)
            return None
        try:
            return Comment.from_json(record.value)
        except ValidationError as exc:
            reason, detail = _classify(record.value, exc)
            self._dead(record, reason, detail, outgoing)
            return None

    def _dead(
        self,
        record: Record,
        reason: str,
        detail: str,
        outgoing: list[tuple[str, bytes | None, bytes]],
    ) -> None:
        outgoing.append(dead_letter(record, reason, detail, self.topics.dead_letters))

    # -- parsing ------------------------------------------------------------------------

    async def _grammar(
        self, livestream_id: str
    ) -> tuple[LivestreamInfo | None, RememberingGrammar | None] | ConfigError:
        info = await self.backoff.call(
            f"reading livestream {livestream_id}",
            lambda: self.store.livestream_info(livestream_id),
        )
        if info is None:
            return None, None
        cached = self._grammars.get(livestream_id)
        if cached is not None and cached[0] == info.config_version:
            self._grammars.move_to_end(livestream_id)
            return info, cached[1]
        try:
            shop = validate_document(
                ShopConfig, orjson.loads(info.shop_config_json), f"livestream {livestream_id}"
            )
        except ConfigError as exc:
            return exc
        grammar = RememberingGrammar(compile_grammar(shop))
        self._grammars[livestream_id] = (info.config_version, grammar)
        self._grammars.move_to_end(livestream_id)
        while len(self._grammars) > GRAMMARS_KEPT:
            self._grammars.popitem(last=False)
        return info, grammar

    def _parse_group(
        self,
        livestream_id: str,
        entries: list[tuple[Record, Comment]],
        found: tuple[LivestreamInfo | None, RememberingGrammar | None] | ConfigError,
        outgoing: list[tuple[str, bytes | None, bytes]],
    ) -> Group | None:
        if isinstance(found, ConfigError):
            for record, _ in entries:
                self._dead(record, "invalid_livestream_config", str(found), outgoing)
            return None
        info, grammar = found
        if info is None or grammar is None:
            detail = (
                f"livestream {livestream_id!r} was never started "
                f"(chotdon live start --livestream {livestream_id} ...)"
            )
            for record, _ in entries:
                self._dead(record, DeadLetterReason.UNKNOWN_LIVESTREAM, detail, outgoing)
            return None
        group = Group(info.shop_id, livestream_id, [], [])
        intents: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        for record, comment in entries:
            if comment.shop_id != info.shop_id:
                detail = (
                    f"comment for shop {comment.shop_id!r} but livestream "
                    f"{livestream_id!r} belongs to shop {info.shop_id!r}"
                )
                self._dead(record, "shop_mismatch", detail, outgoing)
                continue
            event = self._parsed(record, comment, grammar, outgoing, intents, statuses)
            if event is not None:
                group.comments.append(comment)
                group.events.append(event)
        # counted once per batch: a labelled counter's inc costs more than a parse step
        for intent, count in intents.items():
            metrics.PARSED.labels(intent).inc(count)
        for status, count in statuses.items():
            metrics.ITEMS.labels(status).inc(count)
        return group if group.events else None

    def _parsed(
        self,
        record: Record,
        comment: Comment,
        grammar: Grammar | RememberingGrammar,
        outgoing: list[tuple[str, bytes | None, bytes]],
        intents: Counter[str],
        statuses: Counter[str],
    ) -> CommentEvent | None:
        """The comment's event, or None once it is a dead letter (parsed ones are counted in
        `intents` and `statuses`, for the metrics). No comment may stop its
        batch: a parser failure raised here crashes the comment agent (faust acks the batch,
        and the worker stays in the group applying nothing), and an event the store refuses
        refuses the whole batch and stops the worker, again at every restart."""
        try:
            event = _event(record, comment, grammar)
        except Exception as exc:  # any parser bug, caught per comment
            log.warning("the parser failed on comment %r", comment.id, exc_info=True)
            detail = f"the parser failed: {type(exc).__name__}: {exc}"[:500]
            self._dead(record, DeadLetterReason.UNPARSEABLE_COMMENT, detail, outgoing)
            return None
        intents[event.intent] += 1
        for item in event.items:  # most have none: a loop, not Counter.update's generator
            statuses[item.status] += 1
        problem = event_problem(event)
        if problem is not None:
            detail = f"the parse is not what the order book accepts: {problem}"[:500]
            self._dead(record, DeadLetterReason.UNPARSEABLE_COMMENT, detail, outgoing)
            return None
        return event

    # -- applying -----------------------------------------------------------------------

    async def _apply_group(self, group: Group) -> list[tuple[str, bytes | None, bytes]]:
        """One livestream's store call; the draft events it produced."""
        outgoing: list[tuple[str, bytes | None, bytes]] = []
        shop_id, livestream_id, events = group.shop_id, group.livestream_id, group.events
        known = self.known
        expected = (
            None if known is None else known.expected(livestream_id, {e.partition for e in events})
        )
        started = time.perf_counter()
        applied = await self.backoff.call(
            f"applying {len(events)} comments of livestream {livestream_id}",
            # every event passed event_problem in _parsed: the store need not check it again
            lambda: self.store.apply_batch(shop_id, livestream_id, events, expected, checked=True),
        )
        metrics.REDIS_SECONDS.observe(time.perf_counter() - started)
        if known is not None:
            known.update(livestream_id, applied.watermarks)
        metrics.DRAFTS_CREATED.inc(applied.created)
        key = livestream_id.encode()
        by_user: dict[str | None, list[str]] = {}
        for event in events:
            by_user.setdefault(event.user_id, []).append(event.comment_id)
        now = datetime.now(UTC)
        # Redelivered drafts go out again: their first events may have been lost with a
        # worker that crashed after Redis applied the batch but before Kafka had the events.
        # A draft whose only change is its waitlist place moving up is not published: every
        # cancel ahead would re-send the whole queue. Its place is current in Redis, and it is
        # published when its line gets units.
        published = applied.to_publish()
        _observe_applied(group.comments, livestream_id, published)
        flags = await self._customer_flags(shop_id, published)
        for draft in published:
            comment_ids = by_user.get(draft["customer"]["user_id"], [])
            warnings = draft_warnings(draft, flags)
            if warnings:
                metrics.FLAGGED_DRAFT_EVENTS.inc()
            value = draft_event_json(shop_id, livestream_id, draft, comment_ids, now, warnings)
            outgoing.append((self.topics.draft_events, key, value))
        metrics.DRAFT_EVENTS.inc(len(published))
        return outgoing

    async def _customer_flags(self, shop_id: str, drafts: list[dict[str, Any]]) -> dict[str, Any]:
        """What the shop knows of these customers (returned orders, blacklist): one read."""
        if self.flags is None or not drafts:
            return {}
        users = sorted({commenter_field(d["customer"]) for d in drafts})
        phones = sorted({d["customer"]["phone"] for d in drafts if d["customer"].get("phone")})
        flags = self.flags
        return await self.backoff.call(
            f"reading customer flags of shop {shop_id}", lambda: flags(shop_id, users, phones)
        )


def dead_letter(
    record: Record, reason: str, detail: str, topic: str
) -> tuple[str, bytes | None, bytes]:
    """The dead letter of a record that cannot be processed, counted and logged: the message
    to publish (keyed like the record, with its original bytes and the reason)."""
    metrics.DEAD_LETTERS.labels(reason).inc()
    letter = DeadLetter.of_record(
        reason,
        detail,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
    )
    log.info(
        "dead letter %s@%d:%d: %s (%s)",
        record.topic,
        record.partition,
        record.offset,
        reason,
        detail,
    )
    return topic, record.key, letter.to_json()


def _event(record: Record, comment: Comment, grammar: Grammar | RememberingGrammar) -> CommentEvent:
    return comment_event(comment, grammar.parse(comment.text, comment.id), record.offset,
                         record.partition)  # fmt: skip


def comment_event(
    comment: Comment, result: ParseResult, offset: int, partition: int
) -> CommentEvent:
    """What the store is given for a parsed comment read at (partition, offset)."""
    return CommentEvent(
        comment_id=comment.id,
        offset=offset,
        platform=comment.platform,
        user_id=comment.user_id,
        user_name=comment.user_name,
        created_at=comment.created_at.isoformat(),
        intent=result.intent,
        phone=result.phone,
        items=tuple(result.items),
        partition=partition,
    )


def _observe_applied(
    comments: list[Comment], livestream_id: str, published: list[dict[str, Any]]
) -> None:
    """Latency of every comment; lines and waiting units of the drafts published."""
    now = time.time()
    for comment in comments:
        metrics.END_TO_END_SECONDS.observe(max(0.0, now - comment.created_at.timestamp()))
    lines = waiting = 0
    for draft in published:
        for line in draft["lines"]:
            lines += 1
            waiting += line["qty"] - line["reserved"] if line["waitlist"] is not None else 0
    metrics.LINES.labels(livestream_id).set(lines)
    metrics.WAITLISTED_UNITS.labels(livestream_id).set(waiting)


def _classify(value: bytes, exc: ValidationError) -> tuple[str, str]:
    if any(error["type"] == "json_invalid" for error in exc.errors(include_url=False)):
        try:
            value.decode("utf-8")
        except UnicodeDecodeError as bad:
            return DeadLetterReason.UNDECODABLE, f"not UTF-8 text: {bad.reason} at byte {bad.start}"
        return DeadLetterReason.INVALID_JSON, describe_error(exc)
    return DeadLetterReason.INVALID_COMMENT, describe_error(exc)
