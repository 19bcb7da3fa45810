"""The comment intake: the comments topic read in whole fetches, inside the faust worker.

faust hands an agent its records one at a time (77 µs of worker CPU per record here against
4 µs for an aiokafka `getmany` loop: benchmarks/README.md), so the comment path does not go
through a faust agent. `CommentIntake` is a `mode.Service` that the faust app starts and stops
with the worker; it drives a plain aiokafka consumer in a consumer group of its own
(`comment_group`; what such readers share is stream/consuming.py), so workers share the
partitions and rebalance as the agents' partitions do.

One batch is whatever `getmany` returns (up to `Tuning.batch_size` records, as soon as any are
fetched): decoded and parsed while the previous batch is being applied, then applied (one FCALL
per livestream) and published. Offsets are committed only for batches whose draft events Kafka
has acknowledged, as before.

Where consumption resumes is the store's to say ("storing offsets outside Kafka"): on every
assignment, and whenever Redis is found behind what this worker knew (a restart from an
fsync-everysec AOF, a failover to a lagging replica), each partition is sought to
`resume_offset` of what the store knows, so that writes Redis lost are applied again
instead of being skipped because Kafka's committed offsets are past them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError

from config.settings import Settings
from orders.store import DraftStore, WatermarkBehind
from stream import metrics
from stream.consuming import QUIET_WAIT, GroupReader, Publish, lags
from stream.pipeline import CommentPipeline, KnownWatermarks, Prepared, Record

log = logging.getLogger("chotdon.intake")

Flags = Callable[[str, list[str], list[str]], Awaitable[dict[str, Any]]]


def comment_group(app_id: str) -> str:
    """The consumer group of the comment intake (the agents' is `app_id` itself)."""
    return f"{app_id}.comments"


def positions_key(group: str, topic: str) -> str:
    """The intake's own record of what it applied, per partition (outside every hash tag)."""
    return f"chotdon:intake:{group}:{topic}"


def resume_offset(
    committed: int | None,
    through: int | None,
    went_back: Iterable[int],
    livestream_marks: Iterable[int] = (),
) -> int | None:
    """Where a partition's consumption resumes; None: where Kafka's committed offset says.

    `through`: the last offset of the partition this group applied and published, as the
    store recorded it after the livestreams' data (so never newer than that data);
    `went_back`: the watermarks of livestreams the partition feeds that are below what that
    record says they were (on Redis Cluster one livestream's shard may lose writes that the
    record's shard kept). Without a record (a store that lost it, or one written before it was
    kept), `livestream_marks`: every livestream's watermark for the partition number. Never
    past Kafka's committed offset, and without one from the start: replaying what is applied
    changes nothing, skipping what is not loses it.
    """
    if through is not None:
        candidates = [through + 1, *(mark + 1 for mark in went_back)]
    elif committed is not None:
        candidates = [mark + 1 for mark in livestream_marks]
    else:
        return None  # a new group reads from the start
    if committed is not None:
        candidates.append(committed)
    return min(candidates, default=None)


@dataclass(slots=True)
class _Batch:
    prepared: Prepared
    ends: dict[TopicPartition, int]  # next offset per partition once this batch is applied
    epoch: int


class CommentIntake(GroupReader):
    """The comment path of a worker: consume, apply, publish, commit (module docstring)."""

    def __init__(self, settings: Settings, publish: Publish, **kwargs: Any) -> None:
        super().__init__(
            settings,
            publish,
            group=comment_group(settings.app_id),
            topics=[settings.topics.comments],
            **kwargs,
        )
        self.topic = settings.topics.comments
        self.known = KnownWatermarks()
        self._in_flight: asyncio.Task[None] | None = None
        self._books: asyncio.Future[None] | None = None  # the last batch's record and commit
        self._store: DraftStore | None = None
        self._pipeline: CommentPipeline | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def on_start(self) -> None:
        from orders.shop.store import ShopStore

        client = self._redis()
        self._store = DraftStore(client)
        await self.backoff.call("loading the Redis functions", self._store.load_functions)
        flags: Flags = ShopStore(client).customer_flags
        self._pipeline = CommentPipeline(
            self._store, self.publish, self.settings.topics, self.backoff, flags, self.known
        )
        await self._join()

    async def on_stop(self) -> None:
        """Let the batch in flight finish if Redis answers (else leave it unacknowledged for
        the next worker), commit what is done, leave the group."""
        await self._stop_loop()
        await self._settle(limit=10)
        await self._books_kept(limit=10)
        await self._disconnect()

    # -- the loop -------------------------------------------------------------------------

    async def _run(self) -> None:
        consumer, pipeline = self._consumer, self._pipeline
        assert consumer is not None and pipeline is not None
        wait_ms = int(QUIET_WAIT * 1000)
        while not self.should_stop:
            if self._to_seek:
                await self._seek_to_store()
            epoch = self._epoch
            fetched = await consumer.getmany(timeout_ms=wait_ms, max_records=self.batch_size)
            if not fetched:
                quiet = self._in_flight is None or self._in_flight.done()
                if quiet and (self._books is None or self._books.done()):
                    await self._commit_kafka()  # quiet now: what is done gets committed
                continue
            if epoch != self._epoch:
                continue  # assigned or sought meanwhile: these positions are void
            records = [
                Record(r.topic, r.partition, r.offset, r.key, r.value)
                for batch in fetched.values()
                for r in batch
            ]
            ends = {tp: batch[-1].offset + 1 for tp, batch in fetched.items() if batch}
            self._observe_lag(ends)
            prepared = await pipeline.prepare(records)
            # While Redis applies batch N (on the other core), this loop parsed batch N+1.
            await self._settle()
            if epoch != self._epoch:
                continue
            self._in_flight = asyncio.ensure_future(self._apply(_Batch(prepared, ends, epoch)))

    async def _settle(self, limit: float | None = None) -> None:
        """Wait for the batch in flight; a failure of it has stopped the worker already."""
        task = self._in_flight
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), limit)
        except TimeoutError:
            task.cancel()
            log.warning("the batch in flight did not finish; it stays unacknowledged")
        except Exception:  # reported by _apply, which stopped the worker
            log.debug("the batch in flight failed", exc_info=True)
        self._in_flight = None

    async def _apply(self, batch: _Batch) -> None:
        pipeline = self._pipeline
        assert pipeline is not None
        if batch.epoch != self._epoch:
            return
        try:
            await pipeline.commit(batch.prepared)
        except WatermarkBehind as exc:
            log.warning(
                "Redis is behind what this worker applied (%s): seeking every partition back to "
                "the store's positions; nothing of this batch was applied",
                exc,
            )
            self._epoch += 1
            self._to_seek |= self._assigned()
            return
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.stop_worker(exc)
            raise
        if batch.epoch != self._epoch:
            return  # rebalanced while applying: applied and published, the next owner replays
        self._commits.finished(batch.ends)
        # The record and the commit are off the next batch's path (it may be applied now),
        # one after the other in batch order.
        self._books = asyncio.ensure_future(self._keep_books(self._books, dict(batch.ends)))

    async def _keep_books(
        self, previous: asyncio.Future[None] | None, ends: dict[TopicPartition, int]
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        try:
            await self._record_positions(ends)
            await self._commit_kafka()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.stop_worker(exc)
            raise

    async def _books_kept(self, limit: float) -> None:
        books = self._books
        if books is not None:
            await asyncio.wait([books], timeout=limit)

    # -- positions ------------------------------------------------------------------------

    async def _record_positions(self, ends: Mapping[TopicPartition, int]) -> None:
        """The store's record of this batch: per partition the last offset applied and
        published, and the watermark of every livestream it knows there. Written after the
        batch's own writes, so a Redis that lost writes lost this record first."""
        client = self._client
        assert client is not None
        fields: dict[str, int] = {}
        for tp, end in ends.items():
            fields[str(tp.partition)] = end - 1
            for livestream_id, mark in self.known.of_partition(tp.partition).items():
                fields[f"{tp.partition}:{livestream_id}"] = mark
        await self.backoff.call(
            "recording the intake's positions",
            lambda: client.hset(positions_key(self.group, self.topic), items=_flat(fields)),
        )

    async def _commit_kafka(self, *, force: bool = False) -> None:
        # a commit a rebalance refused: the next owner starts at the store's positions
        await self._commits.commit(self._consumer, force=force)

    async def _seek_to_store(self) -> None:
        consumer, store, client = self._consumer, self._store, self._client
        assert consumer is not None and store is not None and client is not None
        partitions = sorted(self._to_seek & self._assigned(), key=lambda tp: tp.partition)
        self._to_seek.clear()
        if not partitions:
            return
        numbers = [tp.partition for tp in partitions]
        raw = await self.backoff.call(
            "reading the intake's positions",
            lambda: client.hgetall(positions_key(self.group, self.topic)),
        )
        record = {_text(k): int(_text(v)) for k, v in raw.items()}
        recorded = {  # (partition, livestream) -> its watermark when the record was written
            (int(p), live): mark
            for p, _, live in (field.partition(":") for field in record)
            if live and int(p) in numbers
            for mark in (record[f"{p}:{live}"],)
        }
        missing = [p for p in numbers if str(p) not in record]
        if missing:  # no record of these: every livestream's watermark is the fallback
            shops = await self.backoff.call("reading the livestreams", store.registered_livestreams)
        else:
            ids = sorted({live for _, live in recorded})
            shops = await self.backoff.call("reading the livestreams", lambda: store.shops_of(ids))
        stored = await self.backoff.call(
            "reading the watermarks", lambda: store.watermarks(shops, numbers)
        )
        self.known.forget(numbers)
        for livestream_id, by_partition in stored.items():
            self.known.update(livestream_id, by_partition)
        for tp in partitions:
            if tp not in self._assigned():
                continue  # taken by a rebalance while the store was read: its owner seeks it
            p = tp.partition
            went_back = [
                now
                for (q, live), mark in recorded.items()
                if q == p and (now := stored.get(live, {}).get(p, -1)) < mark
            ]
            committed = await consumer.committed(tp)
            marks = [by_partition[p] for by_partition in stored.values() if p in by_partition]
            offset = resume_offset(committed, record.get(str(p)), went_back, marks)
            if offset is None:
                # Nothing applied or committed yet: the start. Not "leave the consumer where it
                # is": it may have fetched records of this partition already, that the loop
                # dropped for the epoch they came in (a batch fetched across an assignment),
                # and they would be skipped (two workers starting together lost comments so).
                with contextlib.suppress(IllegalStateError):  # revoked meanwhile
                    await consumer.seek_to_beginning(tp)
                continue
            if offset != committed:
                log.warning(
                    "partition %d resumes at %d, the store's position (Kafka's committed "
                    "offset: %s)",
                    p,
                    offset,
                    committed,
                )
            with contextlib.suppress(IllegalStateError):  # revoked meanwhile
                consumer.seek(tp, offset)

    def _observe_lag(self, ends: Mapping[TopicPartition, int]) -> None:
        if self._consumer is not None:
            for tp, lag in lags(self._consumer, ends):
                metrics.CONSUMER_LAG.labels(str(tp.partition)).set(lag)

    # -- rebalancing ----------------------------------------------------------------------

    async def revoked(self, partitions: set[TopicPartition]) -> None:
        """Finish the batch in flight (its partitions are ours until this returns), commit."""
        self._epoch += 1
        await self._settle(limit=30)
        await self._books_kept(limit=10)
        await self._commit_kafka(force=True)
        self.known.forget(tp.partition for tp in partitions)


def _flat(fields: Mapping[str, int]) -> list[str]:
    return [text for name, value in fields.items() for text in (name, str(value))]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
