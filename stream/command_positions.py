"""Where the command agent resumes is the store's to say, as for comments (stream/intake.py).

A staff command's effects and its outcome are written to Redis together, and a redelivered
command answers its stored outcome: that is what makes commands effectively-once. Kafka's
committed offset alone cannot keep that promise when Redis loses its last writes (a restart
from an `appendfsync everysec` AOF, a failover to a lagging replica): the offsets of commands
whose effects Redis lost are committed already, and faust would never hand them out again.

So after each command the agent records, in Redis, the last offset of each partition whose
command it applied and published (`positions_key`). Before handling a record it reads that
position: if the store is behind the record (Redis went back, or Kafka's committed offset is
ahead of what the store kept), the commands in between are read again from Kafka with a
consumer of their own and applied first, in their order, and only then the record itself.
Applying again what the store still has changes nothing (the outcome by `command_id`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition

from stream.pipeline import Backoff, Record

log = logging.getLogger("chotdon.commands")

Handle = Callable[[Record], Awaitable[Any]]
Fetch = Callable[[str, int, int, int], Awaitable[list[Record]]]


def positions_key(app_id: str, topic: str) -> str:
    """The command agent's record of what it applied, per partition (outside every hash tag)."""
    return f"chotdon:commands:{app_id}:{topic}"


def missed_offsets(stored: int | None, since: int | None, offset: int) -> range:
    """The offsets before `offset` whose commands the store may have lost; empty for none.

    `stored`: the last offset the store says was applied on the partition (None: no record);
    `since`: the first offset this agent handled on the partition (None: it has handled none),
    where to go back to if Redis lost even the record. Without either there is nothing to go
    back to: a new deployment reads from where Kafka's committed offset says.
    """
    if stored is not None:
        start = stored + 1
    elif since is not None:
        start = since
    else:
        return range(0)
    return range(start, offset)


# Written only over the value the agent read before the command, and never backwards: a
# different value means Redis went back (or another worker moved it) while the command ran.
_ADVANCE = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then return {0, current or ''} end
if current == false or tonumber(ARGV[3]) > tonumber(current) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
return {1, ARGV[3]}
"""


class CommandPositions:
    """The check before each command and the record after it (module docstring)."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        key: str,
        fetch: Fetch,
        backoff: Backoff,
    ) -> None:
        self.client = client
        self.key = key
        self.fetch = fetch  # reads a topic's records [start, end) of one partition from Kafka
        self.backoff = backoff
        self._since: dict[int, int] = {}
        self._advance_script = client.register_script(_ADVANCE)

    async def handle(self, record: Record, handle: Handle) -> Any:
        """Apply what the store lost before `record`, then `record`, then record where it is."""
        partition = record.partition
        self._since.setdefault(partition, record.offset)
        stored = await self._catch_up(record, await self._stored(partition), record.offset, handle)
        result = await handle(record)
        while True:
            written, stored = await self._advance(partition, stored, record.offset)
            if written:
                return result
            # Redis went back while the command was applied: its effects may be gone as well
            # as those before it; all of them are applied again, in their order.
            stored = await self._catch_up(record, stored, record.offset + 1, handle)

    async def _catch_up(
        self, record: Record, stored: int | None, end: int, handle: Handle
    ) -> int | None:
        """Apply again the commands the store may have lost before offset `end`; returns the
        position the store holds afterwards."""
        while missed := missed_offsets(stored, self._since.get(record.partition), end):
            log.warning(
                "the store is behind the command agent on %s[%d]: it kept offset %s, the agent "
                "is at %d; applying the %d commands in between again first",
                record.topic, record.partition, stored, end, len(missed),
            )  # fmt: skip
            topic, partition = record.topic, record.partition
            for earlier in await self.fetch(topic, partition, missed.start, missed.stop):
                await handle(earlier)
                written, stored = await self._advance(earlier.partition, stored, earlier.offset)
                if not written:
                    break  # Redis went back again meanwhile: start over from where it is now
            else:
                return stored
        return stored

    async def _stored(self, partition: int) -> int | None:
        raw = await self.backoff.call(
            "reading the command agent's position",
            lambda: self.client.hget(self.key, str(partition)),
        )
        return None if raw is None else int(raw)

    async def _advance(
        self, partition: int, expected: int | None, offset: int
    ) -> tuple[bool, int | None]:
        """Record `offset` as applied if the store still holds `expected`: (True, the position
        now), or (False, what the store holds instead)."""
        written, current = await self.backoff.call(
            "recording the command agent's position",
            lambda: self._advance_script(
                keys=[self.key],
                args=[str(partition), "" if expected is None else str(expected), str(offset)],
            ),
        )
        position = None if current in (b"", "") else int(current)
        if int(written):
            return True, max(offset, expected if expected is not None else offset)
        return False, position


def kafka_fetch(bootstrap: str, request_timeout: float = 30.0) -> Fetch:
    """Read records [start, end) of one partition with a consumer outside every group (it
    commits nothing and takes no partition from the agents)."""

    async def fetch(topic: str, partition: int, start: int, end: int) -> list[Record]:
        tp = TopicPartition(topic, partition)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            request_timeout_ms=int(request_timeout * 1000),
        )
        await consumer.start()
        records: list[Record] = []
        try:
            consumer.assign([tp])
            beginning = (await consumer.beginning_offsets([tp]))[tp]
            if beginning > start:
                log.error(
                    "commands %d-%d of %s[%d] are gone from Kafka (retention): they cannot be "
                    "applied again",
                    start, beginning - 1, topic, partition,
                )  # fmt: skip
            consumer.seek(tp, max(start, beginning))
            position = max(start, beginning)
            while position < end:
                fetched = await consumer.getmany(tp, timeout_ms=1000, max_records=500)
                for message in fetched.get(tp, []):
                    if message.offset >= end:
                        break
                    records.append(Record(message.topic, message.partition, message.offset,
                                          message.key, message.value))  # fmt: skip
                position = await consumer.position(tp)
        finally:
            await consumer.stop()
        return records

    return fetch
