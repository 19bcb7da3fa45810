"""The automation intake: order and draft events read in whole fetches, inside the faust worker.

The automation agent was a faust agent, and faust's per-record path for the draft events (two
tasks per message, a channel, a buffer) was ~18 % of a loaded worker's CPU against 2.4 % in
the rules' own code (benchmarks/README.md). `AutomationIntake` is a `mode.Service` the faust app
starts and stops with the worker, reading `chotdon.order-events` and `chotdon.draft-events`
with a plain aiokafka consumer in a group of its own (`automation_group`; what it shares with
the comment intake is stream/consuming.py), and hands each record to `AutomationProcessor`
(stream/automation.py), in order per partition.

The guarantee is the agent's: a partition's offsets are committed only past records whose
commands Kafka acknowledged (the processor publishes them and waits before the next record),
and a record read again sends the same command ids, so its commands act once. Redis being away
is waited out (`Backoff`); any other failure stops the worker, records unacknowledged.

Where a partition starts: the group's own committed offset; a partition it never committed
(the group is new: the first start after the agent became this) starts where the faust
agents' group (`app_id`) had committed for it, since starting from the topic's start would run
the rules again on old events whose commands' outcomes may have expired (and act twice); only
a partition neither group committed starts at its start.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import IllegalStateError, KafkaError

from config.settings import Settings
from stream import metrics
from stream.automation import AutomationProcessor
from stream.consuming import QUIET_WAIT, GroupReader, Publish, lags
from stream.pipeline import Record

log = logging.getLogger("chotdon.automation")

Fetched = Mapping[TopicPartition, Sequence[ConsumerRecord[bytes, bytes]]]
# Records handled between two looks at the event loop: most events need no I/O (a shop without
# draft rules), and a fetch of 2,000 of them would otherwise hold the loop from the comments.
YIELD_EVERY = 100
KAFKA_RETRY = 1.0  # seconds between tries to read committed offsets while Kafka is away


def automation_group(app_id: str) -> str:
    """The automation intake's consumer group (the faust agents' is `app_id` itself)."""
    return f"{app_id}.automation"


def start_offset(own: int | None, agents: int | None) -> int | None:
    """Where a newly assigned partition is read from; None: its start (module docstring).

    `own`: this group's committed offset for it; `agents`: the faust agents' group's, which
    ran the automation agent before this group existed."""
    return own if own is not None else agents


class AutomationIntake(GroupReader):
    """The automation path of a worker: consume, evaluate, publish, commit (module docstring)."""

    def __init__(self, settings: Settings, publish: Publish, **kwargs: Any) -> None:
        topics = settings.topics
        super().__init__(
            settings,
            publish,
            group=automation_group(settings.app_id),
            topics=[topics.order_events, topics.draft_events],
            **kwargs,
        )
        self._batch: asyncio.Future[None] | None = None  # the fetch being handled
        self._processor: AutomationProcessor | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def on_start(self) -> None:
        from orders.shop.store import ShopStore

        shops = ShopStore(self._redis())
        self._processor = AutomationProcessor(shops, self.publish, self.settings.topics)
        await self._join()

    async def on_stop(self) -> None:
        """Finish the record in hand if Redis answers (the rest of its fetch is read again by
        the next owner), commit what is done, leave the group."""
        await self._stop_loop()
        await self._disconnect()

    # -- the loop -------------------------------------------------------------------------

    async def _run(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        wait_ms = int(QUIET_WAIT * 1000)
        while not self.should_stop:
            if self._to_seek:
                await self._seek_assigned()
            epoch = self._epoch
            fetched = await consumer.getmany(timeout_ms=wait_ms, max_records=self.batch_size)
            if fetched and epoch == self._epoch:  # else assigned meanwhile: sought again
                self._batch = asyncio.ensure_future(self._handle(fetched, epoch))
                try:
                    await self._batch
                finally:
                    self._batch = None
            await self._commits.commit(consumer)

    async def _handle(self, fetched: Fetched, epoch: int) -> None:
        """Each partition's records in order; stops at a rebalance or a stop (`epoch`)."""
        processor, consumer = self._processor, self._consumer
        assert processor is not None and consumer is not None
        handled = 0
        for tp, records in fetched.items():
            end: int | None = None
            for r in records:
                if epoch != self._epoch:
                    break
                record = Record(r.topic, r.partition, r.offset, r.key, r.value)
                await self.backoff.call("automation", functools.partial(processor.handle, record))
                end = r.offset + 1
                handled += 1
                if handled % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
            if end is not None:
                self._commits.finished({tp: end})
                for _, lag in lags(consumer, {tp: end}):
                    metrics.AUTOMATION_LAG.labels(tp.topic, str(tp.partition)).set(lag)
            if epoch != self._epoch:
                return

    # -- where partitions start -----------------------------------------------------------

    async def _seek_assigned(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        partitions = sorted(self._to_seek & self._assigned())
        self._to_seek.clear()
        if not partitions:
            return
        own = await self._committed(self.group, partitions)
        missing = [tp for tp in partitions if tp not in own]
        agents = await self._committed(self.settings.app_id, missing) if missing else {}
        for tp in partitions:
            offset = start_offset(own.get(tp), agents.get(tp))
            if tp not in own and offset is not None:
                log.info(
                    "%s:%d starts at %d, where the agents' group %s had committed",
                    tp.topic, tp.partition, offset, self.settings.app_id,
                )  # fmt: skip
            # Sought even at the group's own offset: a fetch dropped for the epoch it came in
            # (it straddled this assignment) moved the consumer past records not handled.
            with contextlib.suppress(IllegalStateError):  # revoked meanwhile: its owner seeks
                if offset is None:
                    await consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, offset)

    async def _committed(
        self, group: str, partitions: Sequence[TopicPartition]
    ) -> dict[TopicPartition, int]:
        """`group`'s committed offsets of these partitions (those it has). Kafka away is waited
        out: starting elsewhere than where the groups stand would replay or skip events."""
        while True:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.settings.kafka,
                request_timeout_ms=int(self.request_timeout * 1000),
            )
            try:
                await admin.start()
                offsets = await admin.list_consumer_group_offsets(
                    group, partitions=list(partitions)
                )
                return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
            except (KafkaError, TimeoutError) as exc:
                if self.should_stop:
                    raise
                log.warning("reading %s's committed offsets failed (%s: %s); again in %.0fs",
                            group, type(exc).__name__, exc, KAFKA_RETRY)  # fmt: skip
            finally:
                await admin.close()
            await asyncio.sleep(KAFKA_RETRY)

    # -- rebalancing ----------------------------------------------------------------------

    async def revoked(self, partitions: set[TopicPartition]) -> None:
        """Finish the record in hand (the partitions are ours until this returns), commit."""
        self._epoch += 1
        batch = self._batch
        if batch is not None:  # (a failure of it has stopped the worker)
            await asyncio.wait([batch], timeout=30)
        await self._commits.commit(self._consumer, force=True)
