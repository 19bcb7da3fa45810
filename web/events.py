"""Live events of one livestream for the dashboard: its draft events and its orders' events,
read from Kafka from an exact position, so a reconnecting screen misses nothing.

A livestream's draft events are keyed by its id, so they all sit in one partition of
`chotdon.draft-events` (Kafka's default partitioner, which every chotdon producer uses); its
orders' events are keyed by order id, spread over `chotdon.order-events`. A position is where to
read next in each of those partitions:

    "<draft partition>:<offset>|<order partition>:<offset>,<order partition>:<offset>,..."

Every event sent to a browser carries the position after it as its SSE `id`; the browser
sends it back as `Last-Event-ID` when it reconnects, and reading resumes exactly there. A page
takes the position *before* it reads its snapshot from Redis, and the stream starts there:
events between the two are sent again (a draft event carries the whole draft, so applying an
older one is put right by the next), and none is lost.

Each connection reads with its own consumer (no group, nothing committed): a shop's staff are a
handful of screens per livestream, and a consumer that only assigns partitions costs Kafka a
fetch session, not a rebalance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from config.settings import Settings
from orders.model import draft_version
from orders.shop.order import livestream_of_order

log = logging.getLogger("chotdon.web.events")
Json = dict[str, Any]


class BadPosition(ValueError):
    """A position (Last-Event-ID) that chotdon did not write."""


@dataclass(frozen=True, slots=True)
class Position:
    draft_partition: int
    draft_offset: int
    order_offsets: tuple[tuple[int, int], ...]

    def encode(self) -> str:
        orders = ",".join(f"{p}:{o}" for p, o in self.order_offsets)
        return f"{self.draft_partition}:{self.draft_offset}|{orders}"

    @classmethod
    def decode(cls, text: str) -> Position:
        try:
            draft, _, orders = text.partition("|")
            partition, _, offset = draft.partition(":")
            pairs = [pair.split(":") for pair in orders.split(",") if pair]
            order_offsets = tuple(sorted((int(p), int(o)) for p, o in pairs))
            position = cls(int(partition), int(offset), order_offsets)
        except ValueError:
            raise BadPosition(f"not an event position: {text[:80]!r}") from None
        if min([position.draft_offset, *(o for _, o in order_offsets)]) < 0:
            raise BadPosition(f"not an event position: {text[:80]!r}")
        return position


@dataclass(frozen=True, slots=True)
class LiveBatch:
    """What one read brought: the latest state of each draft that changed, the order events
    of the livestream's orders, and the position after them."""

    drafts: list[Json]
    orders: list[Json]
    position: Position


def draft_partition(livestream_id: str, partitions: list[int]) -> int:
    from aiokafka.partitioner import DefaultPartitioner

    chosen: int = DefaultPartitioner()(livestream_id.encode(), partitions, partitions)
    return chosen


def event_draft(event: Json) -> Json:
    """The draft of a draft event, as the board shows it: with its version and warnings."""
    draft = dict(event["draft"])
    draft["version"] = draft_version(draft)
    draft["warnings"] = event.get("warnings") or []
    return draft


class LiveEvents:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._open: set[Any] = set()
        self._positions: Any = None  # one consumer that only asks for end offsets
        self._positions_lock = asyncio.Lock()

    async def stop(self) -> None:
        for consumer in list(self._open):
            with contextlib.suppress(Exception):
                await consumer.stop()
        self._positions = None

    async def position(self, livestream_id: str) -> Position:
        """Where the livestream's events end now."""
        async with self._positions_lock:
            if self._positions is None:
                self._positions = await self._consumer()
            consumer = self._positions
        draft_tp, order_tps = await self._partitions(consumer, livestream_id)
        ends = await consumer.end_offsets([draft_tp, *order_tps])
        return Position(
            draft_tp.partition,
            ends[draft_tp],
            tuple(sorted((tp.partition, ends[tp]) for tp in order_tps)),
        )

    async def follow(
        self, livestream_id: str, since: Position, idle_seconds: float = 15.0
    ) -> AsyncIterator[LiveBatch | None]:
        """The livestream's events from `since` on, batch by batch, as they come; None after
        `idle_seconds` without any (the caller sends a keep-alive)."""
        consumer = await self._consumer()
        try:
            draft_tp, order_tps = await self._partitions(consumer, livestream_id)
            if draft_tp.partition != since.draft_partition:
                raise BadPosition("the position is of another livestream")
            consumer.assign([draft_tp, *order_tps])
            consumer.seek(draft_tp, since.draft_offset)
            known = dict(since.order_offsets)
            ends = await consumer.end_offsets(order_tps)
            for tp in order_tps:  # a partition added since the position was taken: from now
                consumer.seek(tp, known.get(tp.partition, ends[tp]))
            while True:
                batches = await consumer.getmany(timeout_ms=int(idle_seconds * 1000))
                if not batches:
                    yield None
                    continue
                drafts: dict[int, Json] = {}
                orders: list[Json] = []
                for tp, records in batches.items():
                    for record in records:
                        _collect(record, tp == draft_tp, livestream_id, drafts, orders)
                position = Position(
                    draft_tp.partition,
                    await consumer.position(draft_tp),
                    tuple(
                        sorted([(tp.partition, await consumer.position(tp)) for tp in order_tps])
                    ),
                )
                if drafts or orders:
                    yield LiveBatch(
                        sorted(drafts.values(), key=lambda d: d["seq"]), orders, position
                    )
        finally:
            await self._close(consumer)

    async def _consumer(self) -> Any:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka,
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # a position older than the topic's retention
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await consumer.start()
        self._open.add(consumer)
        return consumer

    async def _close(self, consumer: Any) -> None:
        self._open.discard(consumer)
        await consumer.stop()

    async def _partitions(self, consumer: Any, livestream_id: str) -> tuple[Any, list[Any]]:
        from aiokafka import TopicPartition

        topics = self._settings.topics
        found = {}
        for topic in (topics.draft_events, topics.order_events):
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                await consumer._client.force_metadata_update()
                partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                raise ConnectionError(f"topic {topic} does not exist: is the stack up?")
            found[topic] = sorted(partitions)
        draft_tp = TopicPartition(
            topics.draft_events, draft_partition(livestream_id, found[topics.draft_events])
        )
        order_tps = [TopicPartition(topics.order_events, p) for p in found[topics.order_events]]
        return draft_tp, order_tps


def _collect(
    record: Any, is_draft: bool, livestream_id: str, drafts: dict[int, Json], orders: list[Json]
) -> None:
    try:
        event = orjson.loads(record.value or b"null")
    except orjson.JSONDecodeError:
        return
    if not isinstance(event, dict):
        return
    if is_draft:
        if event.get("livestream_id") == livestream_id and isinstance(event.get("draft"), dict):
            drafts[int(event["seq"])] = event_draft(event)  # the latest of each draft wins
    elif livestream_of_order(str(event.get("order_id", ""))) == livestream_id:
        orders.append(event)
