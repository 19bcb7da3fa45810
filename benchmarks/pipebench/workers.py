"""The worker processes: each variant's agent (bare, naive, chotdon, aiokafka references) and
the proposed product changes patched into a worker only."""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

from config.settings import Settings, load_settings
from pipebench.config import FAUST_COMMENT_VARIANTS, RESULT_KEY, SHOP_FILE, WorkerSpec


def worker_main(spec: WorkerSpec) -> None:
    """Runs in the worker process: chotdon's faust app; for (a), (A), (b) and (f) a faust
    agent on the comments topic instead of the intake."""

    from stream.app import Tuning, Worker, create_app

    settings = load_settings()
    tuning = Tuning(**spec.knobs.tuning)  # type: ignore[arg-type]
    if spec.variant == "k":  # no faust.Worker to turn SIGTERM into a clean exit
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        asyncio.run(bare_aiokafka(settings, tuning, spec))
        return
    faust_comments = spec.variant in FAUST_COMMENT_VARIANTS
    agents = [a for a in spec.knobs.agents if not (faust_comments and a == "comments")]
    if spec.variant == "o":
        agents = ["comments"]
    app = create_app(settings, tuning, agents)
    conf = dict(spec.knobs.conf)
    if spec.variant in ("A", "f"):
        conf.setdefault("consumer_max_fetch_size", 16 * 1024**2)
    for name, value in conf.items():
        setattr(app.conf, name, value)
    if not spec.knobs.monitor:
        app.monitor = _quiet_monitor()
    if not spec.knobs.product_metrics:
        _silence_product_metrics()
    if spec.knobs.info_cache:
        _cache_livestream_info(spec.knobs.info_cache)
    if spec.variant in ("c", "o", "C"):
        _instrument_pipeline(settings, spec)
    elif spec.variant == "f":
        _faust_take_agent(app, settings, tuning, spec)
    else:
        _replace_agent(app, settings, tuning, spec)
    if spec.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(spec.metrics_port, addr="127.0.0.1")
    if spec.knobs.gc_freeze:
        gc.collect()
        gc.freeze()
    worker = Worker(app, loglevel=spec.knobs.loglevel, quiet=True)
    worker.execute_from_commandline()


async def bare_aiokafka(settings: Settings, tuning: Any, spec: WorkerSpec) -> None:
    """(k): no faust: an aiokafka consumer, getmany() batches of Tuning.batch_size, each record
    decoded (Comment.from_json), offsets committed once a second. What faust's per-message
    machinery costs is the difference to (a)."""
    import redis.asyncio
    from aiokafka import AIOKafkaConsumer

    from stream.messages import Comment

    client = redis.asyncio.from_url(settings.redis)
    consumer = AIOKafkaConsumer(
        settings.topics.comments, bootstrap_servers=settings.kafka, group_id=settings.app_id,
        auto_offset_reset="earliest", enable_auto_commit=False,
        max_poll_records=tuning.max_poll_records,
    )  # fmt: skip
    await consumer.start()
    key = RESULT_KEY + spec.run_id
    count, first, committed = 0, 0.0, time.monotonic()
    try:
        while count < spec.expected:
            batches = await consumer.getmany(timeout_ms=1000, max_records=tuning.batch_size)
            for records in batches.values():
                if records and not count:
                    first = time.time()
                    await client.hset(key, "first", first)
                for record in records:
                    Comment.from_json(record.value)
                count += len(records)
            if time.monotonic() - committed >= 1.0:
                await consumer.commit()
                committed = time.monotonic()
        await client.hset(key, mapping={"first": first, "last": time.time(), "count": count})
        await asyncio.sleep(3600)  # until stopped, like the faust workers
    finally:
        await consumer.stop()
        await client.aclose()


