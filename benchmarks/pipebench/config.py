"""What a run is made of: the variants, the knobs of a worker, the tuning and latency matrices,
the bench stack's settings."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from config.settings import Settings, Topics

REPO_ROOT = Path(__file__).resolve().parents[2]
BENCH_SCRIPT = REPO_ROOT / "benchmarks" / "pipeline_bench.py"  # also what runs each worker

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
