"""What the worker's plain aiokafka readers share: the consumer, rebalances, commits, lag.

faust hands an agent its records one at a time, and that per-record path was the worker's
ceiling (benchmarks/README.md), so the comment intake (stream/intake.py) and the automation
intake (stream/automation_intake.py) read their topics with a plain aiokafka consumer, a whole
fetch at a time, each in a consumer group of its own (faust's group speaks faust's assignment
protocol, which a plain consumer cannot join). This module is how such a consumer is made and
kept: its settings, the listener that hands rebalances to its reader, the offsets a reader has
finished and commits every so often, the lag it reports, and `GroupReader`, the service's
frame (start with the app, a loop that stops the worker on a failure, stop with the app).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import mode
import redis.asyncio
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from config.settings import Settings
from orders.connection import drop_idle_connections, redis_client
from stream.pipeline import Backoff

log = logging.getLogger("chotdon.consuming")

FETCH_BYTES = 16 * 1024 * 1024  # per partition and fetch: a whole burst in one round trip
COMMIT_EVERY = 1.0  # seconds between Kafka commits
# How long one `getmany` waits when nothing is fetched. Records end the wait as soon as they
# arrive, so it adds no latency; it is how often a quiet reader looks at its housekeeping
# (seeking newly assigned partitions, committing, stopping). At 10 ms a quiet worker spent
# ~26 ms of CPU per second polling: ~5 µs per comment at 5,000 comments/s (benchmarks/README.md).
QUIET_WAIT = 0.25
Publish = Callable[[Sequence[tuple[str, bytes | None, bytes]]], Awaitable[None]]


def broker_seconds(name: str, default: float) -> float:
    """faust's broker timings from the environment (the tests shorten them), so every group of
    a worker notices a dead member equally fast."""
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def group_consumer(
    settings: Settings,
    group: str,
    *,
    client_id: str,
    max_records: int,
    session_timeout: float,
    heartbeat_interval: float,
    request_timeout: float,
) -> AIOKafkaConsumer:
    """A consumer of `group` that commits only when told (the reader knows what is done).

    `auto_offset_reset="earliest"`: a partition with no committed offset is read from its
    start, unless its reader seeks it elsewhere on assignment."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka,
        group_id=group,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=FETCH_BYTES,
        fetch_max_bytes=4 * FETCH_BYTES,
        max_poll_records=max_records,
        request_timeout_ms=int(request_timeout * 1000),
        session_timeout_ms=int(broker_seconds("BROKER_SESSION_TIMEOUT", session_timeout) * 1000),
        heartbeat_interval_ms=int(
            broker_seconds("BROKER_HEARTBEAT_INTERVAL", heartbeat_interval) * 1000
        ),
    )


class Rebalanced(Protocol):
    """A reader told of rebalances: what it must finish before partitions go, and what to
    seek before it reads them."""

    async def revoked(self, partitions: set[TopicPartition]) -> None: ...

    def assigned(self, partitions: set[TopicPartition]) -> None: ...


class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, reader: Rebalanced) -> None:
        self.reader = reader

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.reader.revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.reader.assigned(assigned)


class PendingCommits:
    """The next offset of each partition whose records are done (applied, and what they caused
    acknowledged by Kafka) but not committed yet; committed at most every COMMIT_EVERY seconds
    unless forced (a rebalance, a stop)."""

    def __init__(self) -> None:
        self.done: dict[TopicPartition, int] = {}
        self._committed_at = time.monotonic()

    def finished(self, ends: Mapping[TopicPartition, int]) -> None:
        self.done.update(ends)

    async def commit(self, consumer: AIOKafkaConsumer | None, *, force: bool = False) -> None:
        if consumer is None or not self.done:
            return
        if not force and time.monotonic() - self._committed_at < COMMIT_EVERY:
            return
        assigned = set(consumer.assignment())
        offsets = {tp: end for tp, end in self.done.items() if tp in assigned}
        self.done.clear()
        self._committed_at = time.monotonic()
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError, KafkaError) as exc:
            # a rebalance took the partitions: their next owner reads them again from where
            # the group last committed, and what is read again acts once
            log.info("offsets not committed (%s: %s)", type(exc).__name__, exc)


