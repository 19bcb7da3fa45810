"""A worker serves its Prometheus metrics: what came in, how it was read, what went wrong."""

from __future__ import annotations

import socket
import urllib.request
from datetime import UTC, datetime, timedelta

from live_processes import unique
from live_support import (
    DEMO_SHOP,
    WorkerFactory,
    comment,
    produce,
    register,
    shop_with,
    wait_for,
)

from config.settings import Settings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


async def test_the_worker_counts_comments_outcomes_and_dead_letters(
    live: Settings, workers: WorkerFactory
) -> None:
    livestream = unique("e2e-metrics")
    await register(live, shop_with(DEMO_SHOP), livestream)
    port = _free_port()
    workers(args=["--metrics-port", str(port)])
    start = datetime.now(UTC)
    good = [
        comment("m1", "u1", "chốt A12 M đỏ", start, livestream_id=livestream),
        comment("m2", "u2", "Z99 2", start + timedelta(seconds=1), livestream_id=livestream),
        comment("m3", "u1", "đẹp quá", start + timedelta(seconds=2), livestream_id=livestream),
        comment("m4", "u1", "hủy A12", start + timedelta(seconds=3), livestream_id=livestream),
    ]
    await produce(live, [*good, (livestream.encode(), b"{not json")])

    async def counted() -> bool:
        # the latency of the 4 comments is observed last, once their batch is applied
        try:
            return _scrape(port).get("chotdon_end_to_end_seconds_count", 0) >= 4
        except OSError:
            return False

    await wait_for(counted, "the worker's metrics to count the 4 comments applied")
    assert _scrape(port)["chotdon_comments_in_total"] == 5
    metrics = _scrape(port)
    assert metrics['chotdon_comments_parsed_total{intent="order"}'] == 2
    assert metrics['chotdon_comments_parsed_total{intent="none"}'] == 1
    assert metrics['chotdon_comments_parsed_total{intent="cancel"}'] == 1
    assert metrics['chotdon_items_parsed_total{status="unknown_code"}'] == 1
    assert metrics['chotdon_dead_letters_total{reason="invalid_json"}'] == 1
    assert metrics["chotdon_drafts_created_total"] == 2
    assert metrics["chotdon_end_to_end_seconds_count"] == 4
    assert metrics["chotdon_redis_call_seconds_count"] >= 1
    assert any(name.startswith("chotdon_consumer_lag{") for name in metrics)
