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
TARGET_VS_BARE = 1.5  # (c) >= 1.5 x (a), the bare faust agent with chotdon's settings
TARGET_VS_BARE_16M = 0.8  # (c) >= 0.8 x (A), the bare faust agent with a 16 MiB fetch size
TARGET_RATE = 10_000.0  # comments/s per worker, Kafka and Redis on the same machine
TARGET_REDIS_US = 40.0  # Redis CPU per comment, waitlists included
TARGET_WORKER_US = 60.0  # worker CPU per comment
TARGET_P99 = 0.050  # seconds, comment -> draft event at a steady 1,000/s
TARGET_CATCH_UP = 30.0  # seconds after the end of a 20x burst

RESULT_KEY = "bench:result:"  # + run id: hash first, last, count (written by the workers)

VARIANTS = {
    "a": "bare faust agent (decode only), chotdon's settings",
    "A": "bare faust agent (decode only), 16 MiB fetch size",
    "b": "naive (awaited Redis per comment)",
    "f": "chotdon's pipeline as a faust agent (take batches), 16 MiB fetch",
    "c": "chotdon worker (the intake), its three agents",
    "o": "chotdon worker --agents comments (the comment path alone)",
    "C": "two chotdon workers, one group, 4 partitions (combined)",
    "k": "reference: aiokafka consumer, no faust (decode only)",
}
FAUST_COMMENT_VARIANTS = ("a", "A", "b", "f")  # a faust agent on the comments topic
WATERMARK_VARIANTS = ("c", "o", "C", "f")  # done when the store's watermarks reach the end


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
    info_cache: float = 0.0  # seconds DraftStore.livestream_info answers are reused (0: never)
    # the worker's agents (stream.app.AGENTS: comments, commands, automation; all by default)
    agents: tuple[str, ...] = ("comments", "commands", "automation")
    note: str = ""


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    variant: str  # a key of VARIANTS
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
    """(c) with each knob that still reaches it moved away from chotdon's defaults, one at a
    time (faust's stream knobs no longer do: the intake is not a faust stream), then the
    stock regime; `default` runs first and last, so that drift of a shared machine shows."""
    c = [
        Knobs("default", note="stream.app.Tuning() as shipped, worker --loglevel info"),
        Knobs("comment agent only", agents=("comments",),
              note="worker --agents comments: no command or automation agent beside it"),
        Knobs("batch_size=250", {"batch_size": 250}),
        Knobs("batch_size=2000", {"batch_size": 2000}),
        Knobs("batch_size=5000", {"batch_size": 5000}),
        Knobs("batch_within=0.05", {"batch_within": 0.05}),
        Knobs("producer_linger=0.005", conf={"producer_linger": 0.005}),
        Knobs("chotdon metrics off", product_metrics=False, note="stream/metrics.py no-ops"),
        Knobs("livestream_info cached 1 s", info_cache=1.0, note="proposed product change"),
        Knobs("stock x1000", stock_scale=1000, note="data regime: no waitlists"),
        Knobs("default (again)", note="drift check"),
    ]  # fmt: skip
    return [("c", knobs) for knobs in c]


def latency_matrix() -> list[tuple[str, Knobs]]:
    return [
        ("c", Knobs("batch_within=0.001", {"batch_within": 0.001})),
        ("c", Knobs("batch_within=0.05", {"batch_within": 0.05})),
        ("c", Knobs("producer_linger=0.005", conf={"producer_linger": 0.005})),
        ("c", Knobs("stock x1000", stock_scale=1000, note="data regime: no waitlists")),
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
