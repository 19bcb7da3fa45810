"""Latency at a steady rate: from each comment's created_at to the draft event naming it, and
the worker's own histogram."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from config.settings import Settings
from pipebench.config import Knobs, WorkerSpec
from pipebench.runs import (
    code_version,
    delete_topics,
    reset_redis,
    start_worker,
    topic_end_offsets,
    wait_watermarks,
)


def _metric_buckets(port: int) -> dict[float, float]:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "chotdon_end_to_end_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                buckets[float(sample.labels["le"])] = sample.value
    return buckets


def histogram_quantile(q: float, buckets: dict[float, float]) -> float:
    """Prometheus' histogram_quantile over cumulative buckets: linear within a bucket."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total <= 0:
        return float("nan")
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = bound, count
    return bounds[-1]


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# Comment ids are unique per livestream only (the sample generator numbers each livestream's
# comments from 0), so comments are known by (livestream id, comment id).
CommentKey = tuple[str, str]


async def read_created_at(settings: Settings, topic: str) -> dict[CommentKey, float]:
    """Each comment's created_at as produced (replay stamps the send time)."""
    import orjson
    from aiokafka import AIOKafkaConsumer, TopicPartition

    ends = await topic_end_offsets(settings, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka, enable_auto_commit=False)
    await consumer.start()
    created: dict[CommentKey, float] = {}
    try:
        tps = [TopicPartition(topic, p) for p in ends]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        remaining = {tp: ends[tp.partition] for tp in tps if ends[tp.partition]}
        while remaining:
            batch = await consumer.getmany(timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    value = orjson.loads(record.value)
                    moment = datetime.fromisoformat(value["created_at"]).timestamp()
                    created[value["livestream_id"], value["id"]] = moment
                if records and records[-1].offset + 1 >= remaining.get(tp, 0):
                    remaining.pop(tp, None)
    finally:
        await consumer.stop()
    return created


async def collect_events(settings: Settings, topic: str, seen: dict[CommentKey, float]) -> None:
    """Draft events -> first emitted_at of each comment id they name."""
    import orjson
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    try:
        async for record in consumer:
            event = orjson.loads(record.value)
            emitted = datetime.fromisoformat(event["emitted_at"]).timestamp()
            for comment_id in event["comment_ids"]:
                seen.setdefault((event["livestream_id"], comment_id), emitted)
    finally:
        await consumer.stop()


async def latency_run(
    args: argparse.Namespace,
    base: Settings,
    comments: Sequence[Any],
    livestreams: list[str],
    knobs: Knobs,
    variant: str = "c",
) -> dict[str, Any]:
    """(c) (or (p)) at a steady rate, created_at = send time; latency to the draft being applied."""
    import redis.asyncio

    from cli.replay import produce
    from orders.store import DraftStore
    from stack import free_port

    tag, settings = await fresh_topics(base, "latency")
    knobs = knobs if knobs.stock_scale != 1 else replace(knobs, stock_scale=args.stock_scale)
    await reset_redis(settings, livestreams, knobs.stock_scale)
    total = int(args.latency_rate * args.latency_seconds)
    main = list(comments[:total])
    warmup = list(comments[-args.latency_warmup :])
    port = free_port()
    code = code_version()
    run_id = f"latency-{tag}"
    worker = start_worker(
        settings,
        WorkerSpec(variant, run_id, knobs, metrics_port=port),
        Path(args.stack_dir) / "logs",
    )
    client = redis.asyncio.from_url(settings.redis)
    store = DraftStore(client)
    emitted: dict[CommentKey, float] = {}
    collector = asyncio.ensure_future(
        collect_events(settings, settings.topics.draft_events, emitted)
    )
    try:
        acked = await produce(settings, warmup, rate=200.0, now=True, quiet=True)
        await wait_watermarks(store, _last_offsets(warmup, acked), worker, 180, poll=0.05)
        before = await asyncio.to_thread(_metric_buckets, port)
        started = time.perf_counter()
        acked = await produce(settings, main, rate=args.latency_rate, now=True, quiet=True)
        sent_rate = len(main) / (time.perf_counter() - started)
        await wait_watermarks(store, _last_offsets(main, acked), worker, 120, poll=0.01)
        await asyncio.sleep(1.0)  # the last draft events reach the collector
        after = await asyncio.to_thread(_metric_buckets, port)
    finally:
        collector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await collector
        worker.stop()
        await client.aclose()
    created = await read_created_at(settings, settings.topics.comments)
    await delete_topics(settings, [settings.topics.comments, settings.topics.draft_events])
    ids = {(c.livestream_id, c.id) for c in main}
    pairs = sorted(
        (created[i], emitted[i] - created[i]) for i in ids if i in emitted and i in created
    )
    exact = [latency for _, latency in pairs]
    # p99 of each second of the run: shows whether slow comments are spread or bunched.
    by_second: dict[int, list[float]] = {}
    for moment, latency in pairs:
        by_second.setdefault(int(moment - pairs[0][0]), []).append(latency)
    per_second = [round(quantile(v, 0.99) * 1000, 1) for _, v in sorted(by_second.items())]
    delta = {le: after[le] - before.get(le, 0.0) for le in after}
    return {
        "label": knobs.label,
        "rate_sent": sent_rate,
        "comments": len(main),
        "exact_samples": len(exact),
        "exact_p50": quantile(exact, 0.50) if exact else None,
        "exact_p99": quantile(exact, 0.99) if exact else None,
        "exact_max": max(exact) if exact else None,
        "histogram_samples": delta.get(float("inf"), 0.0),
        "histogram_p50": histogram_quantile(0.50, delta),
        "histogram_p99": histogram_quantile(0.99, delta),
        "exact_p99_ms_by_second": per_second,
        "samples": [round(v, 4) for v in exact],
        "code": code,
    }


async def fresh_topics(base: Settings, name: str) -> tuple[str, Settings]:
    """A tag and settings with comments and draft-events topics of their own, created."""
    from stack import ensure_topics

    tag = uuid.uuid4().hex[:8]
    topics = replace(
        base.topics, comments=f"bench.{name}.{tag}", draft_events=f"bench.{name}-events.{tag}"
    )
    settings = replace(base, topics=topics)
    await ensure_topics(settings)
    return tag, settings


def _last_offsets(comments: Sequence[Any], acked: Sequence[tuple[int, int]]) -> dict[str, int]:
    last: dict[str, int] = {}
    for comment, (_partition, offset) in zip(comments, acked, strict=True):
        last[comment.livestream_id] = max(offset, last.get(comment.livestream_id, -1))
    return last
