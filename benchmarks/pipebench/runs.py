"""Orchestration: the dataset produced once, workers started per run, throughput runs timed
from the store's watermarks, CPU per comment of worker, Redis and Kafka."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from config.settings import Settings
from pipebench.config import (
    BENCH_SCRIPT,
    REPO_ROOT,
    RESULT_KEY,
    SHOP_FILE,
    SHOP_ID,
    WATERMARK_VARIANTS,
    Knobs,
    WorkerSpec,
    settings_env,
)


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


def start_worker(settings: Settings, spec: WorkerSpec, log_dir: Path, name: str = "") -> Worker:
    """A worker process; workers of one run id share a consumer group."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{spec.run_id}{name}.log"
    env = {**os.environ, **settings_env(replace(settings, app_id=f"bench-{spec.run_id}"))}
    env["PYTHONPATH"] = str(REPO_ROOT)
    payload = json.dumps(asdict(spec))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(BENCH_SCRIPT), "--worker", payload],
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
    store: Any,
    last_offsets: dict[str, int],
    worker: Worker | Sequence[Worker],
    limit: float,
    poll: float = 0.005,
    series: list[tuple[float, int]] | None = None,
) -> float:
    """Poll store.progress until every livestream's watermark reached its last offset.
    `series` gets (time, records applied) as it goes: per partition, the highest watermark
    of its livestreams + 1, summed (each livestream's records are on one partition)."""
    workers = [worker] if isinstance(worker, Worker) else list(worker)
    deadline = time.monotonic() + limit
    pending = dict(last_offsets)
    marks = dict.fromkeys(last_offsets, -1)
    checks = 0
    while time.monotonic() < deadline:
        for live in list(marks if series is not None else pending):
            watermark, _seq = await store.progress(SHOP_ID, live)
            marks[live] = watermark
            if live in pending and watermark >= pending[live]:
                del pending[live]
        if series is not None:
            series.append((time.time(), sum(m + 1 for m in marks.values() if m >= 0)))
        if not pending:
            return time.time()
        checks += 1
        if checks % 100 == 0:
            for each in workers:
                each.check()
        await asyncio.sleep(poll)
    raise TimeoutError(f"watermarks not reached within {limit:.0f} s: {pending}")


async def drafts_digest(store: Any, livestreams: Sequence[str]) -> str:
    """A digest of every livestream's drafts as parsed JSON (key order aside)."""
    import hashlib

    import orjson

    digest = hashlib.sha1()
    for live in livestreams:
        for draft in await store.drafts(SHOP_ID, live):
            digest.update(orjson.dumps(draft, option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()[:16]


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
    log_dir = Path(args.stack_dir) / "logs"
    worker = start_worker(settings, spec, log_dir)
    workers = [worker]
    if variant == "C":
        workers.append(start_worker(settings, spec, log_dir, name="-2"))
    try:
        await wait_first(worker, client, timeout)
        cpu_start = await cpu_sample(workers, client, data.kafka_pid)
        if variant in WATERMARK_VARIANTS:
            series: list[tuple[float, int]] = []
            last = await wait_watermarks(
                store, data.last_offsets, workers, timeout, poll=0.02, series=series
            )
            cpu_end = await cpu_sample(workers, client, data.kafka_pid)
            first = float((await client.hget(RESULT_KEY + run_id, "first")) or "nan")
            count = data.count
            seqs = [(await store.progress(SHOP_ID, live))[1] for live in data.livestreams]
            extra: dict[str, Any] = {
                "drafts": sum(seqs),
                "drafts_digest": await drafts_digest(store, data.livestreams),
                "series": _thin([(t - first, n) for t, n in series if t >= first]),
            }
        else:
            result = await wait_result(worker, client, timeout)
            cpu_end = await cpu_sample(workers, client, data.kafka_pid)
            first, last, count = result["first"], result["last"], int(result["count"])
            extra = {}
    finally:
        for each in workers:
            each.stop()
        await client.aclose()
    if variant in WATERMARK_VARIANTS:
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


def _thin(series: list[tuple[float, int]], every: float = 0.25) -> list[tuple[float, int]]:
    """One point per `every` seconds (the JSON stays small; the plot needs no more)."""
    kept: list[tuple[float, int]] = []
    for moment, count in series:
        if not kept or moment - kept[-1][0] >= every:
            kept.append((round(moment, 3), count))
    if series and kept[-1] != series[-1]:
        kept.append((round(series[-1][0], 3), series[-1][1]))
    return kept


async def cpu_sample(
    workers: Sequence[Worker], client: Any, kafka_pid: int | None
) -> dict[str, float]:
    info = await client.info("cpu")
    return {
        "worker": sum(process_cpu(w.process.pid) for w in workers),
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
