"""Staff commands through the command processor (stream/staff.py) on a real Redis.

    .venv/bin/python benchmarks/command_bench.py [--drafts 1000] [--runs 3] [--concurrency 4 16] \
        [--out benchmarks/results/commands.json]

What finishing orders costs: commands/s, latency, Redis calls, CPU and optimistic-transaction
retries of each kind of staff command, applied through `CommandProcessor.handle` exactly as the
command agent does, but without Kafka: records are built in the bench and `publish` collects the
outgoing messages in memory (as tests/integration/test_command_processor.py does).

It starts a redis-server of its own (a free port, a temporary directory, configured like
`chotdon stack up`'s: append-only file, fsync every second) and stops it at the end. Each run
starts from an empty database: the sample shop (config/shops/demo.toml) with
`ShopStore.apply_config`, one livestream with `DraftStore.register_shop`, and the comments of
`cli.samples.generate` (10 x --drafts customers, 3 comments per customer, parsed with the
shop's grammar) applied in batches of 500, which leaves at least --drafts open drafts with a
phone number from the comments. Then, each kind one command at a time awaited by one processor,
then by each --concurrency K processors at once (asyncio.gather, each its own client, on other
drafts; the drafts are dealt among the widths alike):

1. set_customer (phone in a typed spelling, address, province spelling) on every draft that
   would pass the finalise checks once it has them;
2. finalise create on those drafts (Lua finalise, then the order in the shop store);
3. change_status new -> confirmed on the orders 2 created;
4. a mix on other drafts: per draft add_custom_line, set_quantity of a line, remove_line of the
   custom line.

Per kind: commands/s over the phase, p50/p99 latency of `handle`, round trips to Redis and
commands Redis ran per command (INFO commandstats), Redis CPU per command (INFO cpu), the
bench's own CPU per command, retries of the shop store (WatchError on EXEC, counted by a
wrapping pipeline class, and put_order's commits refused for a changed read, by a wrapping
store class) and finalise re-validations ("stale"). The median of --runs runs is
reported; every run is in the JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from cli.samples import DEMO_SHOP, MOBILE_PREFIXES, PHONE_SPELLINGS, generate
from config.loader import load_shop
from config.settings import Topics
from config.shop import ShopConfig
from orders.checks.contact import normalise_phone
from orders.checks.finalise import finalise_problems
from orders.events import CommentEvent
from orders.shop.store import ShopStore
from orders.store import DraftStore
from parsers import compile_grammar
from stream.pipeline import Record, comment_event
from stream.staff import CommandProcessor

REPO_ROOT = Path(__file__).resolve().parent.parent
LIVE = "live-bench"
AT = "2026-11-25T20:00:00+07:00"
TOPICS = Topics()
BATCH = 500
STAFF = ("lan", "minh")
KINDS = {  # the phases, in order, and their labels in the table
    "set_customer": "set_customer",
    "finalise": "finalise create",
    "change_status": "change_status",
    "mix": "mix",
}
PROVINCES = (
    "HCM",
    "tphcm",
    "TP. Hồ Chí Minh",
    "đà nẵng",
    "Hà Nội",
    "ha noi",
    "Huế",
    "Cần Thơ",
    "Bình Dương",
    "Quảng Nam",
    "hai phong",
    "Bắc Ninh",
    "Nghệ An",
)
STREETS = (
    "Lê Lợi",
    "Nguyễn Huệ",
    "Trần Hưng Đạo",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Điện Biên Phủ",
    "Cách Mạng Tháng 8",
    "Võ Văn Tần",
)
CUSTOM_LINES = (("Phí ship hỏa tốc", 30_000), ("Túi quà", 15_000), ("Móc khóa tặng kèm", 0))


# -- counting what the product code does, by wrapping (nothing in orders/ or stream/ changes) ----


@dataclass
class Counters:
    transactions: int = 0  # MULTI/EXEC sent by the shop store (committed or not)
    watch_errors: int = 0  # EXEC refused because a WATCHed key changed: one retry each
    stale: int = 0  # finalise answered "stale": the draft changed, re-read and re-validated
    # EXECs each committed transaction took (1: no retry); ShopStore gives up after 64
    tries: list[int] = field(default_factory=list)

    def snapshot(self) -> tuple[int, int, int, int]:
        return self.transactions, self.watch_errors, self.stale, CountingConnection.sent


class CountingPipeline(Pipeline):
    """ShopStore._transact keeps one pipeline for all the attempts of a transaction."""

    counters: Counters
    attempts = 0

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        if not self.explicit_transaction:
            return await super().execute(raise_on_error)
        self.counters.transactions += 1
        self.attempts += 1
        try:
            result = await super().execute(raise_on_error)
        except WatchError:
            self.counters.watch_errors += 1
            raise
        self.counters.tries.append(self.attempts)
        self.attempts = 0
        return result


class CountingConnection(redis.asyncio.Connection):
    """Counts what the processors send: one write per command, or per pipeline/transaction,
    i.e. one round trip each."""

    sent = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


class CountingRedis(redis.asyncio.Redis):
    """A client whose pipelines count ShopStore._transact's EXECs and WatchErrors."""

    counters: Counters

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        pipe = CountingPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.counters = self.counters
        return pipe


