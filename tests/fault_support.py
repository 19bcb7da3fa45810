"""What the fault suite (tests/faults) and the chaos benchmark (benchmarks/chaos_bench.py) share:
servers of a scenario's own that it may break, the comment feed, the watch on progress, and the
tally that says whether anything was lost or applied twice.

- `OwnRedis`: a redis-server on a free port and a folder of its own (append-only file), to stop,
  kill -9, restart, or restart from a copy of its append-only file (a power loss).
- `OwnKafka`: a Kafka broker on free ports and a data folder of its own, optionally with a second
  listener advertised at a proxy's port (so a worker's every connection goes through the proxy
  while the tests talk to the broker directly), to kill -9 and restart.
- `SmallDisk`: a small tmpfs the scenario mounts (root only), to fill up and free.
- `WorkerPool`: `chotdon worker` subprocesses, stopped and their log tails printed at the end.
- `Feed`: generated livestreams (the sample generator, a shop that adds repeats so that a comment
  applied twice shows), produced at a steady rate by a producer that resends what Kafka did not
  acknowledge (same comment ids).
- `ProgressWatch`: every livestream's watermark, polled, to time recoveries.
- `wait_until_applied`, then `wait_until_acknowledged`: every comment in the store, then the
  worker's commits at the end of the topic (its draft events are in Kafka only by then).
- `tally`: the reference is the pure order book fed each livestream's records as Kafka holds
  them (offset order, first occurrence of a comment id: what a producer retry may have done to
  the order is then the reference's too); the report counts comments sent, applied, lost,
  applied twice, drafts equal to the reference, draft events missing, and recovery times.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from live_processes import Worker
from live_support import (
    comment_events,
    committed_offsets,
    draft_events_of,
    end_offsets,
    first_difference,
    ids_on_distinct_partitions,
    model_book,
    read_topic,
    register,
    shop_file,
    shop_with,
    wait_for,
)

from cli.samples import generate
from config.settings import Settings
from config.shop import ShopConfig
from orders.connection import redis_client
from orders.store import DraftStore, livestream_prefix
from stack import free_port
from stream.messages import Comment

Json = dict[str, Any]
SHOP = "shop-demo"


def free_stack_settings(stack_dir: Path, **overrides: Any) -> Settings:
    """Settings of a whole stack of its own on free ports (the benchmarks' `stack_up`), with
    the developer's jar cache."""
    from config.settings import load_settings

    cache_dir = load_settings().cache_dir
    root = Path(__file__).resolve().parent.parent
    fields: dict[str, Any] = {
        "kafka": f"127.0.0.1:{free_port()}",
        "kafka_controller_port": free_port(),
        "redis": f"redis://127.0.0.1:{free_port()}/0",
        "stack_dir": stack_dir,
        "cache_dir": cache_dir if cache_dir.is_absolute() else root / cache_dir,
        **overrides,
    }
    return Settings(**fields)


# --------------------------------------------------------------------------- Redis of our own


class OwnRedis:
    """A redis-server of one scenario (own port and folder, AOF `appendfsync everysec`)."""

    def __init__(self, directory: Path, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def aof_dir(self) -> Path:
        return self.directory / "appendonlydir"

    def start(self, *extra: str) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--daemonize", "no",
                "--dir", str(self.directory), "--appendonly", "yes",
                "--appendfsync", "everysec", "--save", "", *extra]  # fmt: skip
        log = (self.directory.parent / f"redis-{self.port}.log").open("ab")
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 30
        while not self.pong():
            assert self.process.poll() is None, self.log_tail()
            assert time.monotonic() < deadline, f"redis-server did not answer\n{self.log_tail()}"
            time.sleep(0.05)

    def log_tail(self) -> str:
        path = self.directory.parent / f"redis-{self.port}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-10:])

    def pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM: Redis writes its append-only file and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """kill -9: what the OS's page cache holds of the AOF survives, as in a process crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def copy_aof(self, to: Path) -> None:
        """What a disk holds after a power loss is at most what was written to it: a copy taken
        now, put back later by `restore_aof`, is Redis missing everything written since."""
        shutil.rmtree(to, ignore_errors=True)
        shutil.copytree(self.aof_dir, to)

    def restore_aof(self, copy: Path) -> None:
        assert self.process is None, "stop or kill Redis before putting an old AOF back"
        shutil.rmtree(self.aof_dir, ignore_errors=True)
        shutil.copytree(copy, self.aof_dir)


# --------------------------------------------------------------------------- Kafka of our own


class OwnKafka:
    """A single-node KRaft broker of one scenario: free ports, its own data folder. With
    `proxied_port`, a second listener is advertised at that port: clients bootstrapped there
    (a proxy in front of `internal_port`) keep going through it; the tests use `settings`."""

    def __init__(self, root: Path, base: Settings, *, proxied_port: int | None = None) -> None:
        self.root = root
        self.port = free_port()
        self.controller_port = free_port()
        self.internal_port = free_port() if proxied_port else None
        self.proxied_port = proxied_port
        self.settings = dataclasses.replace(
            base,
            kafka=f"127.0.0.1:{self.port}",
            kafka_controller_port=self.controller_port,
            stack_dir=root,
        )
        self.pid: int | None = None

    @property
    def worker_bootstrap(self) -> str:
        """Where workers connect: the proxy's port when proxied, else the broker's."""
        return f"127.0.0.1:{self.proxied_port or self.port}"

    def _config(self) -> str:
        from stack.broker import render_kafka_config

        text = render_kafka_config(self.settings)
        if self.proxied_port is None:
            return text
        lines = []
        for line in text.splitlines():
            if line.startswith("listeners="):
                line += f",PROXIED://127.0.0.1:{self.internal_port}"
            elif line.startswith("advertised.listeners="):
                line += f",PROXIED://127.0.0.1:{self.proxied_port}"
            elif line.startswith("listener.security.protocol.map="):
                line += ",PROXIED:PLAINTEXT"
            lines.append(line)
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        from stack import ensure_topics
        from stack.broker import ensure_kafka_jars, start_kafka, wait_kafka
        from stack.common import Layout, run_sync
        from stack.installs import java_binary

        layout = Layout.of(self.settings)
        layout.kafka_dir.mkdir(parents=True, exist_ok=True)
        layout.kafka_config.write_text(self._config())
        lib = ensure_kafka_jars(self.settings)
        self.pid = start_kafka(self.settings, layout, java_binary(None), lib, None)
        wait_kafka(self.settings, layout, self.pid)
        run_sync(lambda: ensure_topics(self.settings))

    def kill(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            from stack.processes import alive

            deadline = time.monotonic() + 20
            while alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        self.pid = None

    def stop(self) -> None:
        from stack.processes import stop_processes

        if self.pid is not None:
            stop_processes({"kafka": self.pid}, {"kafka": 30.0})
        self.pid = None

    def alive(self) -> bool:
        from stack.processes import alive

        return self.pid is not None and alive(self.pid)


# --------------------------------------------------------------------------- a small disk


class SmallDisk:
    """A tmpfs of `megabytes` mounted at `path` (needs root, as CI runs), to be filled and
    freed: a full disk for whatever keeps its data there."""

    def __init__(self, path: Path, megabytes: int) -> None:
        if os.geteuid() != 0:
            raise AssertionError(
                "the full-disk scenarios mount a small tmpfs and need root (CI runs as root); "
                "run them as root"
            )
        self.path = path
        self.megabytes = megabytes
        self.filler = path / "filler"

    def mount(self) -> SmallDisk:
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.megabytes}m", "tmpfs",
                        str(self.path)], check=True)  # fmt: skip
        return self

    def fill(self, leave_bytes: int = 0) -> None:
        """Write a file until the disk is full (less `leave_bytes`)."""
        stats = os.statvfs(self.path)
        free = stats.f_bavail * stats.f_frsize - leave_bytes
        chunk = b"\0" * (1 << 20)
        # ENOSPC already at open: the broker's own writes filled the disk first (what is wanted)
        with contextlib.suppress(OSError), self.filler.open("ab") as out:
            while free > 0:
                out.write(chunk[: min(len(chunk), free)])
                free -= len(chunk)
            out.flush()
            os.fsync(out.fileno())

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False)


# --------------------------------------------------------------------------- workers


class WorkerPool:
    """`chotdon worker` subprocesses of one scenario; `close` stops them and prints their
    logs' ends (pytest shows them when the test failed)."""

    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.settings = settings
        self.workdir = workdir
        self.started: list[Worker] = []

    def start(self, settings: Settings | None = None, args: Sequence[str] = ()) -> Worker:
        number = len(self.started) + 1
        stack_dir = self.workdir / f"worker{number}"
        stack_dir.mkdir(parents=True, exist_ok=True)
        chosen = dataclasses.replace(settings or self.settings, stack_dir=stack_dir)
        worker = Worker(chosen, self.workdir / f"worker{number}.log", f"worker{number}", args)
        self.started.append(worker)
        return worker

    @property
    def alive(self) -> list[Worker]:
        return [w for w in self.started if w.alive]

    def close(self) -> None:
        for worker in self.started:
            worker.stop(timeout=20)
        for worker in self.started:
            print(worker.tail(60))


# --------------------------------------------------------------------------- the feed


@dataclass
class Feed:
    """Generated livestreams, one per partition, interleaved as they would arrive."""

    shop: ShopConfig
    livestreams: list[str]
    comments: list[Comment]
    acked: set[tuple[str, str]] = field(default_factory=set)  # (livestream, comment id)
    resent: int = 0

    def sent_per_livestream(self) -> dict[str, int]:
        counts = Counter(live for live, _ in self.acked)
        return {live: counts.get(live, 0) for live in self.livestreams}

    @classmethod
    async def create(
        cls,
        settings: Settings,
        workdir: Path,
        *,
        livestreams: int,
        comments: int,
        customers: int = 300,
        seed: int = 14,
    ) -> Feed:
        shop = shop_with(shop_file(workdir, repeat="add"))
        ids = ids_on_distinct_partitions("fault", livestreams, settings.comment_partitions)
        await register(settings, shop, *ids)
        per_live = comments // livestreams
        streams = [
            generate(per_live, customers, livestream_id=live, seed=seed + n, rate=50.0, shop=shop)
            for n, live in enumerate(ids)
        ]
        merged = sorted(
            (c for stream in streams for c in stream), key=lambda c: (c.created_at, c.id)
        )
        return cls(shop, ids, merged)

    async def produce(
        self, settings: Settings, rate: float, *, start: int = 0, stop: int | None = None
    ) -> None:
        """Send comments[start:stop] at about `rate` a second, each until Kafka acknowledges
        it (a broker away: resent, with the same id, as a platform connector would)."""
        todo = self.comments[start:stop]
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            request_timeout_ms=10_000,
            retry_backoff_ms=200,
        )
        await _start_until_up(producer)
        started = time.monotonic()
        chunk = max(1, int(rate / 10))
        try:
            for index in range(0, len(todo), chunk):
                due = started + index / rate
                if (wait := due - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                await self._send_until_acked(producer, settings, todo[index : index + chunk])
        finally:
            await producer.stop()

    async def _send_until_acked(
        self, producer: AIOKafkaProducer, settings: Settings, batch: Sequence[Comment]
    ) -> None:
        pending = list(batch)
        while pending:
            futures = []
            for comment in pending:
                futures.append(
                    await producer.send(
                        settings.topics.comments,
                        comment.to_json(),
                        key=comment.livestream_id.encode(),
                    )
                )
            results = await asyncio.gather(*futures, return_exceptions=True)
            failed = [c for c, r in zip(pending, results, strict=True) if isinstance(r, Exception)]
            self.acked.update((c.livestream_id, c.id) for c in pending if c not in failed)
            if failed:
                self.resent += len(failed)
                await asyncio.sleep(0.5)
            pending = failed


async def _start_until_up(producer: AIOKafkaProducer, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while True:
        try:
            await producer.start()
            return
        except Exception:  # the broker may be down at the start of a scenario
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


# --------------------------------------------------------------------------- progress


class ProgressWatch:
    """Every livestream's watermark, polled every 0.1 s in the background."""

    def __init__(self, settings: Settings, livestreams: Iterable[str]) -> None:
        self.settings = settings
        self.livestreams = list(livestreams)
        self.samples: list[tuple[float, dict[str, int]]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ProgressWatch:
        self._task = asyncio.create_task(self._poll())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _poll(self) -> None:
        client = redis_client(self.settings.redis, socket_timeout=2)
        try:
            while True:
                with contextlib.suppress(Exception):  # Redis may be the thing that is down
                    await self._sample(client)
                await asyncio.sleep(0.1)
        finally:
            await client.aclose()

    async def _sample(self, client: Any) -> None:
        marks = {}
        for live in self.livestreams:
            raw = await client.hgetall(f"{livestream_prefix(SHOP, live)}:meta")
            text = {_s(k): _s(v) for k, v in raw.items()}
            marks[live] = max((int(v) for k, v in text.items() if k.startswith("wm.")), default=-1)
        self.samples.append((time.monotonic(), marks))

    async def sample_now(self) -> None:
        """One more sample, taken now (after everything was applied)."""
        client = redis_client(self.settings.redis, socket_timeout=5)
        try:
            await self._sample(client)
        finally:
            await client.aclose()

    def marks(self) -> dict[str, int]:
        return dict(self.samples[-1][1]) if self.samples else {}

    def total(self) -> int:
        return sum(self.samples[-1][1].values()) if self.samples else 0

    def recovery_after(self, moment: float) -> float:
        """Seconds from `moment` until every livestream that was behind at `moment` moved
        twice (the pipeline serving it once more: one move can be the last batch of a worker
        killed with its call already in Redis's hands); 0 when none was behind. Call it once
        everything was applied: 'behind' is judged by the last sample."""
        before = [marks for t, marks in self.samples if t <= moment]
        after = [(t, marks) for t, marks in self.samples if t > moment]
        if not before or not after:
            return float("nan")
        then = before[-1]
        latest = self.samples[-1][1]
        worst = 0.0
        for live in self.livestreams:
            if latest[live] <= then[live]:
                continue
            moves, mark = 0, then[live]
            for t, marks in after:
                if marks[live] > mark:
                    moves, mark = moves + 1, marks[live]
                    if moves == 2 or mark == latest[live]:
                        worst = max(worst, t - moment)
                        break
        return worst


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def wait_until_applied(
    settings: Settings, feed: Feed, *, watch: Sequence[Worker] = (), limit: float = 180.0
) -> None:
    """Until every livestream's watermark reaches its last record on the comments topic."""
    from live_support import last_comment_offsets

    last = await last_comment_offsets(settings)
    async with DraftStore.connect(settings.redis) as store:

        async def done() -> bool:
            for live in feed.livestreams:
                if live in last and (await store.progress(SHOP, live))[0] < last[live]:
                    return False
            return True

        await wait_for(done, "every comment applied", watch=watch, limit=limit)


async def wait_until_acknowledged(
    settings: Settings, *, watch: Sequence[Worker] = (), limit: float = 120.0
) -> None:
    """Until the comment intake's group has committed every partition of the comments topic
    to its end. A watermark in Redis is there before the batch's draft events are published
    (the FCALL, then the publish), so draft events read as soon as every watermark is reached
    miss the last batch's (up to hundreds of drafts when that batch was a backlog): the
    worker's own word that it is done is its commit, which follows Kafka's acknowledgement
    of the events (stream/intake.py)."""
    ends = await end_offsets(settings, settings.topics.comments)

    async def done() -> bool:
        committed = await committed_offsets(settings)
        return all(committed.get(p, 0) >= end for p, end in ends.items())

    await wait_for(done, "the intake's offsets committed to the end of every partition",
                   watch=watch, limit=limit)  # fmt: skip


# --------------------------------------------------------------------------- the tally


@dataclass
class FaultReport:
    scenario: str
    sent: int = 0  # distinct comments Kafka acknowledged
    applied: int = 0  # of those, in the store's dedupe set
    lost: int = 0
    twice: int = 0  # comments whose items are in the drafts more often than in the reference
    drafts: int = 0
    drafts_equal: int = 0
    events_missing: int = 0
    recoveries: list[float] = field(default_factory=list)
    moments: list[float] = field(default_factory=list)  # when each recovery is timed from
    notes: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)

    @property
    def recovery(self) -> float:
        return max(self.recoveries, default=0.0)

    def row(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "sent": self.sent,
            "applied": self.applied,
            "lost": self.lost,
            "twice": self.twice,
            "drafts": f"{self.drafts_equal}/{self.drafts}",
            "events missing": self.events_missing,
            "recovery s": ", ".join(f"{r:.1f}" for r in self.recoveries) or "-",
            "notes": "; ".join(self.notes),
        }

    def assert_clean(self) -> None:
        problems = []
        if self.lost or self.twice or self.events_missing or self.applied != self.sent:
            problems.append(
                f"sent {self.sent}, applied {self.applied}, lost {self.lost}, twice {self.twice}"
                f", draft events missing {self.events_missing}"
            )
        if self.drafts_equal != self.drafts:
            problems.append(f"only {self.drafts_equal} of {self.drafts} drafts equal the model")
        assert not problems, f"{self.scenario}: " + "; ".join(problems + self.differences[:3])


def _placeless(draft: Json) -> Json:
    return {**draft, "lines": [{**line, "waitlist": None} for line in draft["lines"]]}


def _comment_uses(drafts: Iterable[Json]) -> Counter[str]:
    uses: Counter[str] = Counter()
    for draft in drafts:
        for line in draft["lines"] + draft["history"]:
            uses.update(line["comment_ids"])
    return uses


async def tally(settings: Settings, feed: Feed, scenario: str) -> FaultReport:
    """Compare the store with the reference, livestream by livestream (module docstring)."""
    report = FaultReport(scenario, sent=len(feed.acked))
    records = await read_topic(settings, settings.topics.comments)
    events = await read_topic(settings, settings.topics.draft_events)
    client = redis_client(settings.redis)
    try:
        async with DraftStore.connect(settings.redis) as store:
            for live in feed.livestreams:
                seen: dict[str, Comment] = {}
                for record in records:
                    if record.key == live.encode() and record.value is not None:
                        comment = Comment.from_json(record.value)
                        seen.setdefault(comment.id, comment)
                in_kafka = list(seen.values())
                book = model_book(feed.shop, live)
                book.apply(comment_events(in_kafka, feed.shop))
                want = [{**d, "livestream_id": live} for d in book.drafts()]
                got = await store.drafts(SHOP, live)
                ids = [c.id for c in in_kafka]
                if ids:
                    members = await client.smismember(f"{livestream_prefix(SHOP, live)}:seen", ids)
                    applied = {cid for cid, member in zip(ids, members, strict=True) if member}
                else:
                    applied = set()
                sent_here = {c.id for c in in_kafka if (live, c.id) in feed.acked}
                report.applied += len(sent_here & applied)
                report.lost += len(sent_here - applied)
                uses_got, uses_want = _comment_uses(got), _comment_uses(want)
                report.twice += sum(1 for cid, n in uses_got.items() if n > uses_want.get(cid, 0))
                report.lost += sum(1 for cid, n in uses_want.items() if n > uses_got.get(cid, 0))
                by_seq_got = {d["seq"]: d for d in got}
                report.drafts += len(want)
                report.drafts_equal += sum(1 for d in want if by_seq_got.get(d["seq"]) == d)
                if got != want:
                    report.differences.append(f"{live}: {first_difference(got, want)}")
                latest: dict[int, Json] = {}
                for event in draft_events_of(events, live):
                    latest[event.seq] = event.draft
                stale = [
                    d["seq"]
                    for d in got
                    if d["seq"] not in latest or _placeless(latest[d["seq"]]) != _placeless(d)
                ]
                report.events_missing += len(stale)
                if stale:
                    never = [seq for seq in stale if seq not in latest]
                    report.differences.append(
                        f"{live}: {len(stale)} drafts whose last event is not their final state"
                        f" (seqs {stale[:8]}; without any event: {never[:8]})"
                    )
    finally:
        await client.aclose()
    return report


def rng_for(scenario: str, seed: int = 14) -> random.Random:
    return random.Random(f"{scenario}:{seed}")


def dumps(report: FaultReport) -> bytes:
    return orjson.dumps({**dataclasses.asdict(report), "recovery": report.recovery})
