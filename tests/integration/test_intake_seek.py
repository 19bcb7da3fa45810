"""The comment intake's seek to the store's positions, on the real Kafka and Redis.

Two workers starting together lost comments: one worker's `getmany` fetched records of a
partition just assigned to it, the loop dropped them for the epoch they came in (the batch
straddled an assignment), and with nothing applied or committed yet the seek left the consumer
where the dropped fetch had put it, past them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import TopicPartition
from live_processes import ON_BOTH_STORES, live
from live_support import comment, produce, unique, wait_for

from config.settings import Settings
from stream.intake import CommentIntake

__all__ = ["live"]

pytestmark = [pytest.mark.timeout(120), ON_BOTH_STORES]


async def _publish(messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
    raise AssertionError("nothing is applied in this test")


def _intake(settings: Settings) -> CommentIntake:
    return CommentIntake(settings, _publish, batch_size=500, stop_worker=_fail)


def _fail(exc: BaseException) -> None:
    raise AssertionError(f"the intake stopped the worker: {exc!r}")


async def test_records_fetched_before_a_seek_are_read_again_when_nothing_was_applied_yet(
    live: Settings,
) -> None:
    livestream = unique("seek")
    start = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)
    comments = [comment(f"s{n}", f"u{n}", "chốt K2", start + timedelta(seconds=n),
                        livestream_id=livestream) for n in range(50)]  # fmt: skip
    sent = await produce(live, comments)
    partition = sent[0][0]
    intake = _intake(live)
    await intake.on_start()
    consumer = intake._consumer
    assert consumer is not None
    try:
        fetched: list[int] = []

        async def fetched_all() -> bool:  # the fetch a dropped batch had made
            batches = await consumer.getmany(timeout_ms=200)
            fetched.extend(r.offset for batch in batches.values() for r in batch)
            return len(fetched) >= len(comments)

        await wait_for(fetched_all, "the intake's consumer fetching every comment")
        tp = TopicPartition(live.topics.comments, partition)
        assert await consumer.position(tp) == sent[-1][1] + 1
        intake._to_seek |= intake._assigned()  # what an assignment or WatermarkBehind asks
        await intake._seek_to_store()
        assert await consumer.position(tp) == 0  # nothing applied, nothing committed: the start
        again = await consumer.getmany(tp, timeout_ms=5_000)
        assert [r.offset for r in again[tp]][:1] == [0]
    finally:
        await consumer.stop()
        if intake._client is not None:
            await intake._client.aclose()
