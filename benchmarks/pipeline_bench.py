"""The live pipeline, end to end: Kafka in, draft orders in Redis, against two baselines.

    .venv/bin/python benchmarks/pipeline_bench.py              # 100k comments, 3 runs, latency
    .venv/bin/python benchmarks/pipeline_bench.py --tune       # + the faust tuning matrix
    .venv/bin/python benchmarks/pipeline_bench.py --profile    # + a cProfile of chotdon's worker

One run of the script starts its own Kafka broker and Redis server (stack/, in
`.stack/bench`, ports 29092/29093 and 26379: never the development stack), produces N sample
comments (cli.samples, several livestreams, keyed by livestream, 4 partitions) once, and then
runs, each in its own worker process with a fresh consumer group from offset 0 over the same
records:

  (a) bare    the same faust app as chotdon's (stream.app.create_app, same settings and Tuning)
              with its agent replaced by one that only decodes each record (Comment.from_json),
              in the same batches (stream.batching.take_batches);
  (b) naive   the same app with a per-record agent (`async for value in stream`, faust's own
              acks) that parses each comment and applies it with awaited Redis round trips
              (SISMEMBER + SADD dedupe, HGET customer, INCR + HSET when new, HINCRBY per item,
              HSET phone: ~3-6 commands per comment), capped (--naive-limit, --naive-seconds);
  (c) chotdon chotdon's real comment agent, its livestreams registered with register_shop;
  (k) a plain aiokafka consumer decoding the records (no faust): what faust's path costs;
  (p) chotdon's CommentPipeline, unchanged, driven by aiokafka instead of a faust agent.

comments/s is measured from the first record processed (first batch or record handed to the
agent) to the last: (a), (b) and (k) record it in the agent, (c) and (p) are done when the
store's offset watermarks of every livestream reach the last offsets produced (store.progress,
polled), with the CPU time per comment of the worker, Redis and Kafka alongside. The median of
--runs runs is reported. Then the latency of (c) at a steady --latency-rate comments/s
(produced by cli.replay.produce with created_at = send time): exactly from the
draft-events topic (emitted_at - created_at of each comment the events name) and coarsely from
the worker's Prometheus histogram chotdon_end_to_end_seconds (every comment).

--tune adds (c) with one knob changed at a time (Tuning, faust settings, sensors, logging,
and proposed product changes patched into the worker process only). Results: tables on the
terminal and benchmarks/results/pipeline.json; benchmarks/README.md ("Live pipeline") says
more. The stack is stopped at the end unless --keep-stack (then the produced topic is reused).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from config.settings import Settings, Topics, load_settings  # noqa: E402

SHOP_FILE = REPO_ROOT / "config" / "shops" / "demo.toml"
RESULTS = REPO_ROOT / "benchmarks" / "results" / "pipeline.json"
SHOP_ID = "shop-demo"
TARGET_VS_NAIVE = 10.0  # (c) >= 10 x (b)
TARGET_VS_BARE = 0.80  # (c) >= 80 % of (a)
TARGET_P99 = 0.100  # seconds
RESULT_KEY = "bench:result:"  # + run id: hash first, last, count (written by the workers)
VARIANTS = {
    "a": "bare faust agent (decode only)",
    "b": "naive (awaited Redis per comment)",
    "c": "chotdon comment agent",
    "k": "reference: aiokafka consumer, no faust (decode only)",
    "p": "proposal: chotdon's CommentPipeline on an aiokafka consumer, no faust",
}


# ------------------------------------------------------------------------------ configuration


@dataclass(frozen=True, slots=True)
class Knobs:
    """One worker configuration: chotdon's Tuning plus faust settings set on app.conf."""

    label: str = "default"
    tuning: dict[str, float] = field(default_factory=dict)  # fields of stream.app.Tuning
    conf: dict[str, float | bool] = field(default_factory=dict)  # faust settings
    monitor: bool = True  # faust's Monitor sensor (per-event bookkeeping); False = no-op hooks
    product_metrics: bool = True  # chotdon's Prometheus metrics (stream/metrics.py)
    gc_freeze: bool = False  # gc.freeze() once the worker has imported everything
    loglevel: str = "info"  # the worker's (chotdon worker's default); see README on "warning"
    stock_scale: int = 1  # the registered shop's limited stock times this (1: demo.toml as is)
    # Proposed product changes, measured by patching the worker (README, "Live pipeline"):
    overlap_intake: bool = False  # take_batches keeps filling the next batch while one is out
    info_cache: float = 0.0  # seconds DraftStore.livestream_info answers are reused (0: never)
    skip_moved: bool = False  # Applied.changed leaves out drafts that only moved up a waitlist
    # the worker's agents (stream.app.AGENTS: comments, commands, automation; all by default)
    agents: tuple[str, ...] = ("comments", "commands", "automation")
    note: str = ""


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    variant: str  # a, b or c
    run_id: str
    knobs: Knobs
    expected: int = 0  # (a): records to count before reporting
    naive_limit: int = 20_000
    naive_seconds: float = 30.0
    metrics_port: int = 0
    profile: str = ""  # (c): write cProfile stats here, from the first batch to shutdown


