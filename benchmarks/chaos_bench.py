"""The fault scenarios of tests/faults, longer, and their table: what was sent, applied, lost,
applied twice, how many drafts equal the pure order book's, draft events missing, and how long
each recovery took (for worker kills: the takeover time, target 10 s).

    .venv/bin/python benchmarks/chaos_bench.py                      # every scenario, long sizes
    .venv/bin/python benchmarks/chaos_bench.py worker_kills --kills 8
    .venv/bin/python benchmarks/chaos_bench.py --ci                 # CI's sizes (a quick look)

The scenarios are tests/fault_scenarios.py's (the same code the fault suite runs); each runs on
its own topics, consumer group and livestreams. The script starts its own Kafka and Redis on free
ports (data in `.stack/chaos`, stopped and wiped at the end); scenarios that break Redis or Kafka
start servers of their own, on free ports too. The full-disk scenarios mount a small tmpfs and
need root. Results: a table on the terminal and benchmarks/results/chaos.json.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fault_scenarios import CI, SCENARIOS, Scene, Size  # noqa: E402
from fault_support import FaultReport, free_stack_settings  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from config.settings import Settings, Topics  # noqa: E402
from stack import ensure_topics, stack_purge, stack_up  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "chaos.json"
console = Console(width=160)

# Longer than CI's: more kills, longer feeds; the broker outage stays the 60 s.
LONG = {
    "worker_kills": Size(comments=16000, rate=120.0, kills=8),
    "redis": Size(comments=8000, rate=150.0),
    "network": Size(comments=8000, rate=120.0),
    "broker": Size(comments=6000, rate=50.0, outage=60.0),
}
SIZE_OF = {
    "worker_kills": "worker_kills", "cluster_worker_kills": "worker_kills",
    "redis_kill": "redis", "redis_power_loss": "redis", "commands_power_loss": "redis",
    "redis_full_disk": "redis", "cluster_failover": "redis", "commands_cluster_failover": "redis",
    "redis_network": "network",
    "kafka_network": "network", "broker_kill": "broker", "kafka_full_disk": "broker",
}  # fmt: skip


async def scene_for(base: Settings, workdir: Path) -> Scene:
    suffix = uuid.uuid4().hex[:10]
    topics = Topics(**{f.name: f"{getattr(base.topics, f.name)}.{suffix}"
                       for f in dataclasses.fields(Topics)})  # fmt: skip
    settings = dataclasses.replace(base, topics=topics, app_id=f"chotdon-chaos-{suffix}")
    await ensure_topics(settings)
    return Scene(settings, workdir)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                        help=f"default: all of {', '.join(SCENARIOS)}")  # fmt: skip
    parser.add_argument("--ci", action="store_true", help="CI's sizes instead of the long ones")
    parser.add_argument("--kills", type=int, default=None, help="worker kills per run")
    parser.add_argument("--stack-dir", type=Path, default=ROOT / ".stack" / "chaos")
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    chosen = args.scenarios or list(SCENARIOS)
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenarios {unknown}: choose among {', '.join(SCENARIOS)}")
    sizes = dict(CI if args.ci else LONG)
    if args.kills is not None:
        sizes["worker_kills"] = dataclasses.replace(sizes["worker_kills"], kills=args.kills)
    settings = free_stack_settings(args.stack_dir, metrics_port=0)
    console.print(f"stack in {args.stack_dir}: Kafka {settings.kafka}, Redis {settings.redis}")
    stack_up(settings, console)
    reports: list[FaultReport] = []
    timings: dict[str, float] = {}
    try:
        for name in chosen:
            console.rule(name)
            with tempfile.TemporaryDirectory(prefix=f"chaos-{name}-") as folder:
                started = time.monotonic()

                async def run(name: str = name, folder: str = folder) -> FaultReport:
                    scene = await scene_for(settings, Path(folder))
                    return await SCENARIOS[name](scene, sizes[SIZE_OF[name]])

                try:
                    report = asyncio.run(run())
                except Exception as exc:  # a scenario that could not finish is a result too
                    said = f"did not finish: {type(exc).__name__}: {str(exc).splitlines()[0]}"
                    report = FaultReport(name, notes=[said[:240]])
                timings[report.scenario] = time.monotonic() - started
                reports.append(report)
                console.print(report.row(), highlight=False)
    finally:
        stack_purge(settings)
    print_table(reports, timings, args)
    return 0 if all(_clean(r) for r in reports) else 1


def _clean(report: FaultReport) -> bool:
    try:
        report.assert_clean()
    except AssertionError:
        return False
    return report.sent > 0


def print_table(reports: list[FaultReport], timings: dict[str, float], args: Any) -> None:
    table = Table(title="chaos: " + ("CI sizes" if args.ci else "long sizes"))
    for column in ("scenario", "sent", "applied", "lost", "twice", "drafts = model",
                   "events missing", "recovery s", "run s", "notes"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("scenario", "notes") else "right")
    for report in reports:
        row = report.row()
        run_s = f"{timings[report.scenario]:.0f}"
        cells = [row["sent"], row["applied"], row["lost"], row["twice"], row["drafts"],
                 row["events missing"], row["recovery s"], run_s]  # fmt: skip
        table.add_row(row["scenario"], *(str(c) for c in cells), row["notes"])
    console.print(table)
    takeovers = [r for rep in reports if rep.scenario.startswith("worker kill")
                 for r in rep.recoveries]  # fmt: skip
    if takeovers:
        console.print(
            f"takeover after a worker's kill -9: median {statistics.median(takeovers):.1f} s, "
            f"max {max(takeovers):.1f} s over {len(takeovers)} kills (target 10 s)"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "when": time.strftime("%Y-%m-%d %H:%M:%S"), "ci_sizes": args.ci, "note": args.note,
        "machine": {"cpus": os.cpu_count(), "load": os.getloadavg()},
        "reports": [{**dataclasses.asdict(r), "run_s": timings[r.scenario]} for r in reports],
        "takeover": takeovers,
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
