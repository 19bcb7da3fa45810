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

On a Redis Cluster the record lives on one shard and a command's effects on others (the
livestream's and the shop's hash tags): a failover can take a shard's last writes while the
record's shard keeps its own. So there, after each command, the agent also marks the offset in
every scope the command wrote in (`mark_key`: a key in that scope's hash tag, written after the
command's effects, so a shard that lost the effects lost the mark too), and the record keeps,
per scope, the first and last offset it marked there. Before each command the marks of the
partition's recorded scopes are read: a scope whose mark is behind the record's resumes the
replay from just after its mark. A single Redis loses a suffix of its writes, the record's
among them, so there the record alone says it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import redis.asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition
from redis.asyncio.cluster import RedisCluster

from orders.shop.store import shop_prefix
from orders.shop.store.transaction import as_text
from orders.store import livestream_prefix
from stream.pipeline import Backoff, Record

log = logging.getLogger("chotdon.commands")

Handle = Callable[[Record], Awaitable[Any]]
Fetch = Callable[[str, int, int, int], Awaitable[list[Record]]]
Scope = tuple[str, str | None]  # (shop id, livestream id; None for the shop's own keys)
Scopes = Callable[[], Collection[Scope]]  # where the command just handled wrote
PRUNE_EVERY = 256  # offsets between two prunings of a partition's scopes in the record
PRUNE_BEHIND = 10_000  # a scope last marked this many commands ago is no longer compared


def positions_key(app_id: str, topic: str) -> str:
    """The command agent's record of what it applied, per partition (outside every hash tag)."""
    return f"chotdon:commands:{app_id}:{topic}"


def mark_key(scope: Scope) -> str:
    """The key, in the scope's hash tag, that holds the agent's marks there: a livestream's meta
    (it expires with the livestream), the shop's `command-marks` hash."""
    shop_id, livestream_id = scope
    if livestream_id is None:
        return f"{shop_prefix(shop_id)}:command-marks"
    return f"{livestream_prefix(shop_id, livestream_id)}:meta"


def expires(mark: str) -> bool:
    """Whether a mark key goes with its livestream's retention (a shop's keys stay): when it is
    gone, nothing of the livestream is left to apply commands to again."""
    return mark.endswith(":meta")


def missed_offsets(
    stored: int | None, since: int | None, offset: int, lost_from: int | None = None
) -> range:
    """The offsets before `offset` whose commands the store may have lost; empty for none.

    `stored`: the last offset the store says was applied on the partition (None: no record);
    `since`: the first offset this agent handled on the partition (None: it has handled none),
    where to go back to if Redis lost even the record. Without either there is nothing to go
    back to: a new deployment reads from where Kafka's committed offset says. `lost_from`: the
    first offset a shard other than the record's may have lost (`scopes_lost_from`).
    """
    if stored is not None:
        start = stored + 1
    elif since is not None:
        start = since
    else:
        return range(0)
    if lost_from is not None:
        start = min(start, lost_from)
    return range(start, offset)


def scopes_lost_from(
    recorded: Mapping[str, tuple[int, int]], marks: Mapping[str, int | None]
) -> int | None:
    """The first offset whose effects a scope's shard may have lost; None: none lost.

    `recorded`: per mark key, the first and last offset the record says were marked there;
    `marks`: what each key holds now (None: no mark, or a shop's key gone: everything since the
    first offset may be lost). A key that is not in `marks` is a livestream gone as a whole
    (its retention ended): nothing of it to apply commands to again.
    """
    lost = [
        first if mark is None else mark + 1
        for key, (first, last) in recorded.items()
        if key in marks
        for mark in (marks[key],)
        if mark is None or mark < last
    ]
    return min(lost, default=None)


def scopes_key(positions: str, partition: int) -> str:
    """The record's scopes of one partition: mark key -> "<first>:<last>" offsets marked there.
    Its hash tag is the record's whole name, so both are in one slot (Lua sees them together)."""
    return f"{{{positions}}}:scopes:{partition}"


# Both read in one round trip: the partition's position and its scopes.
_READ = """
return {redis.call('HGET', KEYS[1], ARGV[1]) or '', redis.call('HGETALL', KEYS[2])}
"""

# Written only over the value the agent read before the command, and never backwards: a
# different value means Redis went back (or another worker moved it) while the command ran.
# ARGV[4]: '1' to prune the scopes last marked before offset ARGV[5]; ARGV[6..]: the mark keys
# of the scopes the command marked, each kept in KEYS[2] as "<first>:<last>".
_ADVANCE = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then return {0, current or ''} end
local offset = tonumber(ARGV[3])
if current == false or offset > tonumber(current) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
for i = 6, #ARGV do
  local first, last = string.match(redis.call('HGET', KEYS[2], ARGV[i]) or '', '^(%d+):(%d+)$')
  if not first then
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[3] .. ':' .. ARGV[3])
  elseif offset > tonumber(last) then
    redis.call('HSET', KEYS[2], ARGV[i], first .. ':' .. ARGV[3])
  end