class CountingDrafts(DraftStore):
    """Counts the finalises answered "stale", sent alone or beside the shop store's read."""

    def __init__(self, client: redis.asyncio.Redis, counters: Counters) -> None:
        super().__init__(client)
        self.counters = counters

    def draft_command_call(self, *args: Any, **kwargs: Any) -> Any:
        call = super().draft_command_call(*args, **kwargs)

        def decode(raw: Any) -> Any:
            result = call.decode(raw)
            if result.status == "stale":
                self.counters.stale += 1
            return result

        return dataclasses.replace(call, decode=decode)


class CountingShops(ShopStore):
    """put_order commits through a Redis Function that refuses a read gone stale (it answers
    the new read): counted like a WatchError, and its commits like EXECs."""

    def __init__(self, client: redis.asyncio.Redis, counters: Counters) -> None:
        super().__init__(client)
        self.counters = counters
        self.attempts = 0

    async def put_order(self, *args: Any, **kwargs: Any) -> Any:
        self.attempts = 0
        return await super().put_order(*args, **kwargs)

    async def _commit_order(self, *args: Any, **kwargs: Any) -> Any:
        self.counters.transactions += 1
        self.attempts += 1
        fresh = await super()._commit_order(*args, **kwargs)
        if fresh is not None:
            self.counters.watch_errors += 1
        else:
            self.counters.tries.append(self.attempts)
        return fresh


# -- a redis-server of the bench's own ---------------------------------------------------------


class RedisServer:
    """redis-server on a free port in a temporary directory; stop() removes both."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.directory = Path(tempfile.mkdtemp(prefix="chotdon-command-bench-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        argv = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "no",
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--logfile",
            str(self.directory / "redis.log"),
        ]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not self._pong():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.directory / "redis.log"
                raise RuntimeError(
                    "redis-server did not start:\n"
                    + (log.read_text() if log.exists() else "(no log)")
                )
            time.sleep(0.05)

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


# -- the sample livestream ---------------------------------------------------------------------


def sample_events(shop: ShopConfig, drafts: int) -> list[CommentEvent]:
    """The sample livestream's comments, parsed as the comment agent does."""
    customers = 10 * drafts
    grammar = compile_grammar(shop)
    comments = generate(3 * customers, customers, livestream_id=LIVE, shop_id=shop.shop.id)
    return [
        comment_event(comment, grammar.parse(comment.text, comment.id), offset, 0)
        for offset, comment in enumerate(comments)
    ]


def typed_phone(phone: str, rng: random.Random) -> str:
    a, b, c = phone[:4], phone[4:7], phone[7:]
    spelling = rng.choice(PHONE_SPELLINGS)
    return spelling.format(d=phone, a=a, b=b, c=c, a1=a[1:], d9=phone[1:])


def contact_of(draft: dict[str, Any], rng: random.Random) -> dict[str, str]:
    """The customer's phone from the comments, or a new one when there is none or the contact
    check refuses it (see `phone_refused`), typed in one of the spellings comments use."""
    phone = draft["customer"].get("phone")
    while phone is None or normalise_phone(phone) is None:
        phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}"
    return {
        "phone": typed_phone(phone, rng),
        "address": f"{rng.randint(1, 300)} {rng.choice(STREETS)}, phường {rng.randint(1, 15)}",
        "province": rng.choice(PROVINCES),
    }


