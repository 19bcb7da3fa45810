"""Shared by tests/integration and tests/e2e: the live pipeline against the real test stack.

Imported as a top-level module (tests/ is on sys.path: it holds the root conftest). The
processes (`chotdon worker`, other commands) and the `live` and `workers` fixtures are in
tests/live_processes.py, which the conftest.py files of both folders import.

- Readiness is always an effect polled with a deadline (`wait_for`), never a sleep.
- The reference for drafts is the pure model, orders/book.py, fed with the parses of
  parsers.compile_grammar (`model_drafts`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError
from aiokafka.partitioner import murmur2
from live_processes import (  # noqa: F401 - re-exported for the test modules
    CHOTDON,
    DEMO_SHOP,
    LIVE_REDIS_DB,
    ROOT,
    Worker,
    WorkerFactory,
    chotdon,
    env_for,
    start_replay,
    unique,
)

from config.loader import load_shop
from config.settings import Settings
from config.shop import ShopConfig
from orders.book import OrderBook
from orders.connection import redis_client
from orders.events import CommentEvent
from orders.store import DraftStore, livestream_prefix
from parsers import compile_grammar
from stream.intake import comment_group
from stream.messages import Comment

T = TypeVar("T")
Json = dict[str, Any]


def drafts_json(settings: Settings, livestream_id: str) -> tuple[bytes, list[Json]]:
    """`chotdon drafts --livestream ID --json`: its exact bytes and the parsed drafts."""
    out = chotdon(settings, "drafts", "--livestream", livestream_id, "--json").stdout
    return out, orjson.loads(out)


def write_jsonl(path: Path, comments: Iterable[Comment]) -> Path:
    path.write_bytes(b"".join(comment.to_json() + b"\n" for comment in comments))
    return path


def shop_file(tmp_path: Path, *, repeat: str = "ignore", name: str = "shop.toml") -> Path:
    """The sample shop (syntax, aliases, products), optionally with another repeat rule."""
    text = DEMO_SHOP.read_text(encoding="utf-8")
    if repeat != "ignore":
        old = 'repeat_comment    = "ignore"'
        assert old in text, "config/shops/demo.toml changed: update tests/live_support.py"
        text = text.replace(old, f'repeat_comment    = "{repeat}"')
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def shop_with(path: Path, products_toml: Path | None = None) -> ShopConfig:
    from config.loader import load_product_group

    shop = load_shop(path)
    if products_toml is not None:
        shop = shop.with_products(load_product_group(products_toml))
    return shop


# --------------------------------------------------------------------------- waiting


async def wait_for(
    check: Callable[[], Awaitable[T]],
    what: str,
    *,
    limit: float = 90.0,
    interval: float = 0.1,
    watch: Sequence[Worker] = (),
) -> T:
    """Poll `check` until it returns something truthy; fail with the workers' logs when the
    deadline passes or a watched worker exits unexpectedly."""
    deadline = time.monotonic() + limit
    while True:
        result = await check()
        if result:
            return result
        for worker in watch:
            if not worker.alive and not worker.expected_exit:
                raise AssertionError(
                    f"{worker.name} exited ({worker.process.returncode}) while waiting for "
                    f"{what}\n{worker.tail()}"
                )
        if time.monotonic() > deadline:
            tails = "\n".join(worker.tail() for worker in watch)
            raise AssertionError(f"timed out after {limit:.0f} s waiting for {what}\n{tails}")
        await asyncio.sleep(interval)


@asynccontextmanager
async def store_of(settings: Settings) -> AsyncIterator[DraftStore]:
    async with DraftStore.connect(settings.redis) as store:
        yield store


async def progress(settings: Settings, shop_id: str, livestream_id: str) -> tuple[int, int]:
    async with store_of(settings) as store:
        return await store.progress(shop_id, livestream_id)


async def wait_applied(
    settings: Settings,
    shop_id: str,
    livestream_id: str,
    last_offset: int,
    *,
    watch: Sequence[Worker] = (),
    limit: float = 90.0,
) -> None:
    """Until the livestream's offset watermark reaches `last_offset`."""

    async def reached() -> bool:
        watermark, _ = await progress(settings, shop_id, livestream_id)
        return watermark >= last_offset

    await wait_for(
        reached, f"{livestream_id} applied up to offset {last_offset}", watch=watch, limit=limit
    )