# faust's default is 1 MiB per partition and fetch
MAX_FETCH_16M: dict[str, float | bool] = {"consumer_max_fetch_size": 16 * 1024**2}


def tuning_matrix() -> list[tuple[str, Knobs]]:
    """(c) with each knob moved away from chotdon's defaults, one at a time, then proposed
    product changes, the stock regime and a combination; `default` runs first and last, so that
    drift of a shared machine shows. Then (a) with the knobs that move it: the target
    "(c) >= 80 % of (a)" depends on how (a) is tuned."""
    c = [
        Knobs("default", note="stream.app.Tuning() as shipped, worker --loglevel info"),
        Knobs("comment agent only", agents=("comments",),
              note="worker --agents comments: no command or automation agent beside it"),
        Knobs("batch_size=100", {"batch_size": 100}),
        Knobs("batch_size=1000", {"batch_size": 1000}),
        Knobs("batch_size=2000", {"batch_size": 2000, "buffer_maxsize": 8000}),
        Knobs("batch_within=0.05", {"batch_within": 0.05}),
        Knobs("max_poll_records=500", {"max_poll_records": 500}),
        Knobs("max_poll_records=10000", {"max_poll_records": 10000, "buffer_maxsize": 16000}),
        Knobs("buffer_maxsize=1000", {"buffer_maxsize": 1000}),
        Knobs("buffer_maxsize=16000", {"buffer_maxsize": 16000}),
        Knobs("consumer_max_fetch_size=16M", conf=MAX_FETCH_16M),
        Knobs("stream_wait_empty=True", conf={"stream_wait_empty": True}),
        Knobs("producer_linger=0", conf={"producer_linger": 0.0}),  # create_app's since 066597d
        Knobs("producer_linger=0.005", conf={"producer_linger": 0.005}),  # ... before it
        Knobs("producer_linger=0.05", conf={"producer_linger": 0.05}),
        Knobs("monitor off", monitor=False, note="faust Monitor per-event hooks -> no-ops"),
        Knobs("chotdon metrics off", product_metrics=False, note="stream/metrics.py no-ops"),
        Knobs("gc.freeze", gc_freeze=True),
        Knobs("loglevel=warning", loglevel="warning",
              note="faust.Worker's spinner sets the root logger to DEBUG"),
        Knobs("livestream_info cached 1 s", info_cache=1.0, note="proposed product change"),
        Knobs("overlapped intake", overlap_intake=True, note="proposed product change"),
        Knobs("moved drafts not decoded", skip_moved=True, note="proposed product change"),
        Knobs("stock x1000", stock_scale=1000, note="data regime: no waitlists"),
        Knobs("combined", monitor=False, skip_moved=True, info_cache=1.0,
              note="monitor off + moved drafts not decoded + livestream_info cached"),
        Knobs("default (again)", note="drift check"),
    ]  # fmt: skip
    a = [
        Knobs("(a) default"),
        Knobs("(a) consumer_max_fetch_size=16M", conf=MAX_FETCH_16M),
        Knobs("(a) consumer_max_fetch_size=16M, monitor off", conf=MAX_FETCH_16M, monitor=False),
    ]
    return [("c", knobs) for knobs in c] + [("a", knobs) for knobs in a]


