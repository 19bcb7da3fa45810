"""PNG pictures of a run, next to its JSON: throughput over time per variant, the latency
CDF, and the lag during the flood's burst (matplotlib, no display needed)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from pipebench.config import VARIANTS


def write_plots(results: dict[str, Any], out: Path) -> list[Path]:
    """The pictures this run has data for, as `<out stem>-<name>.png`; their paths."""
    import matplotlib

    matplotlib.use("Agg")
    written = []
    for name, draw in (("throughput", _throughput), ("latency", _latency), ("flood", _flood)):
        path = out.with_name(f"{out.stem}-{name}.png")
        if draw(results, path):
            written.append(path)
    return written


def _figure() -> Any:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4), dpi=90)
    ax.grid(True, alpha=0.3)
    return plt, fig, ax


def _throughput(results: dict[str, Any], path: Path) -> bool:
    """Records applied per second (from the store's watermarks, 0.5 s windows), the median
    run of each variant that is timed by its watermarks."""
    plt, fig, ax = _figure()
    drawn = False
    for variant, runs in results.get("runs", {}).items():
        timed = [r for r in runs if r.get("extra", {}).get("series")]
        if not timed:
            continue
        run = sorted(timed, key=lambda r: r["rate"])[len(timed) // 2]
        series = run["extra"]["series"]
        times, rates = [], []
        for (t0, n0), (t1, n1) in itertools.pairwise(series):
            if t1 > t0:
                times.append(t1)
                rates.append((n1 - n0) / (t1 - t0))
        ax.plot(times, _smooth(rates), label=f"({variant}) {VARIANTS.get(variant, '')}")
        drawn = True
    if not drawn:
        plt.close(fig)
        return False
    _finish(plt, fig, ax, path, "seconds since the first record", "comments applied per second",
            "Throughput over time (median run of each variant)")  # fmt: skip
    return True


def _smooth(values: list[float], width: int = 2) -> list[float]:
    out = []
    for i in range(len(values)):
        window = values[max(0, i - width) : i + width + 1]
        out.append(sum(window) / len(window))
    return out


def _latency(results: dict[str, Any], path: Path) -> bool:
    plt, fig, ax = _figure()
    drawn = False
    for row in results.get("latency", []):
        samples = row.get("samples")
        if samples:
            _cdf(ax, samples, f"steady {row['rate_sent']:,.0f}/s ({row['label']})")
            drawn = True
    flood = results.get("flood")
    if flood:
        for phase, samples in flood["latency_samples"].items():
            if samples:
                _cdf(ax, samples, f"flood: {phase}")
                drawn = True
    if not drawn:
        plt.close(fig)
        return False
    ax.set_xscale("log")
    _finish(plt, fig, ax, path, "comment -> draft event (ms, log scale)", "fraction of comments",
            "Latency CDF")  # fmt: skip
    return True


def _cdf(ax: Any, samples: list[float], label: str) -> None:
    ordered = sorted(samples)
    n = len(ordered)
    ax.plot([v * 1000 for v in ordered], [(i + 1) / n for i in range(n)], label=label)


def _flood(results: dict[str, Any], path: Path) -> bool:
    flood = results.get("flood")
    if not flood or not flood.get("lag_series"):
        return False
    plt, fig, ax = _figure()
    times = [t for t, _, _ in flood["lag_series"]]
    ax.plot(times, [n for _, _, n in flood["lag_series"]], label="lag (records not yet applied)")
    marks = flood["marks"]
    ax.axvspan(marks["burst_start"], marks["burst_end"], alpha=0.15, label="20x burst")
    if flood.get("catch_up_seconds") is not None:
        caught = marks["burst_end"] + flood["catch_up_seconds"]
        ax.axvline(caught, linestyle="--", label=f"caught up (+{flood['catch_up_seconds']:.1f} s)")
    _finish(plt, fig, ax, path, "seconds since the flood started", "records",
            f"Lag during the burst (peak {flood['peak_lag']:,} records)")  # fmt: skip
    return True


def _finish(plt: Any, fig: Any, ax: Any, path: Path, x: str, y: str, title: str) -> None:
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