async def store_drafts(settings: Settings, shop_id: str, livestream_id: str) -> list[Json]:
    async with store_of(settings) as store:
        return await store.drafts(shop_id, livestream_id)


async def raw_state(settings: Settings, shop_id: str, livestream_id: str) -> Json:
    """The stored drafts' JSON byte for byte (the view hash of orders/README.md), with the
    customers, the unattributed comments and the progress."""
    client = redis_client(settings.redis)
    try:
        view = await client.hgetall(f"{livestream_prefix(shop_id, livestream_id)}:view")
    finally:
        await client.aclose()
    async with store_of(settings) as store:
        return {
            "view": dict(sorted(view.items())),
            "customers": await store.customers(shop_id, livestream_id),
            "unattributed": await store.unattributed(shop_id, livestream_id),
            "progress": await store.progress(shop_id, livestream_id),
        }


# --------------------------------------------------------------------------- Kafka


def partition_for(key: str, partitions: int) -> int:
    """The partition aiokafka's (and Java's) default partitioner picks for a key."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def ids_on_distinct_partitions(prefix: str, count: int, partitions: int) -> list[str]:
    """`count` fresh livestream ids, each keyed to a different partition."""
    chosen: dict[int, str] = {}
    while len(chosen) < count:
        candidate = unique(prefix)
        chosen.setdefault(partition_for(candidate, partitions), candidate)
    return [chosen[p] for p in sorted(chosen)]


Message = tuple[bytes | None, bytes | None]  # (key, value)


async def produce(
    settings: Settings, messages: Sequence[Comment | Message], topic: str | None = None
) -> list[tuple[int, int]]:
    """Produce in order (Comments keyed by livestream); (partition, offset) of each."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka, acks="all", enable_idempotence=True, linger_ms=2
    )
    await producer.start()
    try:
        futures = []
        for message in messages:
            if isinstance(message, Comment):
                key, value = message.livestream_id.encode(), message.to_json()
            else:
                key, value = message
            futures.append(await producer.send(topic or settings.topics.comments, value, key=key))
        await producer.flush()
        sent = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return [(meta.partition, meta.offset) for meta in sent]