@dataclass
class Prepared:
    """One run's starting state: which drafts each phase works on."""

    setup_seconds: float
    open_drafts: int
    with_phone: int
    phone_refused: int  # comment phones the parser took that the finalise check refuses
    finalisable: list[dict[str, Any]]  # pass the finalise checks once their contact is set
    others: list[dict[str, Any]]  # open, with lines, not finalisable: the mix works on these


async def prepare(
    client: redis.asyncio.Redis, shop: ShopConfig, events: Sequence[CommentEvent]
) -> Prepared:
    started = time.perf_counter()
    await client.flushdb()  # Redis Functions survive a flush; keys do not
    drafts, shops = DraftStore(client), ShopStore(client)
    await drafts.load_functions()
    problems = await shops.apply_config(shop)
    if problems:
        raise RuntimeError(f"apply_config refused the sample shop: {problems}")
    await drafts.register_shop(shop, LIVE)
    for start in range(0, len(events), BATCH):
        await drafts.apply_batch(shop.shop.id, LIVE, events[start : start + BATCH])
    opened = [d for d in await drafts.drafts(shop.shop.id, LIVE) if d["status"] == "open"]
    probe = {"phone": "0912345678", "address": "1 Lê Lợi", "province": "HCM"}
    finalisable, others = [], []
    for draft in opened:
        if not draft["lines"]:
            continue
        if finalise_problems({**draft, "contact": probe}):
            others.append(draft)
        else:
            finalisable.append(draft)
    phones = [d["customer"]["phone"] for d in opened if d["customer"].get("phone")]
    refused = sum(1 for phone in phones if normalise_phone(phone) is None)
    return Prepared(
        time.perf_counter() - started, len(opened), len(phones), refused, finalisable, others
    )


# -- commands ----------------------------------------------------------------------------------


def command(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "command_id": os.urandom(8).hex(), "issued_at": AT, **fields}


def draft_commands(
    kind: str, drafts: Sequence[dict[str, Any]], rng: random.Random, orders: dict[int, str]
) -> list[dict[str, Any]]:
    """The commands of one phase, in the order one processor sends them."""
    out: list[dict[str, Any]] = []
    for draft in drafts:
        where = {"livestream_id": LIVE, "seq": draft["seq"]}
        if kind == "set_customer":
            out.append(command(kind, **where, **contact_of(draft, rng)))
        elif kind == "finalise":
            out.append(command(kind, **where, action="create"))
        elif kind == "change_status":
            if draft["seq"] in orders:
                out.append(command(kind, order_ids=[orders[draft["seq"]]], to="confirmed"))
        else:
            lines = draft["lines"]
            name, price = rng.choice(CUSTOM_LINES)
            position = next(
                (i for i, line in enumerate(lines, 1) if line["status"] == "matched"), 1
            )
            qty = int(lines[position - 1]["qty"])
            out.append(command("add_custom_line", **where, name=name, price=price, qty=1))
            out.append(
                command("set_quantity", **where, line=position, qty=qty - 1 if qty > 1 else qty + 1)
            )
            out.append(command("remove_line", **where, line=len(lines) + 1))
    return out