def _cache_livestream_info(seconds: float) -> None:
    """DraftStore.livestream_info (two round trips per livestream per batch) answered from
    memory for `seconds` (a stand-in for reading it once per batch or from the FCALL)."""
    from orders.store import DraftStore

    original = DraftStore.livestream_info
    cache: dict[str, tuple[float, Any]] = {}

    async def livestream_info(self: DraftStore, livestream_id: str) -> Any:
        now = time.monotonic()
        hit = cache.get(livestream_id)
        if hit is not None and now - hit[0] < seconds:
            return hit[1]
        info = await original(self, livestream_id)
        cache[livestream_id] = (now, info)
        return info

    setattr(DraftStore, "livestream_info", livestream_info)  # noqa: B010


def _quiet_monitor() -> Any:
    """faust's Monitor without its per-event and per-send bookkeeping (the hooks of the base
    Sensor, which do nothing); what the consumer itself needs of it stays."""
    from faust.sensors import Monitor
    from faust.sensors.base import Sensor

    hooks = (
        "on_message_in",
        "on_stream_event_in",
        "on_stream_event_out",
        "on_message_out",
        "on_send_initiated",
        "on_send_completed",
        "on_send_error",
        "on_topic_buffer_full",
    )
    quiet = type("QuietMonitor", (Monitor,), {name: getattr(Sensor, name) for name in hooks})
    return quiet()


class _NoMetric:
    def labels(self, *args: Any, **kwargs: Any) -> _NoMetric:
        return self

    def inc(self, *args: Any) -> None: ...
    def observe(self, *args: Any) -> None: ...
    def set(self, *args: Any) -> None: ...


def _silence_product_metrics() -> None:
    from prometheus_client import Counter, Gauge, Histogram

    from stream import metrics

    for name, value in list(vars(metrics).items()):
        if isinstance(value, Counter | Gauge | Histogram):
            setattr(metrics, name, _NoMetric())


def _instrument_pipeline(settings: Settings, spec: WorkerSpec) -> None:
    """(c): note when the intake prepares its first batch (and start the profiler there), by
    wrapping CommentPipeline.prepare; nothing else changes. The end is seen from outside, in
    the store's watermarks. Two workers of one run write the first moment once (HSETNX)."""
    import redis.asyncio

    from stream.pipeline import CommentPipeline

    original = CommentPipeline.prepare
    client = redis.asyncio.from_url(settings.redis)
    marked = False

    async def prepare(self: CommentPipeline, records: Sequence[Any]) -> Any:
        nonlocal marked
        if not marked:
            marked = True
            await client.hsetnx(RESULT_KEY + spec.run_id, "first", time.time())
            if spec.profile:
                _start_profile(spec.profile)
        return await original(self, records)

    setattr(CommentPipeline, "prepare", prepare)  # noqa: B010


