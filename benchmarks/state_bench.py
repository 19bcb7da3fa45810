"""How much Redis memory a livestream's state takes: per livestream, and per 1,000 comments.

    .venv/bin/python benchmarks/state_bench.py                 # 20,000 comments, 3,000 viewers
    .venv/bin/python benchmarks/state_bench.py --comments 100000 --customers 10000

On a redis-server of its own (free port, a temporary folder), it registers one livestream of
the sample shop, parses the sample generator's comments (cli/samples.py) with the shop's
grammar and applies them with the store, 500 a call, as the worker does, and every
`--step` comments sums `MEMORY USAGE` over the livestream's keys (every key under its hash tag
and its registry entry), per kind of key. Then it stops the livestream (`chotdon live stop`'s
call) and checks that every key got the retention deadline. Results: a table on the terminal
and benchmarks/results/state.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fault_support import OwnRedis  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from cli.samples import generate  # noqa: E402
from config.loader import load_shop  # noqa: E402
from orders.connection import redis_client  # noqa: E402
from orders.store import DraftStore, livestream_prefix, registry_key  # noqa: E402
from stream.pipeline import comment_event  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "state.json"
SHOP_FILE = ROOT / "config" / "shops" / "demo.toml"
console = Console(width=140)


def kind_of(key: str, prefix: str) -> str:
    """`P:q:A12` -> `q:*`, `P:recent:3` -> `recent:*`, `P:view` -> `view`."""
    if not key.startswith(prefix):
        return "registry"
    rest = key[len(prefix) + 1 :]
    head, colon, _ = rest.partition(":")
    return f"{head}:*" if colon else head


async def measure(url: str, comments: int, customers: int, step: int) -> dict[str, object]:
    from parsers import compile_grammar

    shop = load_shop(SHOP_FILE)
    live = "state-bench"
    prefix = livestream_prefix(shop.shop.id, live)
    grammar = compile_grammar(shop)
    stream = generate(comments, customers, livestream_id=live, seed=14, shop=shop)
    client = redis_client(url)
    store = DraftStore(client)
    await store.load_functions()
    await store.register_shop(shop, live)
    rows = []

    async def usage() -> dict[str, int]:
        keys = [k.decode() async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
        keys.append(registry_key(live))
        by_kind: dict[str, int] = defaultdict(int)
        for key in keys:
            by_kind[kind_of(key, prefix)] += int(await client.memory_usage(key, samples=0) or 0)
        return dict(by_kind)

    started = time.perf_counter()
    for start in range(0, len(stream), 500):
        chunk = stream[start : start + 500]
        events = [
            comment_event(c, grammar.parse(c.text, c.id), start + i, 0) for i, c in enumerate(chunk)
        ]
        await store.apply_batch(shop.shop.id, live, events)
        done = start + len(chunk)
        if done % step == 0 or done == len(stream):
            kinds = await usage()
            drafts = (await store.progress(shop.shop.id, live))[1]
            rows.append({"comments": done, "drafts": drafts, "bytes": sum(kinds.values()),
                         "by_kind": kinds})  # fmt: skip
    applied_s = time.perf_counter() - started
    assert await store.stop_livestream(live)
    keys = [k.decode() async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
    deadlines = {int(await client.expiretime(k)) for k in [*keys, registry_key(live)]}
    await client.aclose()
    return {"rows": rows, "apply_seconds": applied_s, "deadlines_after_stop": sorted(deadlines)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=3_000)
    parser.add_argument("--step", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="state-bench-") as folder:
        redis = OwnRedis(Path(folder) / "redis")
        redis.start()
        try:
            result = asyncio.run(measure(redis.url, args.comments, args.customers, args.step))
        finally:
            redis.stop()
    rows = result["rows"]
    assert isinstance(rows, list)
    last = rows[-1]["by_kind"]
    kinds = sorted(k for k, n in last.items() if n >= 0.02 * rows[-1]["bytes"])  # the big ones
    for row in rows:
        row["by_kind"]["other"] = sum(n for k, n in row["by_kind"].items() if k not in kinds)
    kinds.append("other")
    table = Table(title=f"a livestream's state in Redis ({args.customers:,} viewers)")
    for column in ("comments", "drafts", "total", "per 1,000 comments", *kinds):
        table.add_column(column, justify="right")
    for row in rows:
        per_k = row["bytes"] / row["comments"] * 1000
        table.add_row(f"{row['comments']:,}", f"{row['drafts']:,}", _size(row["bytes"]),
                      _size(per_k), *(_size(row["by_kind"].get(k, 0)) for k in kinds))  # fmt: skip
    console.print(table)
    deadlines = result["deadlines_after_stop"]
    console.print(
        f"after the stop, the keys' expiry times: {deadlines} (one deadline: all go at once)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"args": vars(args), **result}, indent=1))
    return 0 if len(deadlines) == 1 and deadlines[0] > 0 else 1


def _size(n: float) -> str:
    return f"{n / 2**20:.2f} MB" if n >= 2**20 else f"{n / 1024:.1f} KB"


if __name__ == "__main__":
    raise SystemExit(main())
