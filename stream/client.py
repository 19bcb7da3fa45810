"""Sending staff commands through Kafka and waiting for their outcomes: the one command client,
used by the command line (`cli/`, one command per client) and the web API (`web/`, one client
for the life of the server).

A command goes to `chotdon.order-commands` like any other client's; the worker's command agent
applies it and publishes the outcome on `chotdon.command-outcomes`. The client reads the
outcomes topic from its end, positioned *before* the first command is sent, so no outcome can
slip past it, and hands each outcome to whoever waits for its command id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import orjson

from config.settings import Settings
from orders.commands import Outcome

DEFAULT_TIMEOUT = 30.0
log = logging.getLogger("chotdon.client")


class NoOutcome(Exception):
    """No outcome arrived in time: the command may still be applied later (it waits in Kafka)."""


def new_command_id() -> str:
    return uuid.uuid4().hex


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class CommandClient:
    """One producer and one reader of the outcomes topic, for any number of commands at once."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: Any = None
        self._consumer: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: dict[str, list[asyncio.Future[Outcome]]] = {}

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

        topic = self._settings.topics.command_outcomes
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka, enable_auto_commit=False
        )
        self._producer = AIOKafkaProducer(bootstrap_servers=self._settings.kafka, acks="all")
        try:
            await self._consumer.start()
            await self._producer.start()
            partitions = await _partitions(self._consumer, topic)
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            self._consumer.assign(tps)
            await self._consumer.seek_to_end(*tps)
            for tp in tps:  # resolve the end offsets now, before any command can be applied
                await self._consumer.position(tp)
        except BaseException:
            await self.stop()
            raise
        self._reader = asyncio.create_task(self._read(), name="chotdon-outcomes")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        for futures in self._waiting.values():
            for future in futures:
                if not future.done():
                    future.set_exception(NoOutcome("the command client stopped"))
        if self._producer is not None:
            await self._producer.stop()
        if self._consumer is not None:
            await self._consumer.stop()

    async def ping(self) -> None:
        """A metadata round trip to the brokers (raises when none answers)."""
        if not await self._consumer._client.fetch_all_metadata():
            raise ConnectionError("no metadata from Kafka")

    async def send(self, command: Any, wait_seconds: float = DEFAULT_TIMEOUT) -> Outcome:
        """Send `command` (a model of orders/commands.py) and return its outcome."""
        if self._reader is None:
            raise RuntimeError("CommandClient.send before start()")
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(command.command_id, []).append(future)
        try:
            value = orjson.dumps(command.model_dump(mode="json"))
            await self._producer.send_and_wait(
                self._settings.topics.order_commands, value, key=command.key.encode()
            )
            return await asyncio.wait_for(asyncio.shield(future), wait_seconds)
        except TimeoutError:
            raise NoOutcome(
                f"no outcome for command {command.command_id} within {wait_seconds:.0f} s: is a "
                "worker running (`chotdon worker`)? The command waits in Kafka and is applied "
                "when one is."
            ) from None
        finally:
            futures = self._waiting.get(command.command_id, [])
            if future in futures:
                futures.remove(future)
            if not futures:
                self._waiting.pop(command.command_id, None)

    async def _read(self) -> None:
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=1000)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the broker away: aiokafka reconnects; keep reading
                log.warning("reading command outcomes: %s", error)
                await asyncio.sleep(1.0)
                continue
            for records in batches.values():
                for record in records:
                    self._deliver(record.value)

    def _deliver(self, value: bytes | None) -> None:
        if not value:
            return
        try:
            command_id = orjson.loads(value).get("command_id")
        except orjson.JSONDecodeError:
            return
        futures = self._waiting.get(command_id) if isinstance(command_id, str) else None
        if not futures:
            return
        outcome = Outcome.model_validate_json(value)
        for future in futures:
            if not future.done():
                future.set_result(outcome)


async def send_command(
    settings: Settings, command: Any, wait_seconds: float = DEFAULT_TIMEOUT
) -> Outcome:
    """Send one command and return its outcome (a client for just this command)."""
    async with CommandClient(settings) as client:
        return await client.send(command, wait_seconds)


async def _partitions(consumer: Any, topic: str) -> set[int]:
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        await consumer._client.force_metadata_update()  # the topic may be new to this client
        partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise NoOutcome(f"topic {topic} does not exist: run `chotdon stack up` (or the worker)")
    return set(partitions)
