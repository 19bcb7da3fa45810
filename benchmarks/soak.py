"""A soak: a steady comment rate across many livestreams for a long time, with staff commands
and the automation agent running, and what stays flat and what does not.

    .venv/bin/python benchmarks/soak.py                         # 30 min, 1,000/s, 20 livestreams
    .venv/bin/python benchmarks/soak.py --minutes 5 --rate 500   # a shorter look

It starts its own stack (stack/: Kafka and Redis on free ports, data in `.stack/soak`, stopped
and wiped at the end), registers `--livestreams` livestreams of the sample shop (its stock times
100,000, so waitlists stay short: a soak is about time, not about one queue) and sets the shop up
for orders, starts one `chotdon worker` (all three agents), then for `--minutes`:

- produces `--rate` comments a second, round-robin over the livestreams: the sample generator's
  comments (cli/samples.py), each livestream's pool of 3,000 sent again and again, each round
  under new comment and viewer ids (new customers keep coming, as in a long live; the same
  600 re-ordering forever would make ever longer drafts instead, every change of which costs
  its whole size);
- sends `--command-rate` staff commands a second (assign, on drafts that exist), through Kafka
  like the CLI;
- every `--every` seconds samples the worker's RSS (/proc), Redis's used_memory, the latency of
  a Redis round trip (the median of 20 HGETs of a livestream's meta) and of the worker's own
  FCALLs (its Prometheus histogram, the mean over the interval), and how far the worker is
  behind (comments sent less comments applied).

At the end it waits until everything is applied and counts, per livestream, the comment ids in
the store's dedupe set against those sent (lost: sent and not applied) and the commands whose
outcome is in the store. The slope of each sampled series over the run's second half (after the
warm-up) is reported per hour, with its value at the middle, so "flat" is a number. Results:
benchmarks/results/soak.json, a table on the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from aiokafka import AIOKafkaProducer  # noqa: E402
from fault_support import free_stack_settings  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from cli.samples import generate  # noqa: E402
from config.loader import load_shop  # noqa: E402
from config.settings import Settings  # noqa: E402
from orders.commands import Assign  # noqa: E402
from orders.connection import redis_client  # noqa: E402
from orders.shop.store import ShopStore  # noqa: E402
from orders.store import DraftStore, livestream_prefix  # noqa: E402
from stack import free_port, stack_purge, stack_up  # noqa: E402
from stream.messages import Comment  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "soak.json"
SHOP_FILE = ROOT / "config" / "shops" / "demo.toml"
console = Console(width=140)


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per hour."""
    if len(points) < 2:
        return float("nan")
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return float("nan")
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var * 3600


def rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(match.group(1)) / 1024 if match else float("nan")


