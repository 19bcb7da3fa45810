"""The tables printed at the end and the ratios against the targets."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pipebench.config import REPO_ROOT, VARIANTS


def machine_info() -> dict[str, Any]:
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


def ms(value: float | None) -> str:
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
                ms(row["exact_p50"]),
                ms(row["exact_p99"]),
                ms(row["exact_max"]),
                f"{row['histogram_samples']:,.0f}",
                ms(row["histogram_p50"]),
                ms(row["histogram_p99"]),
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
