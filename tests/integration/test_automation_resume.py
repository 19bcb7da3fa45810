"""Where the automation intake starts and hands over reading, on the real Kafka and Redis.

The automation agent was a faust agent in the agents' group (`app_id`); the intake reads in a
group of its own, which on the first start after the upgrade has no committed offsets. Read
from the topics' start, it would run the rules again on every old event. It starts where the
agents' group stood, its own commits come first once it has them, and what neither group
committed is read from the start. A member whose partitions a rebalance takes commits what it
handled first; a failure that is not Redis stops the worker with nothing committed past it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from live_processes import ON_BOTH_STORES, live
from live_support import ids_on_distinct_partitions, partitions_of, produce, wait_for

from config.settings import Settings
from orders.connection import redis_client
from orders.shop.store import ShopStore
from stream import consuming
from stream.automation import AutomationProcessor
from stream.automation_intake import AutomationIntake, automation_group
from stream.pipeline import Record

__all__ = ["live"]

pytestmark = [pytest.mark.timeout(120), ON_BOTH_STORES]


class Recording(AutomationProcessor):
    """Notes what it is handed, in order; plans nothing."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(ShopStore(redis_client(settings.redis)), _publish, settings.topics)
        self.handled: list[tuple[str, int, int]] = []

    async def handle(self, record: Record) -> list[Any]:
        self.handled.append((record.topic, record.partition, record.offset))
        return []


