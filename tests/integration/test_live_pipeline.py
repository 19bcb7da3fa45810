"""The live pipeline on real Kafka and Redis: comments from the topic to numbered draft orders,
effectively once.

Some tests drive stream/pipeline.py's CommentPipeline in-process from the topic
(`in_process_pipeline`, batches under the test's control); the others run `chotdon worker`
subprocesses (`workers`). Helpers and fixtures: tests/live_support.py, tests/live_processes.py.
Every test has its own topics, consumer group and livestream ids, on database LIVE_REDIS_DB of
the test Redis (the Redis-outage tests run a redis-server of their own); those marked
`ON_BOTH_STORES` run again with the store on a Redis Cluster.

The tests under "found while testing" fail on purpose until the product bugs they describe are
fixed (each docstring says what is expected and why).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fault_support import OwnRedis
from live_processes import ON_BOTH_STORES
from live_support import (
    DEMO_SHOP,
    WorkerFactory,
    check_draft_events,
    chotdon,
    comment,
    comment_events,
    committed_offsets,
    draft_events_of,
    first_difference,
    in_process_pipeline,
    model_drafts,
    no_duplicate_comment_ids,
    partition_for,
    produce,
    progress,
    raw_state,
    read_topic,
    register,
    same_partition_ids,
    shop_file,
    shop_with,
    store_drafts,
    store_of,
    unique,
    wait_applied,
    wait_for,
)

from cli.samples import generate
from config.settings import Settings
from stream.messages import Comment, DeadLetter

Json = dict[str, Any]
SHOP = "shop-demo"
T0 = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)


def at(second: float) -> datetime:
    return T0 + timedelta(seconds=second)


# --------------------------------------------------------------------------- duplicates


@ON_BOTH_STORES
async def test_the_same_records_through_the_pipeline_twice_change_nothing(
    live: Settings, tmp_path: Path
) -> None:
    """Batches handled again (a redelivery: same offsets), in other batch sizes, and the same
    comments produced again (a producer retry: new offsets, same ids) change no byte of the
    drafts. The shop adds repeats (`repeat_comment = "add"`), so a comment applied twice would
    show. A redelivery may publish the drafts again (their first events may have been lost),
    but only as they are; a producer retry publishes nothing."""
    shop = shop_with(shop_file(tmp_path, repeat="add"))
    livestream = unique("int-twice")
    await register(live, shop, livestream)
    comments = generate(400, 40, livestream_id=livestream, seed=7)
    await produce(live, comments)

    async def draft_events() -> list[Any]:
        return draft_events_of(await read_topic(live, live.topics.draft_events), livestream)

    async with in_process_pipeline(live) as driver:
        records = await driver.run(batch_size=50)
        assert len(records) == len(comments)
        state = await raw_state(live, SHOP, livestream)
        first_events = await draft_events()
        assert state["progress"] == (len(comments) - 1, len(state["view"]))
        check_draft_events(first_events, comments, shop, livestream)

        await driver.handle(records, batch_size=50)  # the same batches again
        await driver.handle(records, batch_size=137)  # cut elsewhere
        await driver.handle(records[::-1], batch_size=len(records))  # one batch, backwards
        assert await raw_state(live, SHOP, livestream) == state
        current = {d["seq"]: d for d in await store_drafts(live, SHOP, livestream)}
        events = await draft_events()
        for event in events[len(first_events) :]:
            assert event.draft == current[event.seq], "a redelivery published another state"

        await produce(live, comments)  # the same comments at new offsets
        assert len(await driver.run(batch_size=64)) == len(comments)
        assert await raw_state(live, SHOP, livestream) == {
            **state,
            "progress": (2 * len(comments) - 1, state["progress"][1]),
        }
        assert len(await draft_events()) == len(events)

    drafts = await store_drafts(live, SHOP, livestream)
    model = model_drafts(comments, shop, livestream)
    assert drafts == model, first_difference(drafts, model)
    no_duplicate_comment_ids(drafts, comment_events(comments, shop))


# --------------------------------------------------------------------------- stock race


@ON_BOTH_STORES
async def test_stock_race_first_come_first_served_and_the_waitlist_moves_up(
    live: Settings,
) -> None:
    """100 customers order K2 (10 in stock) in a known order: the first 10 get one each, the
    other 90 wait in comment order; cancels by some of the first 10 serve the next in line
    and everyone behind moves up."""
    shop = shop_with(DEMO_SHOP)
    assert {p.code: p.stock for p in shop.products}["K2"] == 10
    livestream = unique("int-race")
    await register(live, shop, livestream)

    def user(n: int) -> str:
        return f"u{n:03d}"

    orders = [
        comment(f"o{n:03d}", user(n), "K2 1", at(n), livestream_id=livestream, name=f"Khách {n}")
        for n in range(1, 101)
    ]
    await produce(live, orders)
    async with in_process_pipeline(live) as driver:
        await driver.run(batch_size=16)
        drafts = await store_drafts(live, SHOP, livestream)
        assert [(d["seq"], d["customer"]["user_id"]) for d in drafts] == [
            (n, user(n)) for n in range(1, 101)
        ]
        k2 = [d["lines"][0] for d in drafts]
        assert [line["code"] for line in k2] == ["K2"] * 100
        assert [line["reserved"] for line in k2] == [1] * 10 + [0] * 90
        assert [line["waitlist"] for line in k2] == [None] * 10 + list(range(1, 91))
        assert [d["total"] for d in drafts] == [45000] * 10 + [0] * 90

        # u003, u007 and u010 give up their unit, u050 gives up waiting.
        cancels = [
            comment("x003", user(3), "hủy K2", at(200), livestream_id=livestream),
            comment("x007", user(7), "huỷ đơn giúp em", at(201), livestream_id=livestream),
            comment("x010", user(10), "hủy K2", at(202), livestream_id=livestream),
            comment("x050", user(50), "hủy K2", at(203), livestream_id=livestream),
        ]
        await produce(live, cancels)
        await driver.run(batch_size=2)

    drafts = await store_drafts(live, SHOP, livestream)
    by_user = {d["customer"]["user_id"]: d for d in drafts}
    cancelled = {3, 7, 10, 50}
    assert [n for n in range(1, 101) if by_user[user(n)]["status"] == "cancelled"] == [3, 7, 10, 50]
    for n in cancelled:
        assert by_user[user(n)]["lines"][0]["reserved"] == 0
        assert by_user[user(n)]["lines"][0]["waitlist"] is None
    served = [n for n in range(1, 101) if by_user[user(n)]["lines"][0]["reserved"] == 1]
    assert served == [1, 2, 4, 5, 6, 8, 9, 11, 12, 13]
    waiting = [n for n in range(14, 101) if n != 50]
    assert [by_user[user(n)]["lines"][0]["waitlist"] for n in waiting] == list(range(1, 87))
    assert all(by_user[user(n)]["lines"][0]["waitlist"] is None for n in served)
    # A unit freed by a cancel is the canceller's comment's doing: the served draft's
    # updated_at is that comment's time; a place moving up is nobody's comment.
    for n, cancel in ((11, cancels[0]), (12, cancels[1]), (13, cancels[2])):
        assert by_user[user(n)]["updated_at"] == cancel.created_at.isoformat()
    assert by_user[user(14)]["updated_at"] == orders[13].created_at.isoformat()

    everything = orders + cancels
    model = model_drafts(everything, shop, livestream)
    assert drafts == model, first_difference(drafts, model)
    events = draft_events_of(await read_topic(live, live.topics.draft_events), livestream)
    check_draft_events(events, everything, shop, livestream)


# --------------------------------------------------------------------------- two livestreams


@ON_BOTH_STORES
async def test_two_livestreams_interleaved_keep_their_own_numbers_and_stock(
    live: Settings,
) -> None:
    """The same 12 customers order K2 (10 in stock in each livestream) in two livestreams whose
    comments interleave on one partition (so batches hold both): each livestream numbers its
    own customers from 1, in its own order, with its own 10 units."""
    shop = shop_with(DEMO_SHOP)
    first, second = same_partition_ids("int-pair", 2, live.comment_partitions)
    await register(live, shop, first, second)
    comments = []
    for n in range(1, 13):
        comments.append(comment(f"a{n}", f"u{n}", "K2 1", at(n), livestream_id=first))
        comments.append(comment(f"b{n}", f"u{13 - n}", "K2 1", at(n), livestream_id=second))
    # Same comment id in both livestreams: dedupe is per livestream.
    comments.append(comment("same-id", "u1", "0912345678", at(20), livestream_id=first))
    comments.append(comment("same-id", "u12", "MP10 2", at(20), livestream_id=second))
    await produce(live, comments)
    async with in_process_pipeline(live) as driver:
        await driver.run(batch_size=7)

    one = await store_drafts(live, SHOP, first)
    two = await store_drafts(live, SHOP, second)
    assert [d["customer"]["user_id"] for d in one] == [f"u{n}" for n in range(1, 13)]
    assert [d["customer"]["user_id"] for d in two] == [f"u{n}" for n in range(12, 0, -1)]
    for drafts in (one, two):
        assert [d["seq"] for d in drafts] == list(range(1, 13))
        assert [d["lines"][0]["reserved"] for d in drafts] == [1] * 10 + [0, 0]
        assert [d["lines"][0]["waitlist"] for d in drafts] == [None] * 10 + [1, 2]
    assert one[0]["customer"]["phone"] == "0912345678"
    assert two[11]["customer"]["phone"] is None  # u1 in the second livestream: no phone there
    assert [line["code"] for line in two[0]["lines"]] == ["K2", "MP10"]
    for livestream, drafts in ((first, one), (second, two)):
        mine = [c for c in comments if c.livestream_id == livestream]
        model = model_drafts(mine, shop, livestream)
        assert drafts == model, first_difference(drafts, model)
        assert await _progress_seq(live, livestream) == 12


async def _progress_seq(settings: Settings, livestream: str) -> int:
    async with store_of(settings) as store:
        return (await store.progress(SHOP, livestream))[1]


# --------------------------------------------------------------------------- bad input


def _json(**fields: Any) -> bytes:
    return orjson.dumps(fields)


@ON_BOTH_STORES
async def test_bad_records_become_dead_letters_and_the_rest_is_applied(
    live: Settings, workers: WorkerFactory
) -> None:
    livestream, never = unique("int-bad"), unique("int-never-started")
    shop = shop_with(DEMO_SHOP)
    await register(live, shop, livestream)
    key = livestream.encode()

    def valid(cid: str, user: str, text: str | None, second: int, **extra: Any) -> bytes:
        fields = dict(
            id=cid,
            platform="facebook",
            shop_id=SHOP,
            livestream_id=livestream,
            user_id=user,
            user_name=f"name of {user}",
            text=text,
            created_at=at(second).isoformat(),
        )
        fields.update(extra)
        return _json(**{k: v for k, v in fields.items() if v is not None})

    good = {
        "c1": valid("c1", "u1", "K2 1", 1),
        "c2": valid("c2", "u2", "MP10 2", 3, user_name=None),  # no user_name: still valid
        "c3": valid("c3", "u1", "0912 345 678", 9),
        "c4": valid("c4", "u3", "chốt A12 L đen", 11),
    }
    records: list[tuple[str, bytes | None, bytes | None]] = [
        ("c1", key, good["c1"]),
        ("undecodable", key, b"\xff\xfe"),
        ("c2", key, good["c2"]),
        ("invalid_json", key, b"{not json"),
        ("invalid_comment", key, valid("c5", "u4", None, 4)),
        ("invalid_comment", key, valid("c6", "u4", "K2 1", 5, created_at="2026-03-01T20:00:05")),
        ("unknown_livestream", never.encode(), valid("c7", "u4", "K2 1", 6, livestream_id=never)),
        ("undecodable", key, None),  # a record without a value
        ("c3", key, good["c3"]),
        ("shop_mismatch", key, valid("c8", "u4", "K2 1", 10, shop_id="another-shop")),
        ("c4", key, good["c4"]),
    ]
    assert b'"text"' not in records[4][2]  # type: ignore[operator]
    worker = workers()
    sent = await produce(live, [(k, v) for _, k, v in records])
    expected_letters = [
        (reason, k, v, where)
        for (reason, k, v), where in zip(records, sent, strict=True)
        if not reason.startswith("c")
    ]

    async def letters() -> list[Any]:
        found = await read_topic(live, live.topics.dead_letters)
        return found if len(found) >= len(expected_letters) else []

    found = await wait_for(letters, "the dead letters", watch=[worker])
    last_good = max(
        offset for (name, _, _), (_, offset) in zip(records, sent, strict=True) if name == "c4"
    )
    await wait_applied(live, SHOP, livestream, last_good, watch=[worker])

    dead = sorted((DeadLetter.from_json(r.value) for r in found), key=lambda d: d.offset)
    assert len(dead) == len(expected_letters)
    by_place = {(d.partition, d.offset): d for d in dead}
    for reason, k, value, (partition, offset) in expected_letters:
        letter = by_place[(partition, offset)]
        assert letter.reason == reason, letter
        assert letter.topic == live.topics.comments
        assert letter.original_value() == value
        assert letter.value_b64 == (None if value is None else base64.b64encode(value).decode())
        assert letter.original_key() == k
        assert letter.detail
    details = {d.reason: d.detail for d in dead}
    assert "not UTF-8" in details["undecodable"] or "no value" in details["undecodable"]
    naive = by_place[sent[5]]
    assert "created_at" in naive.detail and "time zone" in naive.detail
    assert "text" in by_place[sent[4]].detail
    assert never in by_place[sent[6]].detail
    for record in found:  # keyed like the record they stand for
        letter = DeadLetter.from_json(record.value)
        assert record.key == letter.original_key()

    drafts = await store_drafts(live, SHOP, livestream)
    comments = [Comment.from_json(v) for v in good.values()]
    model = model_drafts(comments, shop, livestream)
    assert drafts == model, first_difference(drafts, model)
    assert [(d["customer"]["user_id"], d["customer"]["phone"]) for d in drafts] == [
        ("u1", "0912345678"),
        ("u2", None),
        ("u3", None),
    ]
    assert drafts[1]["customer"]["name"] is None
    assert [line["code"] for d in drafts for line in d["lines"]] == ["K2", "MP10", "A12"]


@ON_BOTH_STORES
async def test_hostile_comments_stop_no_batch_and_the_comments_around_them_are_applied(
    live: Settings, workers: WorkerFactory
) -> None:
    """Issue 13, in the worker: a comment with more digits than `int()` converts made the
    parser raise, and the agent lost its whole batch (faust acks on exceptions); a quantity
    beyond 64 bits made the store refuse the batch and stop the worker, at every restart
    again. Such comments now parse safely, and every comment around them is applied."""
    livestream = unique("int-hostile")
    shop = shop_with(DEMO_SHOP)
    await register(live, shop, livestream)
    texts = [
        "K2 1",
        "MP10 x" + "9" * 5_000,  # an order of MP10; the run of digits is no quantity
        "chốt A12 M đỏ sl 99999999999999999999",
        "a1" * 5_000,  # one glued token of 10,000 runs: chatter
        "hủy x " * 1_600,  # 9,600 characters: under the 10,000-character cap
        "A12 L đen 2",
    ]
    comments = [
        comment(f"h{n}", f"u{n}", text, at(n), livestream_id=livestream)
        for n, text in enumerate(texts)
    ]
    worker = workers()
    sent = await produce(live, comments)
    await wait_applied(live, SHOP, livestream, sent[-1][1], watch=[worker])
    assert worker.alive
    drafts = await store_drafts(live, SHOP, livestream)
    model = model_drafts(comments, shop, livestream)
    assert drafts == model, first_difference(drafts, model)
    lines = [(d["customer"]["user_id"], line["code"], line["qty"]) for d in drafts
             for line in d["lines"]]  # fmt: skip
    assert lines == [("u0", "K2", 1), ("u1", "MP10", 1), ("u2", "A12", 1), ("u5", "A12", 2)]
    letters = await read_topic(live, live.topics.dead_letters)
    assert letters == [], [DeadLetter.from_json(r.value).detail for r in letters]


# --------------------------------------------------------------------------- Redis unreachable


# A redis-server of the test's own (own port and folder, append-only file): the fault suite's.
RedisServer = OwnRedis


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _unreachable(log: str) -> int:
    return log.count("Redis unreachable")


async def test_redis_unreachable_the_worker_waits_and_acknowledges_nothing(
    live: Settings, workers: WorkerFactory, own_redis: RedisServer, tmp_path: Path
) -> None:
    """Redis goes away under a running worker: the comments that arrive are not acknowledged
    (the group's committed offset stays before them), the log says why; when Redis is back,
    everything is applied once. Then again, but the worker is killed -9 while Redis is down:
    Redis and a new worker come back, and every comment is applied exactly once."""
    import dataclasses

    settings = dataclasses.replace(live, redis=own_redis.url)
    shop_path = shop_file(tmp_path, repeat="add")  # a comment applied twice would add twice
    shop = shop_with(shop_path)
    livestream = unique("int-redis")
    chotdon(settings, "live", "start", "--shop", str(shop_path), "--livestream", livestream)
    partition = partition_for(livestream, live.comment_partitions)
    people = [f"u{n}" for n in range(1, 6)]
    texts = ["MP10 1", "K2 1", "B3 30", "MP10 2", "A12 M đỏ"]
    counter = iter(range(10_000))

    def batch(size: int) -> list[Comment]:
        out = []
        for _ in range(size):
            n = next(counter)
            out.append(
                comment(f"r{n}", people[n % 5], texts[n // 5 % 5], at(n), livestream_id=livestream)
            )
        return out

    first = workers(settings=settings)
    warmup = batch(3)
    sent = await produce(settings, warmup)
    await wait_applied(settings, SHOP, livestream, sent[-1][1], watch=[first])

    # Redis goes away; comments keep coming.
    own_redis.stop()
    outage = batch(10)
    sent = await produce(settings, outage)
    first_offset = sent[0][1]

    async def retried(worker: Any, times: int) -> bool:
        # 4 retries back off 0.1+0.2+0.4+0.8 s: more than the 1 s between offset commits.
        return _unreachable(worker.log()) >= times

    await wait_for(lambda: retried(first, 4), "the worker retrying Redis", watch=[first])
    assert (await committed_offsets(settings)).get(partition, 0) <= first_offset
    assert "The batch stays unacknowledged" in first.log()

    own_redis.start()
    await wait_applied(settings, SHOP, livestream, sent[-1][1], watch=[first])
    await wait_for(lambda: _mentions(first, "Redis is back"), "the worker's recovery")

    # Again, and this time the worker dies while Redis is away.
    before = _unreachable(first.log())
    own_redis.stop()
    crash = batch(10)
    sent = await produce(settings, crash)
    await wait_for(lambda: retried(first, before + 4), "the worker retrying again", watch=[first])
    assert (await committed_offsets(settings)).get(partition, 0) <= sent[0][1]
    first.kill()
    own_redis.start()
    second = workers(settings=settings)
    await wait_applied(settings, SHOP, livestream, sent[-1][1], watch=[second])

    everything = warmup + outage + crash
    drafts = await store_drafts(settings, SHOP, livestream)
    model = model_drafts(everything, shop, livestream)
    assert drafts == model, first_difference(drafts, model)
    no_duplicate_comment_ids(drafts, comment_events(everything, shop))
    mp10 = sum(ln["qty"] for d in drafts for ln in d["lines"] if ln["code"] == "MP10")
    assert mp10 == sum({"MP10 1": 1, "MP10 2": 2}.get(c.text, 0) for c in everything)


async def _mentions(worker: Any, text: str) -> bool:
    return text in worker.log()


# --------------------------------------------------------------------------- found while testing


@ON_BOTH_STORES
async def test_a_batch_whose_draft_events_were_lost_publishes_them_all_when_redelivered(
    live: Settings,
) -> None:
    """A worker can die after Redis applied a batch and before Kafka had its draft events
    (orders/lua/orderbook.lua, `redelivered_views`: "Their events are published again, so none
    is lost"). When the batch comes again, every draft it changed must be published, including
    drafts changed by another customer's comment: the waiting customer a cancel served.
    Downstream would otherwise never learn that u011 got K2."""
    shop = shop_with(DEMO_SHOP)
    livestream = unique("int-lost-events")
    await register(live, shop, livestream)
    orders = [
        comment(f"o{n:03d}", f"u{n:03d}", "K2 1", at(n), livestream_id=livestream)
        for n in range(1, 14)
    ]
    cancel = comment("x001", "u001", "hủy K2", at(100), livestream_id=livestream)
    await produce(live, orders)

    async def draft_events() -> list[Any]:
        return draft_events_of(await read_topic(live, live.topics.draft_events), livestream)

    async with in_process_pipeline(live) as driver:
        await driver.run()
        published = len(await draft_events())
        await produce(live, [cancel])
        records = await driver.fetch()

        async def kafka_gone(messages: Any) -> None:
            raise RuntimeError("the worker died before Kafka had the draft events")

        driver.pipeline.publish = kafka_gone
        with pytest.raises(RuntimeError):
            await driver.pipeline.handle(records)
        assert len(await draft_events()) == published  # nothing went out
        current = {d["seq"]: d for d in await store_drafts(live, SHOP, livestream)}
        assert current[1]["status"] == "cancelled"  # but Redis has the batch
        assert (current[11]["lines"][0]["reserved"], current[12]["lines"][0]["waitlist"]) == (1, 1)

        driver.pipeline.publish = driver.publish
        await driver.pipeline.handle(records)  # Kafka delivers the unacknowledged batch again

    again = (await draft_events())[published:]
    # 12 and 13 only moved up the queue: such drafts are not published (orders/README.md)
    assert {e.seq: e.draft for e in again} == {seq: current[seq] for seq in (1, 11)}, (
        f"republished {sorted(e.seq for e in again)}; the batch changed drafts 1 and 11"
    )


@ON_BOTH_STORES
async def test_more_partitions_for_the_comments_topic_lose_no_comment(live: Settings) -> None:
    """ARCHITECTURE.md: "scaling out is more partitions and more workers, nothing else". More
    partitions move a livestream's key to another partition, where offsets start again at 0;
    the store's one offset watermark per livestream must not take those comments for
    redeliveries and drop them."""
    from aiokafka.admin import AIOKafkaAdminClient, NewPartitions
    from live_support import partitions_of

    shop = shop_with(DEMO_SHOP)
    livestream = unique("int-repartition")
    while not partition_for(livestream, 4) < 4 <= partition_for(livestream, 8):
        livestream = unique("int-repartition")
    await register(live, shop, livestream)
    before = [
        comment(f"b{n}", f"u{n}", "MP10 1", at(n), livestream_id=livestream) for n in range(1, 6)
    ]
    await produce(live, before)
    async with in_process_pipeline(live) as driver:
        await driver.run()
    assert len(await store_drafts(live, SHOP, livestream)) == 5

    admin = AIOKafkaAdminClient(bootstrap_servers=live.kafka)
    await admin.start()
    try:
        await admin.create_partitions({live.topics.comments: NewPartitions(8)})
    finally:
        await admin.close()

    async def eight() -> bool:
        return len(await partitions_of(live, live.topics.comments)) == 8

    await wait_for(eight, "the comments topic with 8 partitions")
    after = [
        comment(f"a{n}", f"u{n}", "MP10 1", at(n), livestream_id=livestream) for n in range(6, 9)
    ]
    sent = await produce(live, after)
    assert sent == [(partition_for(livestream, 8), n) for n in range(3)]
    async with in_process_pipeline(live) as driver:  # a worker assigned all 8 partitions
        await driver.run()

    drafts = await store_drafts(live, SHOP, livestream)
    assert [d["customer"]["user_id"] for d in drafts] == [f"u{n}" for n in range(1, 9)], (
        "comments after the repartition were dropped as if already applied"
    )


async def test_a_store_refusal_stops_the_worker_rather_than_wedging_it(
    live: Settings, workers: WorkerFactory, own_redis: RedisServer, tmp_path: Path
) -> None:
    """ARCHITECTURE.md: "let only failures of the store itself stop the worker". Redis refuses
    one batch (out of memory: `maxmemory` reached), then accepts writes again. The worker must
    either stop (so that it is restarted and the group reassigns its partitions) or go on
    applying; it must not stay in the group, alive, applying nothing."""
    import dataclasses

    import redis.asyncio

    settings = dataclasses.replace(live, redis=own_redis.url)
    shop_path = shop_file(tmp_path)
    livestream = unique("int-refusal")
    chotdon(settings, "live", "start", "--shop", str(shop_path), "--livestream", livestream)
    first = workers(settings=settings)

    def orders(prefix: str, start: int) -> list[Comment]:
        return [
            comment(
                f"{prefix}{n}", f"{prefix}-u{n}", "MP10 1", at(start + n), livestream_id=livestream
            )
            for n in range(3)
        ]

    sent = await produce(settings, orders("w", 0))
    await wait_applied(settings, SHOP, livestream, sent[-1][1], watch=[first])
    client = redis.asyncio.Redis.from_url(own_redis.url)
    try:
        await client.config_set("maxmemory", "1")
        refused = orders("x", 10)
        await produce(settings, refused)

        async def refused_once() -> bool:
            stats = await client.info("errorstats")
            return stats.get("errorstat_OOM", {}).get("count", 0) >= 1

        await wait_for(refused_once, "Redis refusing the worker's batch", watch=[first])
        await client.config_set("maxmemory", "0")
    finally:
        await client.aclose()
    later = orders("y", 20)
    sent = await produce(settings, later)

    async def stopped_or_applied() -> bool:
        watermark, _ = await progress(settings, SHOP, livestream)
        return not first.alive or watermark >= sent[-1][1]

    first.expected_exit = True
    try:
        await wait_for(stopped_or_applied, "the worker to stop or to go on", limit=20)
    except AssertionError:
        raise AssertionError(
            "after Redis refused a batch the worker stays alive in the group and applies "
            f"nothing more\n{first.tail(30)}"
        ) from None
    if not first.alive:
        assert first.process.returncode != 0, "a worker stopped by a failure must exit non-zero"
        second = workers(settings=settings)
        await wait_applied(settings, SHOP, livestream, sent[-1][1], watch=[second])
    drafts = await store_drafts(settings, SHOP, livestream)
    assert len(drafts) == 9, [d["customer"]["user_id"] for d in drafts]


# --------------------------------------------------------------------------- Redis goes back


async def _snapshot(url: str) -> dict[bytes, tuple[bytes, int]]:
    """Every key of the database as DUMP gives it, with its TTL: what an older AOF holds."""
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(count=1000)]
        dumps = [await client.dump(key) for key in keys]
        ttls = [await client.pttl(key) for key in keys]
    finally:
        await client.aclose()
    return {k: (d, t) for k, d, t in zip(keys, dumps, ttls, strict=True) if d is not None}


async def _roll_back(url: str, snapshot: dict[bytes, tuple[bytes, int]]) -> None:
    """Redis comes back with the older state: everything after the snapshot is lost."""
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(url)
    try:
        await client.flushdb()
        for key, (dump, ttl) in snapshot.items():
            await client.restore(key, max(ttl, 0), dump)
    finally:
        await client.aclose()


@pytest.mark.parametrize("restart", [False, True], ids=["running", "restarted"])
async def test_redis_that_lost_its_last_writes_is_caught_up_from_the_store_positions(
    live: Settings, workers: WorkerFactory, own_redis: RedisServer, tmp_path: Path, restart: bool
) -> None:
    """The store's positions, not Kafka's committed offsets, decide where consumption resumes.
    A stream is applied and committed; Redis then comes back older (its state of mid-stream,
    as after a restart from an fsync-everysec AOF or a failover to a lagging replica). With
    the worker still running (it notices when its next batch finds the store behind what it
    applied), or with a new worker (it seeks to the store's positions when given the
    partitions), the lost comments are applied again: the drafts equal the pure book's."""
    import dataclasses

    settings = dataclasses.replace(live, redis=own_redis.url)
    shop = shop_with(DEMO_SHOP)
    livestream = unique("int-back")
    chotdon(settings, "live", "start", "--shop", str(DEMO_SHOP), "--livestream", livestream)
    partition = partition_for(livestream, live.comment_partitions)
    comments = generate(900, 120, livestream_id=livestream, seed=5)
    first_part, lost, after = comments[:300], comments[300:600], comments[600:]
    worker = workers(settings=settings)
    sent = await produce(settings, first_part)
    await wait_applied(settings, SHOP, livestream, sent[-1][1], watch=[worker])
    snapshot = await _snapshot(own_redis.url)
    sent = await produce(settings, lost)
    await wait_applied(settings, SHOP, livestream, sent[-1][1], watch=[worker])

    async def committed_all() -> bool:
        return (await committed_offsets(settings)).get(partition, -1) == sent[-1][1] + 1

    await wait_for(committed_all, "Kafka's committed offset past the lost comments", watch=[worker])
    if restart:
        assert worker.stop() == 0
    await _roll_back(own_redis.url, snapshot)
    assert (await progress(settings, SHOP, livestream))[0] < sent[0][1]
    if restart:
        worker = workers(settings=settings)
    sent = await produce(settings, after)
    await wait_applied(settings, SHOP, livestream, sent[-1][1], watch=[worker])

    drafts = await store_drafts(settings, SHOP, livestream)
    model = model_drafts(comments, shop, livestream)
    assert drafts == model, first_difference(drafts, model)
    no_duplicate_comment_ids(drafts, comment_events(comments, shop))
    assert "the store's position" in worker.log() or "Redis is behind" in worker.log()
