"""The command agent's positions on a real Redis Cluster, with commands read back from the real
Kafka: a shard that lost its last writes while the record's shard kept its own is found by the
scope's mark, and the commands from just after that mark are applied again, in their order.

A shard "losing its last writes" is what a failover to a lagging replica leaves: the scope's
keys as they were some writes ago. The test puts them back that way by hand (the failover
itself is the fault suite's: tests/faults/test_cluster_faults.py)."""

from __future__ import annotations

import pytest
import redis.asyncio
from aiokafka import AIOKafkaProducer
from redis.crc import key_slot

from config.settings import Settings
from stream.command_positions import (
    PRUNE_BEHIND,
    PRUNE_EVERY,
    CommandPositions,
    Scope,
    kafka_fetch,
    mark_key,
    positions_key,
    scopes_key,
)
from stream.pipeline import Backoff, Record

pytestmark = pytest.mark.timeout(120)

LIVE: Scope = ("shop-a", "live-1")
SHOP: Scope = ("shop-a", None)


def _effects_key(scope: Scope) -> str:
    return f"{mark_key(scope)}:test-effects" if scope[1] is None else f"{mark_key(LIVE)}-effects"


class Commands:
    """A stand-in for the command processor: each record writes its offset into one scope
    (even offsets the livestream's, odd ones the shop's), idempotently, and says where."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client
        self.handled: list[int] = []
        self.touched: set[Scope] = set()

    async def handle(self, record: Record) -> None:
        scope = LIVE if record.offset % 2 == 0 else SHOP
        self.touched = {scope}
        self.handled.append(record.offset)
        await self.client.hset(_effects_key(scope), str(record.offset), "1")

    async def effects(self, scope: Scope) -> list[int]:
        return sorted(int(k) for k in await self.client.hkeys(_effects_key(scope)))


async def _records(settings: Settings, count: int) -> list[Record]:
    topic = settings.topics.order_commands
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka, acks="all")
    await producer.start()
    try:
        sent = [await producer.send_and_wait(topic, b"{}", partition=0) for _ in range(count)]
    finally:
        await producer.stop()
    return [Record(topic, 0, meta.offset, None, b"{}") for meta in sent]


async def _setup(
    settings: Settings, client: redis.asyncio.Redis
) -> tuple[Commands, CommandPositions, str]:
    await client.hset(mark_key(LIVE), "seq", 0)  # a registered livestream has its meta
    commands = Commands(client)
    key = positions_key(settings.app_id, settings.topics.order_commands)
    fetch = kafka_fetch(settings.kafka)
    positions = CommandPositions(client, key, fetch, Backoff(), lambda: commands.touched)
    return commands, positions, key


def test_the_scopes_of_a_partition_share_the_records_slot() -> None:
    key = positions_key("chotdon", "chotdon.order-commands")
    assert key_slot(scopes_key(key, 3).encode()) == key_slot(key.encode())


async def test_a_scope_whose_shard_went_back_gets_its_commands_again_in_order(
    kafka_settings: Settings, cluster_client: redis.asyncio.Redis
) -> None:
    records = await _records(kafka_settings, 7)
    commands, positions, _ = await _setup(kafka_settings, cluster_client)
    for record in records[:6]:
        await positions.handle(record, commands.handle)
    assert await commands.effects(LIVE) == [0, 2, 4]
    # The livestream's shard fails over to a replica that had its writes up to offset 2's.
    field = positions._mark_field(0)
    await cluster_client.hdel(_effects_key(LIVE), "4")
    await cluster_client.hset(mark_key(LIVE), field, "2")
    commands.handled.clear()

    await positions.handle(records[6], commands.handle)

    assert commands.handled == [3, 4, 5, 6]  # from just after the scope's mark, in order
    assert await commands.effects(LIVE) == [0, 2, 4, 6]
    assert await commands.effects(SHOP) == [1, 3, 5]
    assert await cluster_client.hget(mark_key(LIVE), field) == b"6"


async def test_a_scope_that_lost_every_mark_is_replayed_from_the_first_it_was_marked_at(
    kafka_settings: Settings, cluster_client: redis.asyncio.Redis
) -> None:
    records = await _records(kafka_settings, 6)
    commands, positions, _ = await _setup(kafka_settings, cluster_client)
    for record in records[:5]:
        await positions.handle(record, commands.handle)
    # The shop's shard lost everything this agent ever wrote there (offsets 1 and 3).
    await cluster_client.delete(_effects_key(SHOP), mark_key(SHOP))
    commands.handled.clear()

    await positions.handle(records[5], commands.handle)

    assert commands.handled == [1, 2, 3, 4, 5]
    assert await commands.effects(SHOP) == [1, 3, 5]


async def test_nothing_is_applied_again_when_every_shard_kept_its_writes(
    kafka_settings: Settings, cluster_client: redis.asyncio.Redis
) -> None:
    records = await _records(kafka_settings, 5)
    commands, positions, _ = await _setup(kafka_settings, cluster_client)
    for record in records:
        await positions.handle(record, commands.handle)
    assert commands.handled == [0, 1, 2, 3, 4]


async def test_a_livestream_whose_keys_expired_is_neither_recreated_nor_replayed(
    kafka_settings: Settings, cluster_client: redis.asyncio.Redis
) -> None:
    records = await _records(kafka_settings, 4)
    commands, positions, _ = await _setup(kafka_settings, cluster_client)
    for record in records[:3]:
        await positions.handle(record, commands.handle)
    await cluster_client.delete(mark_key(LIVE))  # its retention ended
    commands.handled.clear()

    await positions.handle(records[3], commands.handle)

    assert commands.handled == [3]
    commands.touched = {LIVE}
    await positions._mark(0, 4, {})
    assert not await cluster_client.exists(mark_key(LIVE))


async def test_scopes_marked_long_ago_are_pruned_from_the_record(
    kafka_settings: Settings, cluster_client: redis.asyncio.Redis
) -> None:
    _, positions, key = await _setup(kafka_settings, cluster_client)
    old, recent = mark_key(SHOP), mark_key(LIVE)
    late = PRUNE_EVERY * (PRUNE_BEHIND // PRUNE_EVERY + 2)
    assert (await positions._advance(0, None, 100, [old]))[0]
    assert (await positions._advance(0, 100, late, [recent]))[0]
    kept = await cluster_client.hgetall(scopes_key(key, 0))
    assert kept == {recent.encode(): f"{late}:{late}".encode()}
