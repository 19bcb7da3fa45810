"""A flood: a steady rate with a burst of 20 times it in the middle, into one chotdon worker.

Reported: the lag (records produced and not yet applied) over time and its peak, the time from
the end of the burst until everything produced by then is applied, p50/p99 latency (created_at
-> draft event) of the comments sent before, during and after the burst, and that every
comment was applied exactly once: the drafts in Redis equal those of the pure order book fed
the same comments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config.settings import Settings
from pipebench.config import SHOP_ID, Knobs, WorkerSpec
from pipebench.latency import CommentKey, cdf_points, collect_events, fresh_topics, quantile
from pipebench.runs import bench_shop, code_version, delete_topics, reset_redis, start_worker

PLACEHOLDER = datetime(2000, 1, 1, tzinfo=UTC)
PLACEHOLDER_TEXT = b'"2000-01-01T00:00:00+00:00"'


def schedule(args: argparse.Namespace) -> list[tuple[str, float, float]]:
    """(phase, rate, seconds): steady, burst, steady."""
    burst = args.flood_rate * args.flood_factor
    return [
        ("before", args.flood_rate, args.flood_before),
        ("burst", burst, args.flood_burst),
        ("after", args.flood_rate, args.flood_after),
    ]


async def produce_schedule(
    settings: Settings,
    comments: Sequence[Any],
    phases: Sequence[tuple[str, float, float]],
    sent_at: dict[CommentKey, float],
    phase_of: dict[CommentKey, str],
    marks: dict[str, float],
) -> list[tuple[str, int, int]]:
    """Send the comments on the schedule, created_at = the moment each is sent; the JSON is
    rendered beforehand with a placeholder time (rendering 20,000 a second would otherwise be
    the producer's bottleneck). Returns (livestream, partition, offset) of each."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka, acks="all", linger_ms=5, max_batch_size=256 * 1024
    )
    await producer.start()
    rendered = [c.model_copy(update={"created_at": PLACEHOLDER}).to_json() for c in comments]
    assert all(PLACEHOLDER_TEXT in r for r in rendered)
    topic = settings.topics.comments
    futures: list[tuple[str, asyncio.Future[Any]]] = []
    index = 0
    try:
        for phase, rate, seconds in phases:
            started = time.time()
            marks[f"{phase}_start"] = started
            count = int(rate * seconds)
            for n in range(count):
                if index >= len(comments):
                    break
                delay = started + n / rate - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                comment = comments[index]
                now = time.time()
                stamp = datetime.fromtimestamp(now, UTC).isoformat().encode()
                value = rendered[index].replace(PLACEHOLDER_TEXT, b'"' + stamp + b'"', 1)
                key = (comment.livestream_id, comment.id)
                sent_at[key] = now
                phase_of[key] = phase
                live = comment.livestream_id
                futures.append((live, await producer.send(topic, value, key=live.encode())))
                index += 1
            marks[f"{phase}_end"] = time.time()
            marks[f"{phase}_sent"] = count
        await producer.flush()
        acked = [(live, await future) for live, future in futures]
    finally:
        await producer.stop()
    return [(live, meta.partition, meta.offset) for live, meta in acked]