async def _publish(messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
    raise AssertionError("nothing is planned in this test")


def _fail(exc: BaseException) -> None:
    raise AssertionError(f"the automation intake stopped the worker: {exc!r}")


async def _events(
    settings: Settings, topic: str, key: str, count: int
) -> tuple[TopicPartition, list[int]]:
    """`count` events of one key on `topic`: their partition and offsets."""
    events = [(key.encode(), orjson.dumps({"kind": "noted", "n": n})) for n in range(count)]
    sent = await produce(settings, events, topic=topic)
    assert len({partition for partition, _offset in sent}) == 1
    return TopicPartition(topic, sent[0][0]), [offset for _partition, offset in sent]


async def _commit(settings: Settings, group: str, offsets: dict[TopicPartition, int]) -> None:
    """What a group's members had committed (the group has none now)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


async def _committed(settings: Settings, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def test_the_first_start_resumes_where_the_agents_group_stood_not_at_the_start(
    live: Settings,
) -> None:
    orders, drafts = live.topics.order_events, live.topics.draft_events
    # three partitions' histories: the agents' group had handled 4 of 6 order events; the
    # intake's own group (an earlier start) had handled 5 draft events of 7, where the agents'
    # group stood at 2; nobody had committed the third
    live_1, live_2 = ids_on_distinct_partitions("live", 2, len(await partitions_of(live, drafts)))
    order_tp, order_offsets = await _events(live, orders, "order-1", 6)
    draft_tp, draft_offsets = await _events(live, drafts, live_1, 7)
    fresh_tp, fresh_offsets = await _events(live, drafts, live_2, 3)
    await _commit(live, live.app_id, {order_tp: 4, draft_tp: 2})
    await _commit(live, automation_group(live.app_id), {draft_tp: 5})

    intake = AutomationIntake(live, _publish, batch_size=500, stop_worker=_fail)
    recording = Recording(live)
    await intake.on_start()
    intake._processor = recording
    await intake.on_started()
    try:
        wanted = (
            [(orders, order_tp.partition, o) for o in order_offsets[4:]]
            + [(drafts, draft_tp.partition, o) for o in draft_offsets[5:]]
            + [(drafts, fresh_tp.partition, o) for o in fresh_offsets]
        )

        async def handled_old() -> bool:
            return len(recording.handled) >= len(wanted)

        await wait_for(handled_old, "the events no group had handled")
        # and what comes after the start, too
        _, later = await _events(live, orders, "order-1", 2)
        wanted += [(orders, order_tp.partition, o) for o in later]

        async def handled_all() -> bool:
            return len(recording.handled) >= len(wanted)

        await wait_for(handled_all, "the events produced after the start")
        assert sorted(recording.handled) == sorted(wanted)
        # in order per partition
        for tp in (order_tp, draft_tp, fresh_tp):
            mine = [o for t, p, o in recording.handled if (t, p) == (tp.topic, tp.partition)]
            assert mine == sorted(mine)

        want_commits = {order_tp: later[-1] + 1, draft_tp: 7, fresh_tp: 3}

        async def committed() -> bool:
            found = await _committed(live, automation_group(live.app_id))
            return all(found.get(tp) == end for tp, end in want_commits.items())

        await wait_for(committed, "the intake's commits past what it handled")
    finally:
        await intake.stop()
    # the agents' group is left as it was: the intake reads its offsets, never writes them
    assert await _committed(live, live.app_id) == {order_tp: 4, draft_tp: 2}


class Failing(Recording):
    """A bug in the rules' code on the second record it is handed."""

    async def handle(self, record: Record) -> list[Any]:
        await super().handle(record)
        if len(self.handled) == 2:
            raise ValueError("a bug")
        return []


async def test_a_failure_that_is_not_redis_stops_the_worker_with_nothing_committed(
    live: Settings,
) -> None:
    order_tp, offsets = await _events(live, live.topics.order_events, "order-2", 3)
    stopped: list[BaseException] = []
    intake = AutomationIntake(live, _publish, batch_size=500, stop_worker=stopped.append)
    failing = Failing(live)
    await intake.on_start()
    intake._processor = failing
    await intake.on_started()
    try:

        async def stopped_it() -> bool:
            return bool(stopped)

        await wait_for(stopped_it, "the intake stopping the worker")
    finally:
        await intake.stop()
    assert [type(exc) for exc in stopped] == [ValueError]
    assert failing.handled == [(order_tp.topic, order_tp.partition, o) for o in offsets[:2]]
    # nothing past the failure, nor the record before it (its fetch did not finish), is
    # committed: the next owner reads them again, and their commands act once
    assert order_tp not in await _committed(live, automation_group(live.app_id))


async def test_a_rebalance_hands_over_where_the_first_member_stopped(
    live: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only forced commits (a revocation, a stop): what the second member reads shows what the
    # first committed when its partitions were taken.
    monkeypatch.setattr(consuming, "COMMIT_EVERY", 3600.0)
    drafts = live.topics.draft_events
    keys = ids_on_distinct_partitions("live", 4, len(await partitions_of(live, drafts)))
    before = [await _events(live, drafts, key, 5) for key in keys]
    first, second = Recording(live), Recording(live)
    intakes = []
    try:
        for recording in (first, second):
            intake = AutomationIntake(live, _publish, batch_size=500, stop_worker=_fail)
            await intake.on_start()
            intake._processor = recording
            await intake.on_started()
            intakes.append(intake)
            if recording is first:

                async def first_read_all() -> bool:
                    return len(first.handled) >= 5 * len(keys)

                await wait_for(first_read_all, "the first member reading every event")

        async def shared() -> bool:  # the group rebalanced: each member has partitions
            return all(intake._assigned() for intake in intakes) and not any(
                intake._to_seek for intake in intakes
            )

        await wait_for(shared, "the group sharing the partitions between its two members")
        after = [await _events(live, drafts, key, 3) for key in keys]

        async def read_the_rest() -> bool:
            return len(first.handled) + len(second.handled) >= 8 * len(keys)

        await wait_for(read_the_rest, "the events produced after the rebalance")
    finally:
        for intake in intakes:
            await intake.stop()
    old = {(tp.topic, tp.partition, o) for tp, offsets in before for o in offsets}
    new = {(tp.topic, tp.partition, o) for tp, offsets in after for o in offsets}
    assert sorted(first.handled) == sorted(set(first.handled))  # nothing twice
    assert not old & set(second.handled), "read again what the first member had committed"
    assert set(first.handled) | set(second.handled) == old | new
