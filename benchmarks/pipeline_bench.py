"""The live pipeline, end to end: Kafka in, draft orders in Redis, against baselines.

    .venv/bin/python benchmarks/pipeline_bench.py              # variants x 3 runs, latency, flood
    .venv/bin/python benchmarks/pipeline_bench.py --tune       # + the tuning matrix of (c)
    .venv/bin/python benchmarks/pipeline_bench.py --profile    # + a cProfile of chotdon's worker

One run of the script starts its own Kafka broker and Redis server (stack/, in `--stack-dir`,
default `.stack/bench`, ports --kafka-port/+1 and --redis-port: never the development stack),
produces N sample comments (cli.samples, several livestreams, keyed by livestream, 4
partitions) once, and then runs, each in its own worker process(es) with a fresh consumer
group from offset 0 over the same records, interleaved (a, A, b, f, c, C, k, a, A, ...):

  (a) bare    chotdon's faust app (stream.app.create_app, its settings and Tuning) with a
              faust agent on the comments topic that only decodes each record
              (Comment.from_json), in batches (stream.batching.take_batches);
  (A) bare    the same with consumer_max_fetch_size 16 MiB (faust's default is 1 MiB);
  (b) naive   the same app with a per-record agent (`async for value in stream`, faust's own
              acks) that parses each comment and applies it with awaited Redis round trips
              (SISMEMBER + SADD dedupe, HGET customer, INCR + HSET when new, HINCRBY per item,
              HSET phone: ~3-6 commands per comment), capped (--naive-limit, --naive-seconds);
  (f) faust   chotdon's CommentPipeline as a faust agent on take_batches (the comment agent
              before the intake), 16 MiB fetch size: the option "faust's take()";
  (c) chotdon chotdon's worker as shipped: the comment intake (stream/intake.py), with the
              command agent and the automation intake (stream/automation_intake.py) beside
              it (automation reads every draft event);
  (o) chotdon the same worker with --agents comments (a flood deployment's comment workers);
  (C) two     two chotdon workers in one group on the 4 partitions: the combined rate, and
              the drafts compared with (c)'s;
  (k) a plain aiokafka consumer decoding the records (no faust, no Redis): the floor.

comments/s is measured from the first record processed to the last: (a), (A), (b) and (k)
record it in the agent, (c), (C) and (f) are done when the store's offset watermarks of every
livestream reach the last offsets produced (store.progress, polled), with the CPU time per
comment of the worker(s), Redis and Kafka alongside. The median of --runs runs is reported.
Then the latency of (c) at a steady --latency-rate comments/s (created_at = send time), exactly
from the draft-events topic (emitted_at - created_at of each comment the events name) and
coarsely from the worker's histogram; then the flood (pipebench/flood.py): a steady
--flood-rate with a --flood-factor burst in the middle, its lag, catch-up and latency, and the
drafts against the pure order book's. The targets of issue 9 are printed as a table; PNG plots
are written next to the JSON (pipebench/plots.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pipebench.config import (
    RESULTS,
    VARIANTS,
    Knobs,
    WorkerSpec,
    bench_settings,
    latency_matrix,
    tuning_matrix,
)
from pipebench.flood import flood_run
from pipebench.latency import latency_run
from pipebench.plots import write_plots
from pipebench.report import machine_info, ms, report, targets_of
from pipebench.runs import make_comments, prepare_dataset, throughput_run
from pipebench.workers import worker_main

from config.settings import Topics


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
    add("--variants", default="aAbfcoCk", help="which of a A b f c o C k to run (default all)")
    add("--naive-limit", type=int, default=20_000, help="(b) stops after this many comments")
    add("--naive-seconds", type=float, default=30.0, help="(b) stops after this long")
    add("--latency-rate", type=float, default=1000.0, help="comments/s of the latency run")
    add("--latency-seconds", type=float, default=20.0, help="length of the latency run")
    add("--latency-warmup", type=int, default=500, help="comments sent before measuring")
    add("--no-latency", action="store_true", help="skip the latency run")
    add("--no-flood", action="store_true", help="skip the flood run")
    add("--flood-rate", type=float, default=1000.0, help="the flood's steady comments/s")
    add("--flood-factor", type=float, default=20.0, help="the burst is this times the rate")
    add("--flood-before", type=float, default=20.0, help="seconds steady before the burst")
    add("--flood-burst", type=float, default=10.0, help="seconds of burst")
    add("--flood-after", type=float, default=30.0, help="seconds steady after the burst")
    add("--no-plots", action="store_true", help="write no PNG plots")
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
    if args.profile:
        path = profile_path(args)
        outcome = await throughput_run(
            args, settings, data, "o", Knobs("profiled"), profile=str(path.resolve())
        )
        results["profile"] = {"file": str(path), "rate_under_profiler": outcome.rate}
        console.print(f"profiled run of (o): {outcome.rate:,.0f} comments/s; stats in {path}")
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
                f"latency {knobs.label}: p50 {ms(row['exact_p50'])} ms, "
                f"p99 {ms(row['exact_p99'])} ms"
            )
    if not args.no_flood:
        results["flood"] = await flood_run(args, settings, comments, livestreams)
        save_partial(args, results)
        flood = results["flood"]
        console.print(
            f"flood: peak lag {flood['peak_lag']:,}, caught up {flood['catch_up_seconds']} s "
            f"after the burst, exactly once: {flood['exactly_once']}"
        )
    results["targets"] = targets_of(results)
    return results


def profile_path(args: argparse.Namespace) -> Path:
    """Where the profile of (c) goes: the stack dir, git-ignored like the rest of the stack."""
    path = Path(args.stack_dir).resolve() / "pipeline-o.prof"
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
    machine = machine_info()
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
    if not args.no_plots:
        for path in write_plots(results, args.out):
            console.print(f"plot: {path}")
    report(args, results, console, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
