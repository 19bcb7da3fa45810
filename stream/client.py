"""Sending a staff command through Kafka and waiting for its outcome: the one command client,
used by the command line (`cli/`) and the web API (`web/`).

The command goes to `chotdon.order-commands` like any other client's; the worker's command
agent applies it and publishes the outcome on `chotdon.command-outcomes`. The client starts
reading the outcomes topic at its end *before* sending, so the outcome cannot slip past it, and
returns when the outcome with its command id arrives.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from config.settings import Settings
from orders.commands import Outcome

DEFAULT_TIMEOUT = 30.0


class NoOutcome(Exception):
    """No outcome arrived in time: the command may still be applied later (it waits in Kafka)."""


def new_command_id() -> str:
    return uuid.uuid4().hex


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


async def send_command(
    settings: Settings, command: Any, wait_seconds: float = DEFAULT_TIMEOUT
) -> Outcome:
    """Send `command` (a model of orders/commands.py) and return its outcome."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    topic = settings.topics.command_outcomes
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka, enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka, acks="all")
    try:
        await consumer.start()
        await producer.start()
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            partitions = set(await _partitions(consumer, topic))
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:  # resolve the end offsets now, before the command can be applied
            await consumer.position(tp)
        value = orjson.dumps(command.model_dump(mode="json"))
        await producer.send_and_wait(
            settings.topics.order_commands, value, key=command.key.encode()
        )
        return await _await_outcome(consumer, command.command_id, wait_seconds)
    finally:
        await producer.stop()
        await consumer.stop()


async def _partitions(consumer: Any, topic: str) -> Iterable[int]:
    await consumer._client.force_metadata_update()  # the topic may be new to this client
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise NoOutcome(f"topic {topic} does not exist: run `chotdon stack up` (or the worker)")
    return set(partitions)


async def _await_outcome(consumer: Any, command_id: str, wait_seconds: float) -> Outcome:
    deadline = time.monotonic() + wait_seconds
    while (left := deadline - time.monotonic()) > 0:
        batches = await consumer.getmany(timeout_ms=int(min(left, 1.0) * 1000))
        for records in batches.values():
            for record in records:
                if record.value and orjson.loads(record.value).get("command_id") == command_id:
                    return Outcome.model_validate_json(record.value)
    raise NoOutcome(
        f"no outcome for command {command_id} within {wait_seconds:.0f} s: is a worker running "
        "(`chotdon worker`)? The command waits in Kafka and is applied when one is."
    )
