"""Where every connector's comments go: Kafka first, then the cursor.

`LiveSink.emit` produces a live's new comments to `chotdon.comments`, keyed by the livestream
(one partition, in order), and returns once Kafka acknowledged every one (acks=all, an
idempotent producer). Only then does the connector store its cursor (`Cursors.save`): a crash in
between fetches the same comments again after the restart, and the store's dedupe by comment id
applies them once (at-least-once into Kafka, effectively-once in the drafts).

The sink also drops the comments it produced already (`Seen`: the latest ids, also kept in the
cursor so a restart remembers the last few hundred): overlapping pages, a catch-up after the
stream delivered the same comments. That only saves Kafka records and worker time; correctness
is the store's dedupe.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis

from connectors import metrics
from stream.messages import Comment

log = logging.getLogger("chotdon.connect")
RECENT_KEPT = 500  # comment ids kept in the cursor, to recognise them after a restart
SEEN_KEPT = 200_000


class Seen:
    """The latest `capacity` comment ids, oldest forgotten first."""

    def __init__(self, capacity: int = SEEN_KEPT, ids: Iterable[str] = ()) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        for cid in ids:
            self.add(cid)

    def __contains__(self, cid: object) -> bool:
        return cid in self._ids

    def add(self, cid: str) -> None:
        self._ids[cid] = None
        self._ids.move_to_end(cid)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)

    def latest(self, count: int) -> list[str]:
        return list(self._ids)[-count:]


class CommentProducer:
    """One Kafka producer shared by the connectors of a process."""

    def __init__(self, bootstrap: str) -> None:
        from aiokafka import AIOKafkaProducer

        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send_all(self, topic: str, key: bytes, values: Sequence[bytes]) -> None:
        """Produce in order; return when Kafka acknowledged all. Retried while Kafka is away:
        nothing is acknowledged meanwhile, so nothing moves the cursor."""
        from aiokafka.errors import KafkaError

        delay = 0.5
        while True:
            try:
                futures = [await self._producer.send(topic, value, key=key) for value in values]
                await asyncio.gather(*futures)
                return
            except KafkaError as exc:
                log.warning("Kafka did not take %d comments (%s); retry in %.1f s",
                            len(values), exc, delay)  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)


AfterProduce = Callable[[list[Comment]], Awaitable[None]]


class LiveSink:
    """One live's way into Kafka: dedupe, produce in order, metrics."""

    def __init__(
        self,
        producer: CommentProducer,
        topic: str,
        platform: str,
        livestream_id: str,
        *,
        recent: Iterable[str] = (),
        after_produce: AfterProduce | None = None,
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.platform = platform
        self.livestream_id = livestream_id
        self.seen = Seen(ids=recent)
        self.after_produce = after_produce
        self.latest_at: datetime | None = None
        self._lock = asyncio.Lock()
        self._labels = (platform, livestream_id)

    async def emit(self, comments: Sequence[Comment], *, backfill: bool = False) -> list[Comment]:
        """Produce the comments not produced before, in the order given; the ones produced."""
        async with self._lock:
            metrics.COMMENTS_IN.labels(*self._labels).inc(len(comments))
            fresh: list[Comment] = []
            ids: set[str] = set()
            for comment in comments:
                if comment.id in self.seen or comment.id in ids:
                    continue
                ids.add(comment.id)
                fresh.append(comment)
            duplicates = len(comments) - len(fresh)
            if duplicates:
                metrics.DUPLICATES.labels(*self._labels).inc(duplicates)
            if not fresh:
                return []
            await self.producer.send_all(
                self.topic, self.livestream_id.encode(), [c.to_json() for c in fresh]
            )
            for comment in fresh:
                self.seen.add(comment.id)
            metrics.PRODUCED.labels(*self._labels).inc(len(fresh))
            if backfill:
                metrics.BACKFILLED.labels(*self._labels).inc(len(fresh))
            newest = max(c.created_at for c in fresh)
            if self.latest_at is None or newest > self.latest_at:
                self.latest_at = newest
            lag = (datetime.now(UTC) - self.latest_at).total_seconds()
            metrics.LAG_SECONDS.labels(*self._labels).set(max(0.0, lag))
        if self.after_produce is not None:
            await self.after_produce(fresh)
        return fresh

    def recent(self) -> list[str]:
        return self.seen.latest(RECENT_KEPT)


def cursor_key(shop_id: str, livestream_id: str, platform: str) -> str:
    # the livestream's hash tag: one slot with its drafts on Redis Cluster
    return f"chotdon:{{{shop_id}:{livestream_id}}}:connector:{platform}"


class Cursors:
    """A connector's position in its live, in Redis: where to resume after a restart."""

    def __init__(self, redis: Redis, shop_id: str, livestream_id: str, platform: str) -> None:
        self.redis = redis
        self.key = cursor_key(shop_id, livestream_id, platform)

    async def load(self) -> dict[str, Any]:
        raw = await self.redis.get(self.key)
        state: dict[str, Any] = {} if raw is None else orjson.loads(raw)
        return state

    async def save(self, state: dict[str, Any]) -> None:
        await self.redis.set(self.key, orjson.dumps(state))


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def from_iso(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