@dataclass
class Published:
    messages: list[tuple[str, bytes | None, bytes]] = field(default_factory=list)

    async def __call__(self, messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        self.messages.extend(messages)


@dataclass
class Processor:
    """One command agent's worth: its own client, stores and processor."""

    client: CountingRedis
    processor: CommandProcessor
    published: Published
    offset: int = 0

    async def close(self) -> None:
        await self.client.aclose()


def make_processor(url: str, counters: Counters) -> Processor:
    client = CountingRedis.from_url(url, connection_class=CountingConnection)
    client.counters = counters
    published = Published()
    processor = CommandProcessor(
        CountingDrafts(client, counters), CountingShops(client, counters), published, TOPICS
    )
    return Processor(client, processor, published)


@dataclass
class Timed:
    type: str
    seconds: float
    status: str
    outcome: dict[str, Any]


async def send_all(proc: Processor, commands: Sequence[dict[str, Any]], staff: str) -> list[Timed]:
    timed = []
    for cmd in commands:
        proc.offset += 1
        value = orjson.dumps({**cmd, "staff_id": staff})
        record = Record(TOPICS.order_commands, 0, proc.offset, LIVE.encode(), value)
        started = time.perf_counter()
        outcome = await proc.processor.handle(record)
        elapsed = time.perf_counter() - started
        status = "dead_letter" if outcome is None else outcome.status
        kept = (
            {}
            if outcome is None
            else {
                "orders": [o["order_id"] for o in outcome.orders],
                "reasons": [r.code for r in outcome.reasons],
            }
        )
        timed.append(Timed(cmd["type"], elapsed, status, kept))
    return timed


async def redis_sample(client: redis.asyncio.Redis) -> tuple[float, int]:
    cpu = await client.info("cpu")
    stats = await client.info("commandstats")
    calls = sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]), calls


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))]


async def phase(
    kind: str,
    procs: Sequence[Processor],
    sequences: Sequence[list[dict[str, Any]]],
    admin: redis.asyncio.Redis,
    counters: Counters,
) -> tuple[dict[str, Any], list[Timed]]:
    gc.collect()
    cpu0, calls0 = await redis_sample(admin)
    tx0, we0, stale0, sent0 = counters.snapshot()
    counters.tries.clear()
    for proc in procs:
        proc.published.messages.clear()
    bench_cpu0 = time.process_time()
    started = time.perf_counter()
    results = await asyncio.gather(
        *(
            send_all(proc, seq, STAFF[i % len(STAFF)])
            for i, (proc, seq) in enumerate(zip(procs, sequences, strict=True))
        )
    )
    seconds = time.perf_counter() - started
    bench_cpu = time.process_time() - bench_cpu0
    cpu1, calls1 = await redis_sample(admin)
    tx1, we1, stale1, sent1 = counters.snapshot()
    timed = [t for result in results for t in result]
    n = len(timed)
    topics = Counter(topic for proc in procs for topic, _, _ in proc.published.messages)
    latencies = [t.seconds for t in timed]
    by_type: dict[str, Any] = {}
    for name in sorted({t.type for t in timed}):
        mine = [t.seconds for t in timed if t.type == name]
        by_type[name] = {
            "commands": len(mine),
            "p50_ms": percentile(mine, 0.5) * 1000,
            "p99_ms": percentile(mine, 0.99) * 1000,
        }
    stats = {
        "kind": kind,
        "processors": len(procs),
        "commands": n,
        "seconds": seconds,
        "rate": n / seconds,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
        "statuses": dict(Counter(t.status for t in timed)),
        "refusals": dict(Counter(r for t in timed for r in t.outcome.get("reasons", []))),
        "round_trips_per_command": (sent1 - sent0) / n,
        # every command Redis ran, those of Lua functions included, less the commandstats INFO
        "redis_calls_per_command": (calls1 - calls0 - 1) / n,
        "redis_cpu_us_per_command": (cpu1 - cpu0) / n * 1e6,
        "bench_cpu_us_per_command": bench_cpu / n * 1e6,
        "published_per_command": {topic: count / n for topic, count in topics.items()},
        "draft_events_per_command": topics[TOPICS.draft_events] / n,
        "transactions": tx1 - tx0,
        "watch_retries": we1 - we0,
        "retries_per_command": (we1 - we0) / n,
        "most_tries": max(counters.tries, default=0),
        "tries": dict(sorted(Counter(counters.tries).items())),
        "stale": stale1 - stale0,
        "by_type": by_type,
    }
    return stats, timed


def split(items: Sequence[Any], parts: int) -> list[list[Any]]:
    return [list(items[i::parts]) for i in range(parts)]