def latency_matrix() -> list[tuple[str, Knobs]]:
    return [
        ("c", Knobs("batch_within=0.001", {"batch_within": 0.001})),
        ("c", Knobs("batch_within=0.05", {"batch_within": 0.05})),
        ("c", Knobs("producer_linger=0.005", conf={"producer_linger": 0.005})),
        ("c", Knobs("stock x1000", stock_scale=1000, note="data regime: no waitlists")),
        ("p", Knobs("(p) pipeline on aiokafka", note="proposal")),
        (
            "c",
            Knobs(
                "comment agent only",
                agents=("comments",),
                note="worker --agents comments: no command or automation agent beside it",
            ),
        ),
    ]


def bench_settings(args: argparse.Namespace, topics: Topics | None = None) -> Settings:
    return Settings(
        kafka=f"127.0.0.1:{args.kafka_port}",
        redis=f"redis://127.0.0.1:{args.redis_port}/0",
        stack_dir=Path(args.stack_dir),
        kafka_controller_port=args.kafka_port + 1,
        app_id="chotdon-bench",
        comment_partitions=args.partitions,
        topics=topics or Topics(),
    )


def settings_env(settings: Settings) -> dict[str, str]:
    """The CHOTDON_* variables that make load_settings() in a worker give `settings`."""
    env = {
        "CHOTDON_KAFKA": settings.kafka,
        "CHOTDON_REDIS": settings.redis,
        "CHOTDON_STACK_DIR": str(settings.stack_dir),
        "CHOTDON_CACHE_DIR": str(settings.cache_dir),
        "CHOTDON_KAFKA_CONTROLLER_PORT": str(settings.kafka_controller_port),
        "CHOTDON_APP_ID": settings.app_id,
        "CHOTDON_COMMENT_PARTITIONS": str(settings.comment_partitions),
        "CHOTDON_METRICS_PORT": "0",
    }
    for name in Topics.__dataclass_fields__:
        env[f"CHOTDON_TOPIC_{name.upper()}"] = getattr(settings.topics, name)
    return env


# ------------------------------------------------------------------------------ the workers


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


# ------------------------------------------------------------------------------ orchestration


@dataclass(frozen=True, slots=True)
class Dataset:
    topic: str
    count: int
    livestreams: list[str]
    last_offsets: dict[str, int]  # livestream -> offset of its last record (its partition)
    kafka_pid: int | None = None  # the bench broker, for its CPU time