end
if ARGV[4] == '1' then
  local flat = redis.call('HGETALL', KEYS[2])
  for i = 1, #flat, 2 do
    local last = tonumber(string.match(flat[i + 1], ':(%d+)$'))
    if last and last < tonumber(ARGV[5]) then redis.call('HDEL', KEYS[2], flat[i]) end
  end
end
return {1, ARGV[3]}
"""

# A scope's mark, never backwards, and only over the value the attempt read there (ARGV[4]:
# '' for none read, 'none' for no mark): a different one means the shard went back since. A
# livestream's meta is never created by it (a livestream whose retention ended stays gone).
# Returns 1 written, 0 no such livestream, -1 the shard went back.
_MARK = """
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[4] ~= '' and (current or 'none') ~= ARGV[4] then return -1 end
if not current or tonumber(ARGV[2]) > tonumber(current) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 1
"""
# Read back as -2: no such key, -1: no mark.
_MARK_READ = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
return tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
"""


class ShardWentBack(Exception):
    """A scope's mark is not what this attempt read there: its shard went back meanwhile."""


class CommandPositions:
    """The check before each command and the record after it (module docstring).

    Each command is one attempt: read the store's positions (and the scopes' marks), apply
    what the store lost, apply the command, mark it, record it. Redis away anywhere in it (or
    a shard found gone back) starts the attempt over, from the reading: a store that came back
    older must be looked at again before anything is applied to it, or a command would land on
    it ahead of the earlier ones it lost. So nothing in an attempt retries on its own: the
    processor's store calls and the Redis client do not (stream/app.py, `retries=False`)."""

    def __init__(
        self,
        client: redis.asyncio.Redis | RedisCluster,
        key: str,
        fetch: Fetch,
        backoff: Backoff,
        scopes: Scopes | None = None,
    ) -> None:
        self.client = client
        self.key = key
        self.fetch = fetch  # reads a topic's records [start, end) of one partition from Kafka
        self.backoff = backoff  # between attempts
        # Only a cluster splits a command's effects from the record (module docstring).
        self.scopes = scopes if isinstance(client, RedisCluster) else None
        self._since: dict[int, int] = {}
        self._read_script = client.register_script(_READ)
        self._advance_script = client.register_script(_ADVANCE)
        self._mark_script = client.register_script(_MARK)
        self._mark_read_script = client.register_script(_MARK_READ)

    async def handle(self, record: Record, handle: Handle) -> Any:
        """Apply what the store lost before `record`, then `record`, then record where it is."""
        self._since.setdefault(record.partition, record.offset)
        where = f"command {record.topic}[{record.partition}]@{record.offset}"
        return await self.backoff.call(where, lambda: self._attempts(record, handle))

    async def _attempts(self, record: Record, handle: Handle) -> Any:
        while True:
            try:
                return await self._attempt(record, handle)
            except ShardWentBack as exc:
                log.warning("%s: looking at the store again before the command", exc)

    async def _attempt(self, record: Record, handle: Handle) -> Any:
        partition = record.partition
        stored, lost_from, marks = await self._stored(partition)
        stored = await self._catch_up(record, stored, record.offset, handle, marks, lost_from)
        result = await handle(record)
        marked = await self._mark(partition, record.offset, marks)
        while True:
            written, stored = await self._advance(partition, stored, record.offset, marked)
            if written:
                return result
            # Redis went back while the command was applied: its effects may be gone as well
            # as those before it; all of them are applied again, in their order.
            stored = await self._catch_up(record, stored, record.offset + 1, handle, marks)

    async def _catch_up(
        self,
        record: Record,
        stored: int | None,
        end: int,
        handle: Handle,
        marks: dict[str, int | None],
        lost_from: int | None = None,
    ) -> int | None:
        """Apply again the commands the store may have lost before offset `end`; returns the
        position the store holds afterwards."""
        since = self._since.get(record.partition)
        while missed := missed_offsets(stored, since, end, lost_from):
            log.warning(
                "the store is behind the command agent on %s[%d]: it kept offset %s (a shard "
                "lost from %s), the agent is at %d; applying the %d commands in between again "
                "first",
                record.topic, record.partition, stored, lost_from, end, len(missed),
            )  # fmt: skip
            topic, partition = record.topic, record.partition
            for earlier in await self.fetch(topic, partition, missed.start, missed.stop):
                await handle(earlier)
                marked = await self._mark(partition, earlier.offset, marks)
                written, stored = await self._advance(partition, stored, earlier.offset, marked)
                if not written:
                    # Redis went back again meanwhile: start over from where it is now, or
                    # from here if that is further on
                    lost_from = earlier.offset
                    break
            else:
                return stored
        return stored

    async def _stored(self, partition: int) -> tuple[int | None, int | None, dict[str, int | None]]:
        """The store's position for the partition; the first offset a scope's shard may have
        lost (None when not on a cluster, or none lost); the marks read in the scopes."""
        if self.scopes is None:
            return _offset(await self.client.hget(self.key, str(partition))), None, {}
        keys = [self.key, scopes_key(self.key, partition)]
        through, flat = await self._read_script(keys=keys, args=[str(partition)])
        pairs = zip(flat[::2], flat[1::2], strict=True)
        recorded = {as_text(key): _first_last(as_text(kept)) for key, kept in pairs}
        marks = await self._marks(partition, list(recorded))
        return _offset(through), scopes_lost_from(recorded, marks), marks

    async def _marks(self, partition: int, keys: list[str]) -> dict[str, int | None]:
        """What each key holds for the partition now; a key that is gone is left out."""
        field = self._mark_field(partition)
        read = await asyncio.gather(
            *(self._mark_read_script(keys=[key], args=[field]) for key in keys)
        )
        return {
            key: (None if int(value) < 0 else int(value))
            for key, value in zip(keys, read, strict=True)
            if int(value) != -2 or not expires(key)
        }

    async def _mark(self, partition: int, offset: int, marks: dict[str, int | None]) -> list[str]:
        """Mark `offset` in every scope the command just handled wrote in, each over what
        `marks` says this attempt read or wrote there (kept up to date); their mark keys."""
        if self.scopes is None:
            return []
        keys = sorted({mark_key(scope) for scope in self.scopes()})
        field = self._mark_field(partition)

        def expected(key: str) -> str:
            if key not in marks:
                return ""
            mark = marks[key]
            return "none" if mark is None else str(mark)

        answers = await asyncio.gather(
            *(
                self._mark_script(
                    keys=[key], args=[field, str(offset), str(int(expires(key))), expected(key)]
                )
                for key in keys
            )
        )
        for key, answer in zip(keys, answers, strict=True):
            if int(answer) == -1:
                raise ShardWentBack(f"the mark in {key} is not what was read before")
            if int(answer) == 1:
                kept = marks.get(key)
                marks[key] = offset if kept is None else max(kept, offset)
        return keys

    def _mark_field(self, partition: int) -> str:
        return f"cmd|{self.key}|{partition}"

    async def _advance(
        self, partition: int, expected: int | None, offset: int, marked: list[str]
    ) -> tuple[bool, int | None]:
        """Record `offset` as applied if the store still holds `expected`, with the scopes it
        was marked in (`marked`): (True, the position now), or (False, what the store holds
        instead)."""
        prune = "1" if marked and offset % PRUNE_EVERY == 0 else "0"
        args = [str(partition), "" if expected is None else str(expected), str(offset)]
        args += [prune, str(offset - PRUNE_BEHIND), *marked]
        keys = [self.key, scopes_key(self.key, partition)]
        written, current = await self._advance_script(keys=keys, args=args)
        position = _offset(current)
        if int(written):
            return True, max(offset, expected if expected is not None else offset)
        return False, position


def _offset(raw: Any) -> int | None:
    return None if raw in (None, b"", "") else int(raw)


def _first_last(kept: str) -> tuple[int, int]:
    first, _, last = kept.partition(":")
    return int(first), int(last)


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
