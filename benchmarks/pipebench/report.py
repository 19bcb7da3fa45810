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

from pipebench.config import (
    REPO_ROOT,
    TARGET_CATCH_UP,
    TARGET_P99,
    TARGET_RATE,
    TARGET_REDIS_US,
    TARGET_VS_BARE,
    TARGET_VS_BARE_16M,
    TARGET_VS_NAIVE,
    TARGET_WORKER_US,
    VARIANTS,
)


def _median_cpu(results: dict[str, Any], variant: str, name: str) -> float | None:
    runs = results["runs"].get(variant) or []
    values = [r["extra"]["cpu_us"][name] for r in runs if "cpu_us" in r.get("extra", {})]
    return statistics.median(values) if values else None


def targets_of(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Issue 9's targets against this run's medians: value, what is wanted, met."""
    medians: dict[str, float] = results.get("medians", {})
    out: dict[str, dict[str, Any]] = {}

    def at_least(name: str, value: float | None, want: float, unit: str = "") -> None:
        if value is not None:
            out[name] = {"value": value, "want": f">= {want:g}{unit}", "met": value >= want}

    def at_most(name: str, value: float | None, want: float, unit: str = "") -> None:
        if value is not None:
            out[name] = {"value": value, "want": f"<= {want:g}{unit}", "met": value <= want}

    c = medians.get("c")
    if c is not None:
        for other, name, want in (("a", "(c)/(a)", TARGET_VS_BARE),
                                  ("A", "(c)/(A)", TARGET_VS_BARE_16M),
                                  ("b", "(c)/(b)", TARGET_VS_NAIVE)):  # fmt: skip
            if medians.get(other):
                at_least(name, c / medians[other], want)
        at_least("(c) comments/s per worker", c, TARGET_RATE)
        at_most("(c) Redis CPU µs/comment", _median_cpu(results, "c", "redis"), TARGET_REDIS_US)
        at_most("(c) worker CPU µs/comment", _median_cpu(results, "c", "worker"), TARGET_WORKER_US)
    if results.get("latency"):
        p99 = results["latency"][0]["exact_p99"]
        at_most("p99 comment -> draft event at 1,000/s (ms)",
                None if p99 is None else p99 * 1000, TARGET_P99 * 1000)  # fmt: skip
    flood = results.get("flood")
    if flood:
        seconds = flood["catch_up_seconds"]
        at_most("20x burst caught up (s)", float("inf") if seconds is None else seconds,
                TARGET_CATCH_UP)  # fmt: skip
        once = bool(flood["exactly_once"])
        out["flood: every comment applied once (drafts == pure book's)"] = {
            "value": once, "want": "True", "met": once}  # fmt: skip
    one = {r["extra"].get("drafts_digest") for r in results["runs"].get("c") or []}
    two = {r["extra"].get("drafts_digest") for r in results["runs"].get("C") or []}
    if one and two:
        out["(C) two workers' drafts == one worker's"] = {
            "value": one == two and len(one) == 1, "want": "True",
            "met": one == two and len(one) == 1}  # fmt: skip
    return out


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
    targets = Table(title="Issue 9's targets, this run (medians)")
    for column in ("target", "value", "want", ""):
        targets.add_column(column, justify="left" if column == "target" else "right")
    for name, target in results["targets"].items():
        value = target["value"]
        shown = f"{value:,.2f}" if isinstance(value, float) else str(value)
        mark = "[green]met[/green]" if target["met"] else "[red]NOT met[/red]"
        targets.add_row(name, shown, target["want"], mark)
    console.print(targets)
    flood = results.get("flood")
    if flood:
        table = Table(title="Flood: steady, 20x burst, steady (latency ms by when sent)")
        for column in ("phase", "sent /s", "comments", "p50", "p99", "max"):
            table.add_column(column, justify="left" if column == "phase" else "right")
        for phase in flood["latency"]:
            row = flood["latency"][phase]
            table.add_row(phase, f"{flood['sent_rate'][phase]:,.0f}",
                          f"{flood['sent'][phase]:,.0f}", ms(row["p50"]), ms(row["p99"]),
                          ms(row["max"]))  # fmt: skip
        console.print(table)
        console.print(
            f"flood: peak lag {flood['peak_lag']:,} records; caught up "
            f"{flood['catch_up_seconds']} s after the burst; drafts equal the pure book's in "
            f"{flood['livestreams_equal']} livestreams (exactly once: {flood['exactly_once']})"
        )
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