async def partitions_of(settings: Settings, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    numbers = sorted(int(p["partition"]) for p in described["partitions"])
    assert numbers, f"topic {topic} has no partitions: {described}"
    return [TopicPartition(topic, n) for n in numbers]


async def read_topic(settings: Settings, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `topic` now, by partition then offset (no consumer group)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        partitions = await partitions_of(settings, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + 30
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            assert time.monotonic() < deadline, f"could not read {topic} to its end"
            batch = await consumer.getmany(*partitions, timeout_ms=500)
            for tp_records in batch.values():
                records.extend(tp_records)
        records = [r for r in records if r.offset < ends[TopicPartition(topic, r.partition)]]
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()


async def last_comment_offsets(settings: Settings) -> dict[str, int]:
    """The offset of the last record of each livestream (by key) on the comments topic."""
    last: dict[str, int] = {}
    for record in await read_topic(settings, settings.topics.comments):
        if record.key is not None:
            last[record.key.decode()] = record.offset
    return last


async def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await partitions_of(settings, topic)
        ends = await consumer.end_offsets(partitions)
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def committed_offsets(settings: Settings) -> dict[int, int]:
    """The comment intake's consumer group: committed offset per partition of the comments topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(comment_group(settings.app_id))
    except GroupCoordinatorNotAvailableError:  # a fresh broker creates __consumer_offsets late
        return {}
    finally:
        await admin.close()
    return {
        tp.partition: meta.offset
        for tp, meta in offsets.items()
        if tp.topic == settings.topics.comments and meta.offset >= 0
    }


async def reset_group_to_earliest(settings: Settings) -> None:
    """What `kafka-consumer-groups --reset-offsets --to-earliest` does (the group is empty)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka,
        group_id=comment_group(settings.app_id),
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        partitions = await partitions_of(settings, settings.topics.comments)
        consumer.assign(partitions)
        await consumer.commit(dict.fromkeys(partitions, 0))
    finally:
        await consumer.stop()


# --------------------------------------------------------------------------- the model


def comment_events(
    comments: Sequence[Comment], shop: ShopConfig, offsets: Sequence[int] | None = None
) -> list[CommentEvent]:
    """What the pipeline hands the store, rebuilt independently from the parser."""
    grammar = compile_grammar(shop)
    events = []
    for index, comment in enumerate(comments):
        result = grammar.parse(comment.text, comment.id)
        events.append(
            CommentEvent(
                comment_id=comment.id,
                offset=index if offsets is None else offsets[index],
                platform=comment.platform,
                user_id=comment.user_id,
                user_name=comment.user_name,
                created_at=comment.created_at.isoformat(),
                intent=result.intent,
                phone=result.phone,
                items=tuple(result.items),
            )
        )
    return events


def model_book(shop: ShopConfig, livestream_id: str) -> OrderBook:
    products = {product.code: product for product in shop.products}
    return OrderBook(shop.shop.id, livestream_id, products, shop.orders.repeat_comment)


def model_drafts(comments: Sequence[Comment], shop: ShopConfig, livestream_id: str) -> list[Json]:
    book = model_book(shop, livestream_id)
    book.apply(comment_events(comments, shop))
    return book.drafts()


def as_livestream(drafts: Sequence[Json], livestream_id: str) -> list[Json]:
    return [{**draft, "livestream_id": livestream_id} for draft in drafts]


def no_duplicate_comment_ids(drafts: Sequence[Json], events: Sequence[CommentEvent] = ()) -> None:
    """No line lists a comment twice, and no comment is in more lines than it has items."""
    items = {event.comment_id: len(event.items) for event in events}
    for draft in drafts:
        lines_of: dict[str, int] = {}
        for line in draft["lines"] + draft["history"]:
            ids = line["comment_ids"]
            assert len(ids) == len(set(ids)), (
                f"draft {draft['seq']}: a line repeats a comment {ids}"
            )
            for cid in ids:
                lines_of[cid] = lines_of.get(cid, 0) + 1
        for cid, count in lines_of.items():
            if cid in items:
                assert count <= items[cid], f"draft {draft['seq']}: {cid} is in {count} lines"


def first_difference(got: Sequence[Json], want: Sequence[Json]) -> str:
    """A short description of the first differing draft (assertion messages stay readable)."""
    if len(got) != len(want):
        return f"{len(got)} drafts, expected {len(want)}"
    for mine, theirs in zip(got, want, strict=True):
        if mine != theirs:
            keys = [k for k in theirs if mine.get(k) != theirs.get(k)]
            return (
                f"draft seq {theirs['seq']} differs in {keys}:\n got  {orjson.dumps(mine)!r}\n"
                f" want {orjson.dumps(theirs)!r}"
            )
    return "equal"


def comment(
    cid: str,
    user: str | None,
    text: str,
    at: datetime,
    *,
    livestream_id: str,
    shop_id: str = "shop-demo",
    name: str = "",
    platform: str = "facebook",
) -> Comment:
    return Comment(
        id=cid,
        platform=platform,
        shop_id=shop_id,
        livestream_id=livestream_id,
        user_id=user,
        user_name=name,
        text=text,
        created_at=at,
    )


def times(start: datetime, step_seconds: float = 1.0) -> Iterator[datetime]:
    moment = start
    while True:
        yield moment
        moment += timedelta(seconds=step_seconds)


# --------------------------------------------------------------------------- draft events


def draft_events_of(
    records: Sequence[ConsumerRecord[bytes, bytes]], livestream_id: str
) -> list[Any]:
    from stream.messages import DraftEvent

    events = [DraftEvent.from_json(record.value) for record in records]
    for record, event in zip(records, events, strict=True):
        assert record.key == event.livestream_id.encode(), "draft events are keyed by livestream"
    return [event for event in events if event.livestream_id == livestream_id]


def check_draft_events(
    events: Sequence[Any], comments: Sequence[Comment], shop: ShopConfig, livestream_id: str
) -> int:
    """The draft events of a livestream fed `comments` (however the worker batched them) are
    one event per changed draft per batch, each with the draft's new state. A draft whose only
    change is its waitlist place moving up is not published (orders/README.md).

    Events of one batch share `emitted_at` and are contiguous on the partition. Whatever the
    batch, its drafts must be the model's after the batch's last listed comment, and the drafts
    it lists must be exactly those that differ from the model's after the previous batch (no
    comment in between changed anything, or it would have had a batch of events of its own).
    Returns the number of batches seen."""
    book = model_book(shop, livestream_id)
    snapshots: list[dict[int, Json]] = []
    changed_own: set[str] = set()
    author = {c.id: c.user_id for c in comments}
    for event in comment_events(comments, shop):
        changed = book.apply([event])
        if any(d["customer"]["user_id"] == event.user_id for d in changed):
            changed_own.add(event.comment_id)
        snapshots.append({d["seq"]: d for d in book.drafts()})
    index = {c.id: i for i, c in enumerate(comments)}
    batches: list[list[Any]] = []
    for event in events:
        if batches and batches[-1][0].emitted_at == event.emitted_at:
            batches[-1].append(event)
        else:
            batches.append([event])
    listed: list[str] = []
    before: dict[int, Json] = {}
    previous_last = -1
    for number, batch in enumerate(batches):
        ids = [cid for event in batch for cid in event.comment_ids]
        assert ids, f"batch {number}: no event names a comment ({batch})"
        last = max(index[cid] for cid in ids)
        after = snapshots[last]
        seqs = [event.seq for event in batch]
        assert len(seqs) == len(set(seqs)), f"batch {number}: two events for one draft: {seqs}"
        differ = sorted(
            seq for seq, draft in after.items() if _placeless(before.get(seq)) != _placeless(draft)
        )
        assert sorted(seqs) == differ, (
            f"batch {number} (up to {comments[last].id}): events for {seqs}, "
            f"drafts changed {differ}"
        )
        for event in batch:
            assert (event.v, event.shop_id, event.livestream_id) == (1, shop.shop.id, livestream_id)
            assert event.draft == after[event.seq], (
                f"batch {number}: draft {event.seq}\n"
                f"{first_difference([event.draft], [after[event.seq]])}"
            )
            user = event.draft["customer"]["user_id"]
            positions = [index[cid] for cid in event.comment_ids]
            assert all(author[cid] == user for cid in event.comment_ids), event.comment_ids
            assert positions == sorted(positions) and min(positions, default=last) > previous_last
        listed.extend(ids)
        before, previous_last = after, last
    assert len(listed) == len(set(listed)), "a comment is named by two batches"
    assert changed_own <= set(listed), f"never in an event: {sorted(changed_own - set(listed))}"
    return len(batches)


def _placeless(draft: Json | None) -> Json | None:
    """A draft without its waitlist places: what a draft event is published for."""
    if draft is None:
        return None
    return {**draft, "lines": [{**line, "waitlist": None} for line in draft["lines"]]}


# --------------------------------------------------------------------------- in-process pipeline


class InProcessPipeline:
    """stream/pipeline.py's CommentPipeline fed from the comments topic by a plain aiokafka
    consumer (no faust, no consumer group), publishing with a real producer: what the agent
    does, one `handle` per batch, under the test's control."""

    def __init__(self, settings: Settings) -> None:
        from stream.pipeline import Backoff, CommentPipeline

        self.settings = settings
        self.redis = redis_client(settings.redis)
        self.store = DraftStore(self.redis)
        self.producer = AIOKafkaProducer(bootstrap_servers=settings.kafka, acks="all")
        self.consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka, enable_auto_commit=False)
        self.pipeline = CommentPipeline(self.store, self.publish, settings.topics, Backoff())
        self.partitions: list[TopicPartition] = []

    async def start(self) -> None:
        await self.store.load_functions()
        await self.producer.start()
        await self.consumer.start()
        self.partitions = await partitions_of(self.settings, self.settings.topics.comments)
        self.consumer.assign(self.partitions)
        await self.consumer.seek_to_beginning(*self.partitions)

    async def stop(self) -> None:
        await self.consumer.stop()
        await self.producer.stop()
        await self.redis.aclose()

    async def publish(self, messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        futures = [await self.producer.send(t, value, key=key) for t, key, value in messages]
        await asyncio.gather(*futures)

    async def fetch(self) -> list[Any]:
        """The records not fetched yet, up to the end of every partition now, as pipeline
        Records, by partition then offset."""
        from stream.pipeline import Record

        ends = await self.consumer.end_offsets(self.partitions)
        records: list[Any] = []
        deadline = time.monotonic() + 30
        while [tp for tp in self.partitions if await self.consumer.position(tp) < ends[tp]]:
            assert time.monotonic() < deadline, "could not read the comments topic"
            batch = await self.consumer.getmany(*self.partitions, timeout_ms=500)
            for tp_records in batch.values():
                records.extend(tp_records)
        records.sort(key=lambda r: (r.partition, r.offset))
        return [Record(r.topic, r.partition, r.offset, r.key, r.value) for r in records]

    async def handle(self, records: Sequence[Any], batch_size: int) -> None:
        for start in range(0, len(records), batch_size):
            await self.pipeline.handle(records[start : start + batch_size])

    async def run(self, batch_size: int = 500) -> list[Any]:
        """Fetch what is new and handle it in batches of `batch_size`; the records handled."""
        records = await self.fetch()
        await self.handle(records, batch_size)
        return records


@asynccontextmanager
async def in_process_pipeline(settings: Settings) -> AsyncIterator[InProcessPipeline]:
    driver = InProcessPipeline(settings)
    await driver.start()
    try:
        yield driver
    finally:
        await driver.stop()


async def register(settings: Settings, shop: ShopConfig, *livestream_ids: str) -> None:
    async with store_of(settings) as store:
        await store.load_functions()
        for livestream_id in livestream_ids:
            assert await store.register_shop(shop, livestream_id) == []


def same_partition_ids(prefix: str, count: int, partitions: int) -> list[str]:
    """`count` fresh livestream ids keyed to one partition (their comments interleave there)."""
    first = unique(prefix)
    wanted = partition_for(first, partitions)
    chosen = [first]
    while len(chosen) < count:
        candidate = unique(prefix)
        if partition_for(candidate, partitions) == wanted:
            chosen.append(candidate)
    return chosen


async def wait_all_applied(
    settings: Settings, shop_id: str, *, watch: Sequence[Worker] = (), limit: float = 90.0
) -> dict[str, int]:
    """Until every livestream on the comments topic is applied up to its last record."""
    last = await last_comment_offsets(settings)
    for livestream_id, offset in last.items():
        await wait_applied(settings, shop_id, livestream_id, offset, watch=watch, limit=limit)
    return last


async def group_assignments(settings: Settings) -> dict[str, list[int]]:
    """The comment intake's consumer group: partitions of the comments topic per member."""
    from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([comment_group(settings.app_id)])
    except GroupCoordinatorNotAvailableError:
        return {}
    finally:
        await admin.close()
    out: dict[str, list[int]] = {}
    for group in response.to_object()["groups"]:
        if group["state"] != "Stable":
            return {}
        for member in group["members"]:
            raw = member["member_assignment"]
            partitions: list[int] = []
            if raw:
                assignment = ConsumerProtocolMemberAssignment.decode(raw)
                for topic, numbers in assignment.assignment:
                    if topic == settings.topics.comments:
                        partitions.extend(numbers)
            out[member["member_id"]] = sorted(partitions)
    return out