async def watch_lag(
    settings: Settings,
    store: Any,
    livestreams: Sequence[str],
    series: list[Any],
    stop: Any,
    progress: list[tuple[float, dict[str, int]]] | None = None,
) -> None:
    """Every 0.2 s: records on the topic (end offsets) minus records applied (per partition,
    the highest watermark of its livestreams + 1); and in `progress`, each livestream's highest
    watermark then (when everything sent by a moment was applied)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka, enable_auto_commit=False)
    await consumer.start()
    tps = [TopicPartition(settings.topics.comments, p) for p in range(settings.comment_partitions)]
    try:
        while not stop.is_set():
            ends = await consumer.end_offsets(tps)
            applied: dict[int, int] = {}
            marks = await store.watermarks(dict.fromkeys(livestreams, SHOP_ID), range(len(tps)))
            for by_partition in marks.values():
                for p, mark in by_partition.items():
                    applied[p] = max(applied.get(p, 0), mark + 1)
            produced = sum(ends.values())
            now = time.time()
            series.append((now, produced, produced - sum(applied.values())))
            if progress is not None:
                progress.append((now, {live: max(m.values(), default=-1)
                                       for live, m in marks.items()}))  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
    finally:
        await consumer.stop()


def book_drafts(comments: Sequence[Any], shop: Any) -> dict[str, list[Any]]:
    """What the pure order book makes of the comments, per livestream (the reference)."""
    from orders.book import OrderBook
    from parsers import compile_grammar
    from stream.pipeline import comment_event

    grammar = compile_grammar(shop)
    books: dict[str, OrderBook] = {}
    offsets: dict[str, int] = {}
    for comment in comments:
        live = comment.livestream_id
        book = books.get(live)
        if book is None:
            products = {p.code: p for p in shop.products}
            book = books[live] = OrderBook(SHOP_ID, live, products, shop.orders.repeat_comment)
        offset = offsets[live] = offsets.get(live, -1) + 1
        event = comment_event(comment, grammar.parse(comment.text, comment.id), offset, 0)
        book.apply([event])
    return {live: book.drafts() for live, book in books.items()}


async def flood_run(
    args: argparse.Namespace,
    base: Settings,
    comments: Sequence[Any],
    livestreams: list[str],
) -> dict[str, Any]:
    import redis.asyncio

    from orders.store import DraftStore

    tag, settings = await fresh_topics(base, "flood")
    await reset_redis(settings, livestreams, args.stock_scale)
    phases = schedule(args)
    total = sum(int(rate * seconds) for _, rate, seconds in phases)
    if total > len(comments):  # the default flood (250,000) is more than the throughput runs'
        from pipebench.runs import make_comments

        comments, livestreams = make_comments(
            argparse.Namespace(**{**vars(args), "comments": total})
        )
    chosen = list(comments[:total])
    code = code_version()
    worker = start_worker(
        settings, WorkerSpec("c", f"flood-{tag}", Knobs("flood")), Path(args.stack_dir) / "logs"
    )
    client = redis.asyncio.from_url(settings.redis)
    store = DraftStore(client)
    emitted: dict[CommentKey, float] = {}
    sent_at: dict[CommentKey, float] = {}
    phase_of: dict[CommentKey, str] = {}
    marks: dict[str, float] = {}
    lag: list[tuple[float, int, int]] = []
    stop = asyncio.Event()
    collector = asyncio.ensure_future(
        collect_events(settings, settings.topics.draft_events, emitted)
    )
    progress_series: list[tuple[float, dict[str, int]]] = []
    watcher = asyncio.ensure_future(
        watch_lag(settings, store, livestreams, lag, stop, progress_series)
    )
    try:
        await _wait_ready(worker, settings.topics.comments)
        acked = await produce_schedule(settings, chosen, phases, sent_at, phase_of, marks)
        last = {live: offset for live, _p, offset in acked}  # in order: the last one wins
        burst_end = marks["burst_end"]
        cutoff = {}  # per livestream, its last offset produced by the end of the burst
        for (live, _p, offset), comment in zip(acked, chosen, strict=True):
            if sent_at[comment.livestream_id, comment.id] <= burst_end:
                cutoff[live] = offset
        # From the watcher's samples, taken while the schedule went on: the check below starts
        # only once the whole schedule was sent (the 30 s after the burst included), so alone it
        # could never find a catch-up shorter than that phase (it reported ~31 s every time).
        caught_up_at = next(
            (t for t, applied in progress_series if t >= burst_end and _past(applied, cutoff)),
            None,
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            progress = {live: (await store.progress(SHOP_ID, live))[0] for live in last}
            if caught_up_at is None and _past(progress, cutoff):
                caught_up_at = time.time()
            if _past(progress, last):
                break
            worker.check()
            await asyncio.sleep(0.02)
        await asyncio.sleep(1.0)  # the last draft events reach the collector
    finally:
        stop.set()
        collector.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await collector
        with contextlib.suppress(Exception):
            await watcher
        worker.stop()
    # exactly once: Redis's drafts against the pure book's, per livestream, fed the comments
    # as produced (created_at is the moment each was sent: drafts carry comment times)
    stamped = [
        c.model_copy(update={"created_at": datetime.fromtimestamp(sent_at[c.livestream_id, c.id],
                                                                  UTC)})
        for c in chosen
    ]  # fmt: skip
    want = book_drafts(stamped, bench_shop(args.stock_scale))
    same = []
    for live in livestreams:
        got = await store.drafts(SHOP_ID, live)
        same.append(got == want.get(live, []))
    await client.aclose()
    await delete_topics(settings, [settings.topics.comments, settings.topics.draft_events])
    latencies: dict[str, list[float]] = {name: [] for name, _, _ in phases}
    for key, moment in emitted.items():
        if key in sent_at:
            latencies[phase_of[key]].append(moment - sent_at[key])
    start = marks["before_start"]
    return {
        "phases": [{"phase": n, "rate": r, "seconds": s} for n, r, s in phases],
        "sent": {name: marks[f"{name}_sent"] for name, _, _ in phases},
        "sent_rate": {
            name: marks[f"{name}_sent"] / max(1e-9, marks[f"{name}_end"] - marks[f"{name}_start"])
            for name, _, _ in phases
        },
        "marks": {k: v - start for k, v in marks.items() if k.endswith(("_start", "_end"))},
        "peak_lag": max((n for _, _, n in lag), default=0),
        "catch_up_seconds": None if caught_up_at is None else caught_up_at - burst_end,
        "latency": {
            name: {
                "n": len(values),
                "p50": quantile(values, 0.5) if values else None,
                "p99": quantile(values, 0.99) if values else None,
                "max": max(values) if values else None,
            }
            for name, values in latencies.items()
        },
        "latency_samples": {name: cdf_points(values) for name, values in latencies.items()},
        "lag_series": [(round(t - start, 2), produced, n) for t, produced, n in lag],
        "exactly_once": all(same),
        "livestreams_equal": sum(same),
        "comments": total,
        "code": code,
    }


def _past(applied: dict[str, int], offsets: dict[str, int]) -> bool:
    """Whether every livestream's watermark has reached its offset in `offsets`."""
    return all(applied.get(live, -1) >= offset for live, offset in offsets.items())


async def _wait_ready(worker: Any, topic: str) -> None:
    """The worker's intake has its partitions (its log shows the assignment) before the clock
    starts."""
    import re

    assigned = re.compile(r"\| " + re.escape(topic) + r"\s*\| \{")
    deadline = time.monotonic() + 120
    while not assigned.search(worker.log.read_text(errors="replace")):
        worker.check()
        if time.monotonic() > deadline:
            raise TimeoutError("the flood's worker did not get its partitions")
        await asyncio.sleep(0.1)