def fcall_histogram(port: int) -> tuple[float, float]:
    """(sum, count) of the worker's chotdon_redis_call_seconds histogram."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    total = count = 0.0
    for line in text.splitlines():
        if line.startswith("chotdon_redis_call_seconds_sum"):
            total = float(line.split()[-1])
        elif line.startswith("chotdon_redis_call_seconds_count"):
            count = float(line.split()[-1])
    return total, count


@dataclasses.dataclass
class Soak:
    settings: Settings
    livestreams: list[str]
    pools: dict[str, list[Comment]]
    rate: float
    command_rate: float
    seconds: float
    sent: dict[str, int] = dataclasses.field(default_factory=dict)
    commands_sent: dict[str, int] = dataclasses.field(default_factory=dict)
    samples: list[dict[str, float]] = dataclasses.field(default_factory=list)

    async def produce(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka, acks="all",
                                    enable_idempotence=True, linger_ms=5)  # fmt: skip
        await producer.start()
        started = time.monotonic()
        cursor = dict.fromkeys(self.livestreams, 0)
        sent = 0
        try:
            while (now := time.monotonic()) - started < self.seconds:
                due = int((now - started) * self.rate)
                futures = []
                while sent < due:
                    live = self.livestreams[sent % len(self.livestreams)]
                    pool = self.pools[live]
                    n = cursor[live]
                    cursor[live] = n + 1
                    base = pool[n % len(pool)]
                    rnd = f"r{n // len(pool)}"
                    user = None if base.user_id is None else f"{rnd}-{base.user_id}"
                    comment = base.model_copy(update={"id": f"{rnd}-{base.id}", "user_id": user})
                    futures.append(await producer.send(
                        self.settings.topics.comments, comment.to_json(), key=live.encode()
                    ))  # fmt: skip
                    sent += 1
                if futures:
                    await asyncio.gather(*futures)
                await asyncio.sleep(0.02)
        finally:
            await producer.stop()
        self.sent = cursor

    async def command(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka, acks="all")
        await producer.start()
        rng = random.Random(14)
        client = redis_client(self.settings.redis)
        started = time.monotonic()
        number = 0
        try:
            while time.monotonic() - started < self.seconds:
                live = rng.choice(self.livestreams)
                seq = int(await client.hget(f"{livestream_prefix('shop-demo', live)}:meta", "seq")
                          or 0)  # fmt: skip
                if seq:
                    number += 1
                    command = Assign(
                        command_id=f"soak-{number}", staff_id="lan",
                        issued_at="2026-12-03T20:00:00+07:00", livestream_id=live,
                        seq=rng.randint(1, seq), assignee=rng.choice(["lan", "minh"]),
                    )  # fmt: skip
                    await producer.send_and_wait(self.settings.topics.order_commands,
                                                 command.model_dump_json().encode(),
                                                 key=live.encode())  # fmt: skip
                    self.commands_sent[live] = self.commands_sent.get(live, 0) + 1
                await asyncio.sleep(1 / self.command_rate)
        finally:
            await producer.stop()
            await client.aclose()

    async def sample(self, worker: subprocess.Popen[bytes], every: float) -> None:
        client = redis_client(self.settings.redis)
        started = time.monotonic()
        last = fcall_histogram(self.settings.metrics_port)
        try:
            while time.monotonic() - started < self.seconds + every:
                await asyncio.sleep(every)
                meta = f"{livestream_prefix('shop-demo', self.livestreams[0])}:meta"
                trips = []
                for _ in range(20):
                    t0 = time.perf_counter()
                    await client.hget(meta, "seq")
                    trips.append(time.perf_counter() - t0)
                info = await client.info("memory")
                applied = 0
                for live in self.livestreams:
                    applied += int(
                        await client.scard(f"{livestream_prefix('shop-demo', live)}:seen")
                    )
                now = fcall_histogram(self.settings.metrics_port)
                calls = now[1] - last[1]
                fcall_ms = (now[0] - last[0]) / calls * 1000 if calls else float("nan")
                last = now
                elapsed = time.monotonic() - started
                self.samples.append({
                    "t": elapsed, "rss_mb": rss_mb(worker.pid),
                    "redis_mb": int(info["used_memory"]) / 2**20,
                    "redis_rtt_ms": statistics.median(trips) * 1000, "fcall_ms": fcall_ms,
                    "applied": applied, "behind": elapsed * self.rate - applied,
                })  # fmt: skip
                s = self.samples[-1]
                console.print(
                    f"{elapsed:7.0f} s  rss {s['rss_mb']:6.1f} MB  redis {s['redis_mb']:7.1f} MB"
                    f"  rtt {s['redis_rtt_ms']:5.2f} ms  fcall {fcall_ms:6.2f} ms"
                    f"  applied {applied:>9,}  behind {max(0, s['behind']):>8,.0f}",
                    highlight=False,
                )
        finally:
            await client.aclose()


async def prepare(settings: Settings, lives: int, per_live: int) -> tuple[list[str], Any]:
    shop = load_shop(SHOP_FILE)
    shop = shop.model_copy(update={"products": tuple(
        p.model_copy(update={"stock": None if p.stock is None else p.stock * 100_000})
        for p in shop.products
    )})  # fmt: skip
    livestreams = [f"soak-{n:02d}" for n in range(lives)]
    async with DraftStore.connect(settings.redis) as store:
        await store.load_functions()
        for live in livestreams:
            await store.register_shop(shop, live)
    async with ShopStore.connect(settings.redis) as shops:
        await shops.apply_config(shop)
    pools = {
        live: generate(per_live, 600, livestream_id=live, seed=n, shop=shop)
        for n, live in enumerate(livestreams)
    }
    return livestreams, pools


async def settle(soak: Soak, limit: float = 600) -> dict[str, Any]:
    client = redis_client(soak.settings.redis)
    deadline = time.monotonic() + limit
    try:
        while True:
            applied = {
                live: int(await client.scard(f"{livestream_prefix('shop-demo', live)}:seen"))
                for live in soak.livestreams
            }
            outcomes = {
                live: int(await client.hlen(f"{livestream_prefix('shop-demo', live)}:cmds"))
                for live in soak.livestreams
            }
            done = all(applied[live] >= soak.sent.get(live, 0) for live in soak.livestreams)
            done = done and all(outcomes[live] >= n for live, n in soak.commands_sent.items())
            if done or time.monotonic() > deadline:
                return {"applied": applied, "outcomes": outcomes}
            await asyncio.sleep(1)
    finally:
        await client.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=1000.0, help="comments a second")
    parser.add_argument("--livestreams", type=int, default=20)
    parser.add_argument("--command-rate", type=float, default=5.0, help="commands a second")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--stack-dir", type=Path, default=ROOT / ".stack" / "soak")
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    settings = free_stack_settings(args.stack_dir, app_id="chotdon-soak", metrics_port=free_port())
    console.print(f"stack in {args.stack_dir}: Kafka {settings.kafka}, Redis {settings.redis}")
    stack_up(settings, console)
    worker: subprocess.Popen[bytes] | None = None
    try:
        livestreams, pools = asyncio.run(prepare(settings, args.livestreams, 3000))
        from live_processes import env_for

        log = (args.stack_dir / "worker.log").open("wb")
        worker = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "chotdon"), "worker"],
            env=env_for(settings), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                fcall_histogram(settings.metrics_port)
                break
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit("the worker did not start; see " + str(log.name))
            time.sleep(0.2)
        soak = Soak(settings, livestreams, pools, args.rate, args.command_rate, args.minutes * 60)

        async def run() -> dict[str, Any]:
            assert worker is not None
            await asyncio.gather(soak.produce(), soak.command(), soak.sample(worker, args.every))
            return await settle(soak)

        started = time.monotonic()
        final = asyncio.run(run())
        wall = time.monotonic() - started
    finally:
        if worker is not None:
            worker.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(timeout=30)
        stack_purge(settings)
    report(soak, final, wall, args)
    return 0


def report(soak: Soak, final: dict[str, Any], wall: float, args: argparse.Namespace) -> None:
    half = [s for s in soak.samples if s["t"] >= soak.seconds / 2 and s["t"] <= soak.seconds]
    title = (
        f"soak: {args.minutes:.0f} min, {args.rate:.0f} comments/s, {args.livestreams} "
        f"livestreams, {args.command_rate:.0f} commands/s"
    )
    table = Table(title=title)
    for column in ("series", "at the middle", "at the end", "slope (second half) per hour"):
        table.add_column(column, justify="right")
    series = {}
    for name, unit in (("rss_mb", "MB"), ("redis_mb", "MB"), ("redis_rtt_ms", "ms"),
                       ("fcall_ms", "ms"), ("behind", "comments")):  # fmt: skip
        points = [(s["t"], s[name]) for s in half if s[name] == s[name]]
        slope = slope_per_hour(points)
        middle = points[0][1] if points else float("nan")
        end = points[-1][1] if points else float("nan")
        series[name] = {"middle": middle, "end": end, "slope_per_hour": slope}
        table.add_row(f"{name} ({unit})", f"{middle:.2f}", f"{end:.2f}", f"{slope:+.2f}")
    console.print(table)
    sent = sum(soak.sent.values())
    applied = sum(min(final["applied"][k], n) for k, n in soak.sent.items())
    commands = sum(soak.commands_sent.values())
    outcomes = sum(min(final["outcomes"][k], n) for k, n in soak.commands_sent.items())
    console.print(f"comments sent {sent:,}, applied {applied:,}, lost {sent - applied:,}; "
                  f"commands sent {commands:,}, with their outcome {outcomes:,}; "
                  f"wall {wall:.0f} s")  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "args": {k: str(v) for k, v in vars(args).items()}, "sent": sent, "applied": applied,
        "lost": sent - applied, "commands": commands, "outcomes": outcomes, "series": series,
        "samples": soak.samples, "machine": {"cpus": os.cpu_count(), "load": os.getloadavg()},
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
