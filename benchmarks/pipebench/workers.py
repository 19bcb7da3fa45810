"""The worker processes: each variant's agent (bare, naive, chotdon, aiokafka references) and
the proposed product changes patched into a worker only."""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from config.settings import Settings, load_settings
from pipebench.config import RESULT_KEY, SHOP_FILE, WorkerSpec


def worker_main(spec: WorkerSpec) -> None:
    """Runs in the worker process: chotdon's faust app, its agent swapped for (a) and (b)."""
    import faust

    from stream.app import Tuning, create_app

    settings = load_settings()
    tuning = Tuning(**spec.knobs.tuning)  # type: ignore[arg-type]
    if spec.variant in ("k", "p"):  # no faust.Worker to turn SIGTERM into a clean exit
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if spec.variant == "k":
        asyncio.run(bare_aiokafka(settings, tuning, spec))
        return
    if spec.variant == "p":
        if spec.knobs.info_cache:
            _cache_livestream_info(spec.knobs.info_cache)
        if not spec.knobs.product_metrics:
            _silence_product_metrics()
        if spec.metrics_port:
            from prometheus_client import start_http_server

            start_http_server(spec.metrics_port, addr="127.0.0.1")
        asyncio.run(pipeline_aiokafka(settings, tuning, spec))
        return
    app = create_app(settings, tuning, spec.knobs.agents)
    for name, value in spec.knobs.conf.items():
        setattr(app.conf, name, value)
    if not spec.knobs.monitor:
        app.monitor = _quiet_monitor()
    if not spec.knobs.product_metrics:
        _silence_product_metrics()
    if spec.knobs.overlap_intake:
        import stream.app

        setattr(stream.app, "take_batches", take_batches_overlapped)  # noqa: B010
    if spec.knobs.info_cache:
        _cache_livestream_info(spec.knobs.info_cache)
    if spec.knobs.skip_moved:
        _skip_moved_drafts()
    if spec.variant == "c":
        _instrument_pipeline(settings, spec)
    else:
        _replace_agent(app, settings, tuning, spec)
    if spec.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(spec.metrics_port, addr="127.0.0.1")
    if spec.knobs.gc_freeze:
        gc.collect()
        gc.freeze()
    worker = faust.Worker(app, loglevel=spec.knobs.loglevel, quiet=True)
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


async def pipeline_aiokafka(settings: Settings, tuning: Any, spec: WorkerSpec) -> None:
    """(p), a proposal: chotdon's own CommentPipeline (unchanged) driven by a plain aiokafka
    consumer instead of a faust agent. Batches from getmany() (up to Tuning.batch_size), one
    `handle` per batch (Redis applied, draft events acknowledged by Kafka), offsets committed
    after that, at most once a second: the same at-least-once contract as the agent."""
    import redis.asyncio
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from orders.store import DraftStore
    from stream.pipeline import Backoff, CommentPipeline, Record

    client = redis.asyncio.from_url(settings.redis, socket_timeout=10)
    store = DraftStore(client)
    await store.load_functions()
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka, acks="all", linger_ms=5)
    await producer.start()

    async def publish(messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        futures = [await producer.send(topic, value, key=key) for topic, key, value in messages]
        await asyncio.gather(*futures)

    pipeline = CommentPipeline(store, publish, settings.topics, Backoff())
    consumer = AIOKafkaConsumer(
        settings.topics.comments, bootstrap_servers=settings.kafka, group_id=settings.app_id,
        auto_offset_reset="earliest", enable_auto_commit=False,
        max_poll_records=tuning.max_poll_records,
    )  # fmt: skip
    await consumer.start()
    key = RESULT_KEY + spec.run_id
    first, committed = True, time.monotonic()
    wait_ms = max(1, int(tuning.batch_within * 1000))
    try:
        while True:
            fetched = await consumer.getmany(timeout_ms=wait_ms, max_records=tuning.batch_size)
            records = [
                Record(r.topic, r.partition, r.offset, r.key, r.value)
                for batch in fetched.values()
                for r in batch
            ]
            if not records:
                continue
            if first:
                first = False
                await client.hset(key, "first", time.time())
                if spec.profile:
                    _start_profile(spec.profile)
            await pipeline.handle(records)
            if time.monotonic() - committed >= 1.0:
                await consumer.commit()
                committed = time.monotonic()
    finally:
        await consumer.stop()
        await producer.stop()
        await client.aclose()


async def take_batches_overlapped(
    stream: Any, max_size: int, within: float
) -> AsyncIterator[Sequence[Any]]:
    """stream.batching.take_batches, except that the stream goes on filling the next batch
    (up to `max_size` events) while the caller works on the one it was given, instead of
    stopping until the caller comes back. A caller that comes back to events already waiting
    gets them at once; only an empty buffer waits (up to `within` for `max_size` events).
    Acks stay with the caller, as in take_batches: nothing is acked here."""
    events: list[Any] = []
    full = asyncio.Event()
    room = asyncio.Event()
    room.set()

    async def add_to_buffer(value: Any) -> Any:
        while len(events) >= max_size:  # the next batch is full: wait until it is taken
            room.clear()
            await stream.wait(room)
        event = stream.current_event
        if event is None:  # pragma: no cover - faust always sets it for a processor
            raise RuntimeError("no current event in the take buffer")
        events.append(event)
        if len(events) >= max_size:
            full.set()
        return value

    stream.enable_acks = False
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))
    while not stream.should_stop:
        if not events:
            await stream.wait_for_stopped(full, timeout=within)
            if not events:
                continue
        batch = events[:max_size]
        del events[: len(batch)]
        full.clear()
        room.set()
        yield batch


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


def _skip_moved_drafts() -> None:
    """The pipeline reads `Applied.changed` only for two gauges (lines and waitlisted units of
    the batch's drafts), which decodes every changed draft, the many that only moved up a
    waitlist included. Stand-in for the fix: `changed` decodes the drafts it publishes."""
    from orders.store import Applied, _drafts_of

    def changed(self: Applied) -> list[Any]:
        kept = [raw for raw, moved in zip(self.raw_changed, self.moved, strict=True) if not moved]
        return _drafts_of(kept)

    setattr(Applied, "changed", property(changed))  # noqa: B010


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
    """(c): note when the agent receives its first batch (and start the profiler there), by
    wrapping the take_batches that stream.app's agent iterates; nothing else changes. The end
    is seen from outside, in the store's watermarks."""
    import redis.asyncio

    import stream.app

    original = getattr(stream.app, "take_batches")  # noqa: B009 - the agent's own global
    client = redis.asyncio.from_url(settings.redis)

    async def timed_batches(stream: Any, max_size: int, within: float) -> AsyncIterator[Any]:
        batches = original(stream, max_size, within)
        first = await anext(batches)
        await client.hset(RESULT_KEY + spec.run_id, "first", time.time())
        if spec.profile:
            _start_profile(spec.profile)
        yield first
        async for batch in batches:
            yield batch

    setattr(stream.app, "take_batches", timed_batches)  # noqa: B010


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

    name = next(iter(app.agents))
    channel = app.agents.pop(name).channel
    key = RESULT_KEY + spec.run_id

    async def report(client: Any, first: float, last: float, count: int) -> None:
        await client.hset(key, mapping={"first": first, "last": last, "count": count})

    async def mark_first(client: Any) -> float:
        first = time.time()
        await client.hset(key, "first", first)  # lets the orchestrator start its CPU clocks
        return first

    if spec.variant == "a":

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