def _faust_take_agent(app: Any, settings: Settings, tuning: Any, spec: WorkerSpec) -> None:
    """(f): the comment path as a faust agent, as chotdon had it before the intake: batches
    of faust's stream (stream.batching.take_batches: faust's own take() acks in a finally),
    CommentPipeline with the store call of batch N overlapping the parse of N+1, acks after
    Redis and Kafka have the batch; with the 16 MiB fetch size. The option "faust's take()
    with a large fetch size" of the issue, measured."""
    import redis.asyncio

    from orders.store import DraftStore
    from stream.batching import take_batches
    from stream.pipeline import Backoff, CommentPipeline, Record

    channel = _comments_topic(app, settings)

    async def publish(messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        producer = app.producer
        futures = [await producer.send(t, k, v, None, None, None) for t, k, v in messages]
        await asyncio.gather(*futures)

    async def agent(stream: Any) -> None:
        client = redis.asyncio.from_url(settings.redis, socket_timeout=10)
        store = DraftStore(client)
        await store.load_functions()
        pipeline = CommentPipeline(store, publish, settings.topics, Backoff())
        in_flight: asyncio.Future[None] | None = None
        marked = False

        async def commit_then_ack(prepared: Any, events: Sequence[Any]) -> None:
            await pipeline.commit(prepared)
            for event in events:
                await stream.ack(event)

        async for events in take_batches(stream, tuning.batch_size, tuning.batch_within):
            if not marked:
                marked = True
                await client.hset(RESULT_KEY + spec.run_id, "first", time.time())
            records = [Record(m.topic, m.partition, m.offset, m.key, m.value)
                       for m in (e.message for e in events)]  # fmt: skip
            prepared = await pipeline.prepare(records)
            if in_flight is not None:
                await in_flight
            in_flight = asyncio.ensure_future(commit_then_ack(prepared, events))

    app.agent(channel, name="bench_faust_take", concurrency=1)(agent)


def _comments_topic(app: Any, settings: Settings) -> Any:
    return app.topic(settings.topics.comments, key_type=bytes, value_type=bytes, internal=False)


def _start_profile(path: str) -> None:
    import atexit
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()

    def dump() -> None:
        profiler.disable()
        profiler.dump_stats(path)

    atexit.register(dump)


def _replace_agent(app: Any, settings: Settings, tuning: Any, spec: WorkerSpec) -> None:
    """The app exactly as create_app made it, with another agent on the same topic."""
    import redis.asyncio

    from stream.batching import take_batches
    from stream.messages import Comment

    channel = _comments_topic(app, settings)
    key = RESULT_KEY + spec.run_id

    async def report(client: Any, first: float, last: float, count: int) -> None:
        await client.hset(key, mapping={"first": first, "last": last, "count": count})

    async def mark_first(client: Any) -> float:
        first = time.time()
        await client.hset(key, "first", first)  # lets the orchestrator start its CPU clocks
        return first

    if spec.variant in ("a", "A"):

        async def bare(stream: Any) -> None:
            client = redis.asyncio.from_url(settings.redis)
            count, first = 0, 0.0
            async for events in take_batches(stream, tuning.batch_size, tuning.batch_within):
                if not count:
                    first = await mark_first(client)
                for event in events:
                    Comment.from_json(event.message.value)
                count += len(events)
                if count >= spec.expected:
                    await report(client, first, time.time(), count)
                    count = -(10**12)  # reported; keep draining

        app.agent(channel, name="bench_bare", concurrency=1)(bare)
        return

    naive = _NaiveEffect(settings.redis)

    async def per_comment(stream: Any) -> None:
        count, first, done = 0, 0.0, False
        async for value in stream:
            if done:
                continue
            if not count:
                first = await mark_first(naive.client)
            await naive.apply(Comment.from_json(value))
            count += 1
            now = time.time()
            if count >= spec.naive_limit or now - first >= spec.naive_seconds:
                await report(naive.client, first, now, count)
                done = True

    app.agent(channel, name="bench_naive", concurrency=1)(per_comment)


class _NaiveEffect:
    """What a per-comment design does: parse, then awaited Redis round trips, one by one."""

    def __init__(self, url: str) -> None:
        import redis.asyncio

        from config.loader import load_shop
        from parsers import compile_grammar

        self.client = redis.asyncio.from_url(url)
        self.grammar = compile_grammar(load_shop(SHOP_FILE))

    async def apply(self, comment: Any) -> None:
        r = self.client
        result = self.grammar.parse(comment.text, comment.id)
        prefix = f"naive:{{{comment.shop_id}:{comment.livestream_id}}}"
        if await r.sismember(f"{prefix}:seen", comment.id):
            return
        await r.sadd(f"{prefix}:seen", comment.id)
        if comment.user_id is None:
            return
        seq: Any = await r.hget(f"{prefix}:customers", comment.user_id)
        if result.intent == "order" and result.items:
            if seq is None:
                seq = await r.incr(f"{prefix}:seq")
                await r.hset(f"{prefix}:customers", comment.user_id, seq)
            seq_text = seq.decode() if isinstance(seq, bytes) else str(seq)
            for item in result.items:
                attributes = ",".join(f"{k}={v}" for k, v in sorted(item.attributes.items()))
                line = f"{seq_text}|{item.code}|{attributes}"
                await r.hincrby(f"{prefix}:lines", line, item.qty)
        elif result.intent == "cancel" and seq is not None:
            await r.hset(f"{prefix}:cancelled", comment.user_id, 1)
        if result.phone:
            await r.hset(f"{prefix}:phones", comment.user_id, result.phone)