def lags(
    consumer: AIOKafkaConsumer, ends: Mapping[TopicPartition, int]
) -> Iterator[tuple[TopicPartition, int]]:
    """Records behind each partition's high watermark once the batch ending at `ends` is read."""
    for tp, end in ends.items():
        highwater = consumer.highwater(tp)
        if highwater is not None:
            yield tp, max(0, highwater - end)


class GroupReader(mode.Service):
    """A reader of `topics` in consumer group `group`, started and stopped with the faust app
    (`app._extra_services`). A subclass reads in `_run` and says in `revoked` what it must
    finish before partitions go; `assigned` marks partitions to seek (`_to_seek`) before the
    loop reads them, and voids what a fetch in flight brought (`_epoch`)."""

    def __init__(
        self,
        settings: Settings,
        publish: Publish,
        *,
        group: str,
        topics: Iterable[str],
        batch_size: int,
        stop_worker: Callable[[BaseException], None],
        session_timeout: float = 6.0,
        heartbeat_interval: float = 1.0,
        request_timeout: float = 30.0,
        declare: Callable[[], Awaitable[Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        self.settings = settings
        self.publish = publish
        self.group = group
        self.topics = tuple(topics)
        self.batch_size = batch_size
        self.session_timeout = session_timeout
        self.heartbeat_interval = heartbeat_interval
        self.request_timeout = request_timeout
        self.stop_worker = stop_worker
        self.declare = declare  # creates the topics if missing (faust's declaration)
        self.backoff = Backoff()  # Redis being away is waited out
        self._epoch = 0  # +1 on every rebalance, re-seek and stop: older fetches are void
        self._to_seek: set[TopicPartition] = set()
        self._commits = PendingCommits()
        self._runner: asyncio.Future[None] | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._client: redis.asyncio.Redis | None = None
        super().__init__(**kwargs)

    def _redis(self) -> redis.asyncio.Redis:
        """The reader's Redis client (its idle connections dropped after a timeout)."""
        self._client = redis_client(self.settings.redis, socket_timeout=10)
        self.backoff.after_timeout = functools.partial(drop_idle_connections, self._client)
        return self._client

    async def _join(self) -> None:
        """The consumer, subscribed and started: the group gives it partitions from now."""
        self._consumer = group_consumer(
            self.settings,
            self.group,
            client_id=f"{self.group}-intake",
            max_records=self.batch_size,
            session_timeout=self.session_timeout,
            heartbeat_interval=self.heartbeat_interval,
            request_timeout=self.request_timeout,
        )
        self._consumer.subscribe(list(self.topics), listener=Listener(self))
        await self._consumer.start()

    async def on_started(self) -> None:
        if self.declare is not None:
            await self.declare()
        self._runner = asyncio.ensure_future(self._guarded())

    async def _run(self) -> None:
        raise NotImplementedError

    async def _guarded(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if self.should_stop:  # the consumer stopped under getmany: shutting down
                return
            self.stop_worker(exc)  # a bug here must not leave a worker that does nothing
            raise

    async def _stop_loop(self, limit: float = 15) -> None:
        """Void the fetch in hand and give the loop `limit` seconds to end."""
        self._epoch += 1
        if self._runner is None:
            return
        try:
            await asyncio.wait_for(self._runner, timeout=limit)
        except (TimeoutError, asyncio.CancelledError):
            pass
        except Exception:  # reported by the loop, which stopped the worker
            log.debug("the %s loop ended with an error", self.group, exc_info=True)

    async def _disconnect(self) -> None:
        """Commit what is done, leave the group, close Redis."""
        await self._commits.commit(self._consumer, force=True)
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
        if self._client is not None:
            await self._client.aclose()

    def _assigned(self) -> set[TopicPartition]:
        consumer = self._consumer
        return set() if consumer is None else set(consumer.assignment())

    async def revoked(self, partitions: set[TopicPartition]) -> None:
        raise NotImplementedError

    def assigned(self, partitions: set[TopicPartition]) -> None:
        """Seek before anything of them is read (the loop does it: Redis may be away)."""
        self._epoch += 1
        self._to_seek |= partitions