@dataclass(slots=True)
class Worker:
    process: subprocess.Popen[bytes]
    log: Path
    spec: WorkerSpec

    def check(self) -> None:
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace").splitlines()[-15:]
            raise RuntimeError(
                f"worker {self.spec.variant} ({self.spec.knobs.label}) exited with "
                f"{self.process.returncode}; {self.log}:\n" + "\n".join(tail)
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_worker(settings: Settings, spec: WorkerSpec, log_dir: Path) -> Worker:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{spec.run_id}.log"
    env = {**os.environ, **settings_env(replace(settings, app_id=f"bench-{spec.run_id}"))}
    env["PYTHONPATH"] = str(REPO_ROOT)
    payload = json.dumps(asdict(spec))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", payload],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Worker(process, log, spec)


def make_comments(args: argparse.Namespace) -> tuple[list[Any], list[str]]:
    """N comments of --livestreams livestreams, interleaved in time as they would arrive."""
    from cli.samples import generate

    livestreams = [f"bench-live-{i}" for i in range(args.livestreams)]
    per_live = -(-args.comments // args.livestreams)
    streams = [
        generate(
            per_live,
            args.customers,
            livestream_id=live,
            shop_id=SHOP_ID,
            seed=args.seed + i,
            rate=100.0,
        )
        for i, live in enumerate(livestreams)
    ]
    merged = sorted((c for s in streams for c in s), key=lambda c: (c.created_at, c.livestream_id))
    return merged[: args.comments], livestreams


async def topic_end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    """{partition: end offset}; {} when the topic does not exist (and is not created)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return {}
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = sorted(int(p["partition"]) for p in described[0]["partitions"])
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def prepare_dataset(
    args: argparse.Namespace, settings: Settings, comments: Sequence[Any], livestreams: list[str]
) -> Dataset:
    """Produce the comments once (reused from an earlier --keep-stack run when intact)."""
    from cli.replay import produce
    from stack import ensure_topics, stack_status

    kafka_pid = stack_status(settings).kafka.pid
    topic = settings.topics.comments
    manifest_path = Path(args.stack_dir) / f"pipeline-bench.{topic}.json"
    ends = await topic_end_offsets(settings, topic)
    if manifest_path.exists() and sum(ends.values()) == len(comments):
        manifest = json.loads(manifest_path.read_text())
        if {int(p): o for p, o in manifest["end_offsets"].items()} == ends:
            return Dataset(topic, len(comments), livestreams, manifest["last_offsets"], kafka_pid)
    if sum(ends.values()):
        raise SystemExit(f"topic {topic} holds other records; run with a fresh --stack-dir")
    await ensure_topics(settings)
    started = time.perf_counter()
    acked = await produce(settings, comments, rate=None, now=False, quiet=True)
    elapsed = time.perf_counter() - started
    last: dict[str, int] = {}
    for comment, (_partition, offset) in zip(comments, acked, strict=True):
        last[comment.livestream_id] = max(offset, last.get(comment.livestream_id, -1))
    ends = await topic_end_offsets(settings, topic)
    manifest_path.write_text(json.dumps({"end_offsets": ends, "last_offsets": last}))
    print(f"produced {len(acked):,} comments to {topic} in {elapsed:.1f} s; per partition {ends}")
    return Dataset(topic, len(comments), livestreams, last, kafka_pid)


def bench_shop(stock_scale: int = 1) -> Any:
    """The sample shop (config/shops/demo.toml), its limited stock times `stock_scale`."""
    from config.loader import load_shop
    from config.shop import ProductGroup

    shop = load_shop(SHOP_FILE)
    if stock_scale == 1:
        return shop
    products = tuple(
        p if p.stock is None else p.model_copy(update={"stock": p.stock * stock_scale})
        for p in shop.products
    )
    return shop.with_products(ProductGroup(products=products))


async def reset_redis(settings: Settings, livestreams: Sequence[str], stock_scale: int = 1) -> None:
    """Empty the bench Redis (its own server) and register the livestreams afresh."""
    from orders.store import DraftStore

    shop = bench_shop(stock_scale)
    async with DraftStore.connect(settings.redis) as store:
        await store._redis.flushdb()
        await store.load_functions()
        for live in livestreams:
            await store.register_shop(shop, live)


async def wait_result(worker: Worker, client: Any, limit: float) -> dict[str, float]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        raw = await client.hgetall(RESULT_KEY + worker.spec.run_id)
        if b"last" in raw:
            return {k.decode(): float(v) for k, v in raw.items()}
        worker.check()
        await asyncio.sleep(0.05)
    raise TimeoutError(f"worker {worker.spec.variant} did not finish within {limit:.0f} s")


async def wait_watermarks(
    store: Any, last_offsets: dict[str, int], worker: Worker, limit: float, poll: float = 0.005
) -> float:
    """Poll store.progress until every livestream's watermark reached its last offset."""
    deadline = time.monotonic() + limit
    pending = dict(last_offsets)
    checks = 0
    while time.monotonic() < deadline:
        for live, last in list(pending.items()):
            watermark, _seq = await store.progress(SHOP_ID, live)
            if watermark >= last:
                del pending[live]
        if not pending:
            return time.time()
        checks += 1
        if checks % 100 == 0:
            worker.check()
        await asyncio.sleep(poll)
    raise TimeoutError(f"watermarks not reached within {limit:.0f} s: {pending}")


@dataclass(slots=True)
class Outcome:
    variant: str
    label: str
    rate: float
    count: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


async def throughput_run(
    args: argparse.Namespace,
    settings: Settings,
    data: Dataset,
    variant: str,
    knobs: Knobs,
    *,
    profile: str = "",
) -> Outcome:
    import redis.asyncio

    from orders.store import DraftStore
    from stack import ensure_topics

    knobs = knobs if knobs.stock_scale != 1 else replace(knobs, stock_scale=args.stock_scale)
    await reset_redis(settings, data.livestreams, knobs.stock_scale)
    run_id = f"{variant}-{uuid.uuid4().hex[:8]}"
    spec = WorkerSpec(
        variant,
        run_id,
        knobs,
        expected=data.count,
        naive_limit=args.naive_limit,
        naive_seconds=args.naive_seconds,
        profile=profile,
    )
    client = redis.asyncio.from_url(settings.redis)
    store = DraftStore(client)
    timeout = 120 + data.count / 500
    # Each run publishes to its own draft-events topic, deleted afterwards: a --tune run would
    # otherwise leave gigabytes of draft events on the bench broker.
    events_topic = f"bench.draft-events.{run_id}"
    settings = replace(settings, topics=replace(settings.topics, draft_events=events_topic))
    await ensure_topics(settings)
    code = code_version()
    worker = start_worker(settings, spec, Path(args.stack_dir) / "logs")
    try:
        await wait_first(worker, client, timeout)
        cpu_start = await cpu_sample(worker, client, data.kafka_pid)
        if variant in ("c", "p"):
            last = await wait_watermarks(store, data.last_offsets, worker, timeout, poll=0.02)
            cpu_end = await cpu_sample(worker, client, data.kafka_pid)
            first = float((await client.hget(RESULT_KEY + run_id, "first")) or "nan")
            count = data.count
            seqs = [(await store.progress(SHOP_ID, live))[1] for live in data.livestreams]
            extra: dict[str, Any] = {"drafts": sum(seqs)}
        else:
            result = await wait_result(worker, client, timeout)
            cpu_end = await cpu_sample(worker, client, data.kafka_pid)
            first, last, count = result["first"], result["last"], int(result["count"])
            extra = {}
    finally:
        worker.stop()
        await client.aclose()
    if variant in ("c", "p"):
        events = await topic_end_offsets(settings, events_topic)
        extra["draft_events"] = sum(events.values())
    await delete_topics(settings, [events_topic])
    # CPU time per comment (µs) of each process while the variant ran: steadier than rates
    # on a shared machine, and it says where the work is.
    extra["code"] = code
    extra["cpu_us"] = {name: (cpu_end[name] - cpu_start[name]) / count * 1e6 for name in cpu_start}
    seconds = last - first
    return Outcome(variant, knobs.label, count / seconds, count, seconds, extra)


def code_version() -> str:
    """A digest of the product's sources (config, parsers, orders, stream): the JSON shows it
    per run, so a run that straddles someone's change to the code is seen as such."""
    import hashlib

    digest = hashlib.sha1()
    for folder in ("config", "parsers", "orders", "stream"):
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".lua", ".toml") and path.is_file():
                digest.update(path.relative_to(REPO_ROOT).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


async def delete_topics(settings: Settings, topics: Sequence[str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka)
    await admin.start()
    try:
        await admin.delete_topics(list(topics))
    finally:
        await admin.close()


def process_cpu(pid: int | None) -> float:
    """User + system CPU seconds of a process (Linux /proc); 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def cpu_sample(worker: Worker, client: Any, kafka_pid: int | None) -> dict[str, float]:
    info = await client.info("cpu")
    return {
        "worker": process_cpu(worker.process.pid),
        "redis": float(info["used_cpu_user"]) + float(info["used_cpu_sys"]),
        "kafka": process_cpu(kafka_pid),
    }


async def wait_first(worker: Worker, client: Any, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not await client.hexists(RESULT_KEY + worker.spec.run_id, "first"):
        worker.check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"worker {worker.spec.variant} read nothing in {limit:.0f} s")
        await asyncio.sleep(0.01)


# ------------------------------------------------------------------------------ latency


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
    from stack import ensure_topics, free_port

    tag = uuid.uuid4().hex[:8]
    settings = replace(
        base,
        topics=replace(
            base.topics, comments=f"bench.latency.{tag}", draft_events=f"bench.latency-events.{tag}"
        ),
    )
    await ensure_topics(settings)
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
        "code": code,
    }


def _last_offsets(comments: Sequence[Any], acked: Sequence[tuple[int, int]]) -> dict[str, int]:
    last: dict[str, int] = {}
    for comment, (_partition, offset) in zip(comments, acked, strict=True):
        last[comment.livestream_id] = max(offset, last.get(comment.livestream_id, -1))
    return last


# ------------------------------------------------------------------------------ reporting


def _machine() -> dict[str, Any]:
    from importlib.metadata import version

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO_ROOT
    ).stdout.strip()
    dirty = (
        subprocess.run(
            ["git", "status", "--porcelain"], capture_output=True, text=True, cwd=REPO_ROOT
        ).stdout.strip()
        != ""
    )
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit + ("+dirty" if dirty else ""),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "versions": {p: version(p) for p in ("faust-streaming", "aiokafka", "redis", "pydantic")},
    }


def _ms(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value * 1000:.1f}"


def _cpu(runs: Sequence[dict[str, Any]], name: str) -> str:
    values = [r["extra"]["cpu_us"][name] for r in runs if "cpu_us" in r["extra"]]
    return f"{statistics.median(values):.0f}" if values else "-"


def _median_extra(runs: Sequence[dict[str, Any]], name: str, per: bool = False) -> str:
    values = [r["extra"][name] / (r["count"] if per else 1) for r in runs if name in r["extra"]]
    if not values:
        return "-"
    return f"{statistics.median(values):.2f}" if per else f"{statistics.median(values):,.0f}"


def report(args: argparse.Namespace, results: dict[str, Any], console: Any, started: float) -> None:
    from rich.table import Table

    medians: dict[str, float] = results["medians"]
    table = Table(
        title=f"Live pipeline: {results['comments']:,} comments, median of {args.runs} runs "
        "(comments/s from the first record processed to the last; CPU µs per comment)"
    )
    columns = ("variant", "what", "median /s", "runs /s", "comments", "vs (a)",
               "CPU worker", "CPU redis", "CPU kafka", "events/comment")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column in ("variant", "what") else "right")
    for variant, what in VARIANTS.items():
        runs = results["runs"].get(variant)
        if not runs:
            continue
        table.add_row(
            f"({variant})",
            what,
            f"{medians[variant]:,.0f}",
            ", ".join(f"{r['rate']:,.0f}" for r in runs),
            f"{runs[0]['count']:,}",
            f"{medians[variant] / medians['a']:.0%}" if medians.get("a") else "-",
            _cpu(runs, "worker"),
            _cpu(runs, "redis"),
            _cpu(runs, "kafka"),
            _median_extra(runs, "draft_events", per=True),
        )
    console.print(table)
    for name, target in results["targets"].items():
        mark = "[green]met[/green]" if target["met"] else "[red]NOT met[/red]"
        console.print(f"target {name}: {target['value']:.3f} (want {target['want']}) {mark}")
    if results["latency"]:
        latency = Table(
            title=f"Latency of (c) at {args.latency_rate:,.0f} comments/s for "
            f"{args.latency_seconds:.0f} s (ms, created_at -> draft applied): exact from "
            "draft-events (comments that changed a draft), hist from the worker's histogram"
        )
        for column in ("config", "sent /s", "exact n", "p50", "p99", "max", "hist n",
                       "hist p50", "hist p99"):  # fmt: skip
            latency.add_column(column, justify="left" if column == "config" else "right")
        for row in results["latency"]:
            latency.add_row(
                row["label"],
                f"{row['rate_sent']:,.0f}",
                f"{row['exact_samples']:,}",
                _ms(row["exact_p50"]),
                _ms(row["exact_p99"]),
                _ms(row["exact_max"]),
                f"{row['histogram_samples']:,.0f}",
                _ms(row["histogram_p50"]),
                _ms(row["histogram_p99"]),
            )
        console.print(latency)
    if results["tuning"]:
        tuning = Table(
            title="Tuning: (c), then (a), one change at a time (same records, same run; "
            "vs the first row of the same variant; CPU µs per comment)"
        )
        for column in ("config", "median /s", "runs /s", "vs default", "CPU worker",
                       "CPU redis", "CPU kafka", "events/comment"):  # fmt: skip
            tuning.add_column(column, justify="left" if column == "config" else "right")
        base: dict[str, float] = {}  # the first row of each variant is its default
        for label, runs in results["tuning"].items():
            median = statistics.median(r["rate"] for r in runs)
            base.setdefault(runs[0]["variant"], median)
            tuning.add_row(
                label,
                f"{median:,.0f}",
                ", ".join(f"{r['rate']:,.0f}" for r in runs),
                f"{median / base[runs[0]['variant']] - 1:+.0%}",
                _cpu(runs, "worker"),
                _cpu(runs, "redis"),
                _cpu(runs, "kafka"),
                _median_extra(runs, "draft_events", per=True),
            )
        console.print(tuning)
    codes = {r["extra"]["code"] for runs in results["runs"].values() for r in runs}
    codes |= {r["extra"]["code"] for runs in results["tuning"].values() for r in runs}
    codes |= {row["code"] for row in results["latency"]}
    if len(codes) > 1:
        console.print(
            f"[red]the product code changed during the benchmark ({len(codes)} versions: "
            "see `code` per run in the JSON); compare only runs of one version[/red]"
        )
    console.print(
        f"load average after: {os.getloadavg()}; "
        f"{time.monotonic() - started:.0f} s in all; written to {args.out}"
    )


# ------------------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--comments", type=int, default=100_000, help="comments produced (default 100000)")
    add("--livestreams", type=int, default=8, help="livestreams they belong to (default 8)")
    add("--customers", type=int, default=3000, help="customers per livestream (default 3000)")
    add("--seed", type=int, default=2026)
    add(
        "--stock-scale",
        type=int,
        default=1,
        help="register the shop with its limited stock times this (default 1: demo.toml)",
    )
    add("--partitions", type=int, default=4, help="partitions of the bench topic (default 4)")
    add("--runs", type=int, default=3, help="runs of each variant; the median is reported")
    add("--variants", default="abckp", help="which of a, b, c, k, p to run (default abckp)")
    add("--naive-limit", type=int, default=20_000, help="(b) stops after this many comments")
    add("--naive-seconds", type=float, default=30.0, help="(b) stops after this long")
    add("--latency-rate", type=float, default=1000.0, help="comments/s of the latency run")
    add("--latency-seconds", type=float, default=20.0, help="length of the latency run")
    add("--latency-warmup", type=int, default=500, help="comments sent before measuring")
    add("--no-latency", action="store_true", help="skip the latency run")
    add("--tune", action="store_true", help="also run the tuning matrix of (c) (and latency)")
    add("--tune-runs", type=int, default=None, help="runs per tuning config (default --runs)")
    add(
        "--tune-only",
        action="append",
        metavar="LABEL",
        help="run only these tuning configs (and `default`), e.g. --tune-only 'comment agent only'",
    )
    add(
        "--profile",
        action="store_true",
        help="also profile one run of (c) with cProfile; stats in benchmarks/results/",
    )
    add("--keep-stack", action="store_true", help="leave Kafka and Redis running at the end")
    add("--stack-dir", default=".stack/bench", help="the bench stack's folder")
    add("--kafka-port", type=int, default=29092, help="bench broker (controller: this + 1)")
    add("--redis-port", type=int, default=26379)
    add("--out", type=Path, default=RESULTS, help="JSON results (default %(default)s)")
    add("--note", default="", help="recorded in the JSON (e.g. 'quiet machine')")
    add("--worker", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def run_all(args: argparse.Namespace, console: Any) -> dict[str, Any]:
    comments, livestreams = make_comments(args)
    topic = f"bench.comments.n{args.comments}.l{args.livestreams}.s{args.seed}"
    settings = bench_settings(
        args,
        Topics(
            comments=topic, draft_events="bench.draft-events", dead_letters="bench.dead-letters"
        ),
    )
    data = await prepare_dataset(args, settings, comments, livestreams)
    results: dict[str, Any] = {
        "comments": data.count,
        "livestreams": args.livestreams,
        "customers": args.customers,
        "partitions": args.partitions,
        "stock_scale": args.stock_scale,
        "seed": args.seed,
        "runs": {v: [] for v in VARIANTS},
        "latency": [],
        "tuning": {},
    }
    for run in range(args.runs):
        for variant in args.variants:
            outcome = await throughput_run(args, settings, data, variant, Knobs())
            results["runs"][variant].append(asdict(outcome))
            save_partial(args, results)
            console.print(
                f"run {run + 1}/{args.runs} ({variant}): {outcome.rate:,.0f} comments/s "
                f"({outcome.count:,} in {outcome.seconds:.2f} s)"
            )
    medians = {
        v: statistics.median(r["rate"] for r in runs) for v, runs in results["runs"].items() if runs
    }
    results["medians"] = medians
    targets: dict[str, Any] = {}
    if "b" in medians and "c" in medians:
        ratio = medians["c"] / medians["b"]
        targets["(c)/(b)"] = {
            "value": ratio,
            "want": f">= {TARGET_VS_NAIVE}",
            "met": ratio >= TARGET_VS_NAIVE,
        }
    if "a" in medians and "c" in medians:
        ratio = medians["c"] / medians["a"]
        targets["(c)/(a)"] = {
            "value": ratio,
            "want": f">= {TARGET_VS_BARE}",
            "met": ratio >= TARGET_VS_BARE,
        }
    results["targets"] = targets
    if args.profile:
        path = profile_path(args)
        outcome = await throughput_run(
            args, settings, data, "c", Knobs("profiled"), profile=str(path.resolve())
        )
        results["profile"] = {"file": str(path), "rate_under_profiler": outcome.rate}
        console.print(f"profiled run of (c): {outcome.rate:,.0f} comments/s; stats in {path}")
        if path.exists():
            _print_profile(path)
        else:
            console.print(f"[red]no profile written to {path}; see the worker's log[/red]")
    if args.tune:
        for variant, knobs in tuning_matrix():
            if args.tune_only and knobs.label not in ("default", *args.tune_only):
                continue
            for _ in range(args.tune_runs or args.runs):
                try:
                    outcome = await throughput_run(args, settings, data, variant, knobs)
                except (RuntimeError, TimeoutError) as exc:  # one bad config must not end it all
                    console.print(f"[red]tuning {knobs.label} failed: {exc}[/red]")
                    continue
                results["tuning"].setdefault(knobs.label, []).append(asdict(outcome))
                save_partial(args, results)
                console.print(f"tuning {knobs.label}: {outcome.rate:,.0f} comments/s")
        results["tuning_configs"] = [{"variant": v, **asdict(k)} for v, k in tuning_matrix()]
    if not args.no_latency:
        configs = [("c", Knobs())] + (latency_matrix() if args.tune else [])
        if args.tune_only:
            configs = [(v, k) for v, k in configs if k.label in ("default", *args.tune_only)]
        for variant, knobs in configs:
            row = await latency_run(args, settings, comments, livestreams, knobs, variant)
            results["latency"].append(row)
            save_partial(args, results)
            console.print(
                f"latency {knobs.label}: p50 {_ms(row['exact_p50'])} ms, "
                f"p99 {_ms(row['exact_p99'])} ms"
            )
        default = results["latency"][0]
        if default["exact_p99"] is not None:
            targets["latency p99 (s)"] = {
                "value": default["exact_p99"],
                "want": "<= 0.1",
                "met": default["exact_p99"] <= TARGET_P99,
            }
    return results


def profile_path(args: argparse.Namespace) -> Path:
    """Where the profile of (c) goes: the stack dir, git-ignored like the rest of the stack."""
    path = Path(args.stack_dir).resolve() / "pipeline-c.prof"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def save_partial(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """What is measured so far, in case a long run is interrupted."""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**results, "partial": True}, indent=2, default=str) + "\n")


def _print_profile(path: Path) -> None:
    import io
    import pstats

    for order in ("tottime", "cumulative"):
        buffer = io.StringIO()
        pstats.Stats(str(path), stream=buffer).sort_stats(order).print_stats(25)
        print(buffer.getvalue())  # not through rich: it would wrap the lines


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        raw = json.loads(args.worker)
        worker_main(WorkerSpec(**{**raw, "knobs": Knobs(**raw["knobs"])}))
        return 0
    from rich.console import Console

    from stack import stack_down, stack_up

    console = Console()
    if not console.is_terminal:  # a log file: wide enough that the tables do not wrap
        console = Console(width=200)
    started = time.monotonic()
    settings = bench_settings(args)
    machine = _machine()
    console.print(
        f"bench stack in {args.stack_dir}: Kafka {settings.kafka}, Redis {settings.redis}"
    )
    stack_up(settings, console)
    try:
        results = asyncio.run(run_all(args, console))
    finally:
        if not args.keep_stack:
            stack_down(settings, console)
    results["machine"] = {**machine, "load_after": os.getloadavg()}
    results["note"] = args.note
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    report(args, results, console, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