async def one_run(
    url: str,
    shop: ShopConfig,
    events: Sequence[CommentEvent],
    args: argparse.Namespace,
    run: int,
    console: Any,
) -> dict[str, Any]:
    admin = redis.asyncio.Redis.from_url(url)
    prepared = await prepare(admin, shop, events)
    if prepared.with_phone < args.drafts:
        console.print(
            f"[yellow]only {prepared.with_phone} open drafts with a phone number "
            f"(wanted {args.drafts})[/yellow]"
        )
    rng = random.Random(run)
    # Alternate drafts between the widths, so all get alike drafts (early customers have more
    # lines, and more of them wait for stock).
    widths = (1, *args.concurrency)
    parts = len(widths)
    final = prepared.finalisable
    groups = {width: final[i::parts] for i, width in enumerate(widths)}
    mix_size = min(args.drafts // parts, len(prepared.others) // parts)
    spread = prepared.others[:: len(prepared.others) // (parts * mix_size)][: parts * mix_size]
    mixes = {width: spread[i::parts] for i, width in enumerate(widths)}
    counters = Counters()
    phases: list[dict[str, Any]] = []
    orders: dict[int, dict[int, str]] = {width: {} for width in widths}
    # one processor, and each --concurrency's others, each with its own client, for the run
    processors = {width: [make_processor(url, counters) for _ in range(width)] for width in widths}
    for kind in KINDS:
        for width, procs in processors.items():
            drafts = mixes[width] if kind == "mix" else groups[width]
            sequences = [
                draft_commands(kind, part, rng, orders[width]) for part in split(drafts, width)
            ]
            stats, timed = await phase(kind, procs, sequences, admin, counters)
            if kind == "finalise":
                for draft_seq, t in zip(
                    [d["seq"] for part in split(drafts, width) for d in part],
                    timed,
                    strict=True,
                ):
                    if t.outcome.get("orders"):
                        orders[width][draft_seq] = t.outcome["orders"][0]
            phases.append(stats)
            console.print(
                f"  run {run + 1} {kind:<13} x{width}: {stats['commands']:>5} commands "
                f"{stats['rate']:>7,.0f}/s  p50 {stats['p50_ms']:5.2f} ms  "
                f"p99 {stats['p99_ms']:6.2f} ms  retries {stats['watch_retries']}  "
                f"{stats['statuses']}"
            )
    for procs in processors.values():
        for proc in procs:
            await proc.close()
    persistence = await admin.info("persistence")
    await admin.aclose()
    return {
        "run": run + 1,
        "setup_seconds": prepared.setup_seconds,
        "open_drafts": prepared.open_drafts,
        "open_drafts_with_phone": prepared.with_phone,
        "comment_phones_refused_by_finalise": prepared.phone_refused,
        "finalisable": len(prepared.finalisable),
        "mix_drafts": mix_size,
        "aof_rewrites": persistence.get("aof_rewrites"),
        "phases": phases,
    }


MEDIAN_FIELDS = (
    "rate",
    "p50_ms",
    "p99_ms",
    "max_ms",
    "round_trips_per_command",
    "redis_calls_per_command",
    "redis_cpu_us_per_command",
    "bench_cpu_us_per_command",
    "watch_retries",
    "retries_per_command",
    "most_tries",
    "transactions",
    "stale",
    "commands",
    "draft_events_per_command",
)


def medians(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for index, first in enumerate(runs[0]["phases"]):
        same = [run["phases"][index] for run in runs]
        row = {"kind": first["kind"], "processors": first["processors"]}
        row |= {name: statistics.median(p[name] for p in same) for name in MEDIAN_FIELDS}
        row["rates"] = [p["rate"] for p in same]
        row["refused"] = sum(p["commands"] - p["statuses"].get("applied", 0) for p in same)
        row["by_type"] = {
            name: {
                q: statistics.median(p["by_type"][name][q] for p in same)
                for q in ("commands", "p50_ms", "p99_ms")
            }
            for name in first["by_type"]
        }
        rows.append(row)
    return rows


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    def git(*argv: str) -> str:
        return subprocess.run(
            ["git", *argv], capture_output=True, text=True, cwd=REPO_ROOT
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD")
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit + ("+dirty" if git("status", "--porcelain") else ""),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "versions": {p: version(p) for p in ("redis", "pydantic", "orjson")},
    }


def report(rows: Sequence[dict[str, Any]], results: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table(
        title=(
            f"Staff commands through CommandProcessor, median of {len(results['runs'])} runs "
            f"(Redis {results['redis_version']}, {results['open_drafts']:,} open drafts)"
        ),
        caption=(
            "per command: trips = round trips to Redis, calls = commands Redis ran (those of Lua "
            "included), Redis/bench µs = CPU, drafts out = draft events published; retries = "
            "WatchErrors and refused commits of the shop store (+ finalise re-validations), most "
            "tries = EXECs or commits of the worst transaction (ShopStore gives up at 64)"
        ),
    )
    columns = (
        "command",
        "proc",
        "cmds",
        "cmd/s",
        "runs cmd/s",
        "p50 ms",
        "p99 ms",
        "trips",
        "calls",
        "Redis µs",
        "bench µs",
        "drafts out",
        "retries",
        "most tries",
        "refused",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "command" else "right")
    for row in rows:
        table.add_row(
            KINDS[row["kind"]],
            str(row["processors"]),
            f"{row['commands']:,.0f}",
            f"{row['rate']:,.0f}",
            " ".join(f"{r:,.0f}" for r in row["rates"]),
            f"{row['p50_ms']:.2f}",
            f"{row['p99_ms']:.2f}",
            f"{row['round_trips_per_command']:.1f}",
            f"{row['redis_calls_per_command']:.1f}",
            f"{row['redis_cpu_us_per_command']:.0f}",
            f"{row['bench_cpu_us_per_command']:.0f}",
            f"{row['draft_events_per_command']:.1f}",
            f"{row['retries_per_command']:.2f}"
            + (f" (+{row['stale']:.0f} stale)" if row["stale"] else ""),
            f"{row['most_tries']:.0f}",
            str(row["refused"]),
        )
        if row["kind"] == "mix":
            for name, sub in row["by_type"].items():
                table.add_row(
                    f"  {name}",
                    "",
                    f"{sub['commands']:,.0f}",
                    "",
                    "",
                    f"{sub['p50_ms']:.2f}",
                    f"{sub['p99_ms']:.2f}",
                    *[""] * 8,
                )
    console.print(table)


async def run_all(url: str, args: argparse.Namespace, console: Any) -> dict[str, Any]:
    shop = load_shop(DEMO_SHOP)
    started = time.perf_counter()
    events = sample_events(shop, args.drafts)
    console.print(
        f"{len(events):,} sample comments of {10 * args.drafts:,} customers generated "
        f"and parsed in {time.perf_counter() - started:.1f} s"
    )
    gc.freeze()  # the events live through every run: keep them out of the cyclic GC's scans
    runs = []
    for run in range(args.runs):
        runs.append(await one_run(url, shop, events, args, run, console))
    probe = redis.asyncio.Redis.from_url(url)
    server = await probe.info("server")
    await probe.aclose()
    return {
        "comments": len(events),
        "customers": 10 * args.drafts,
        "drafts": args.drafts,
        "concurrency": args.concurrency,
        "open_drafts": runs[0]["open_drafts"],
        "open_drafts_with_phone": runs[0]["open_drafts_with_phone"],
        "finalisable": runs[0]["finalisable"],
        "redis_version": server["redis_version"],
        "runs": runs,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--drafts",
        type=int,
        default=1000,
        help="open drafts with a phone number, at least (10x customers)",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4],
                        help="processors at once, one phase per width (and 1)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks/results/commands.json")
    parser.add_argument("--note", default="", help="recorded in the JSON (e.g. machine load)")
    args = parser.parse_args(argv)
    if args.drafts < 10 or args.runs < 1 or min(args.concurrency) < 2:
        parser.error("need --drafts >= 10, --runs >= 1 and --concurrency >= 2")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    from rich.console import Console

    args = parse_args(argv)
    console = Console()
    if not console.is_terminal:  # a log file: wide enough that the table does not wrap
        console = Console(width=200)
    before = machine()
    server = RedisServer()
    server.start()
    console.print(f"bench redis-server on port {server.port} in {server.directory}")
    try:
        results = asyncio.run(run_all(server.url, args, console))
    finally:
        server.stop()
    results["machine"] = {**before, "load_after": os.getloadavg()}
    results["note"] = args.note
    rows = medians(results["runs"])
    results["medians"] = rows
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    report(rows, results, console)
    console.print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
