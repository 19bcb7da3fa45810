"""Throughput of the order-book store: comments applied per second, one FCALL per batch.

    CHOTDON_REDIS=redis://127.0.0.1:6379/0 .venv/bin/python benchmarks/store_bench.py \
        [--batches 40] [--batch-size 500] [--runs 5] [--stock 1000]

Each run registers a fresh livestream (shop `bench`), applies the batches one after another
through DraftStore.apply_comments (encoding included) and deletes its keys afterwards; the
median of the runs is printed. The mix is a busy selling live: ~60% orders (some for unknown
codes, some needing a variant), ~6% cancels, the rest chatter, ~5% with a phone number, 3,000
viewers, a catalogue of 30 products of which 10 have limited stock (--stock units each).

The stock decides the regime. With --stock 1000 (default) nothing sells out in 20,000 comments.
With --stock 150 the limited products sell out early and their waitlists grow to hundreds:
then every released unit moves every waiting line of that product, and each such draft changes
(its `waitlist`) and is re-rendered and returned, so one batch emits thousands of drafts.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import time
import uuid

import redis.asyncio

from config.shop import Product
from orders.events import CommentEvent
from orders.store import DraftStore, livestream_prefix, registry_key
from parsers.models import ParsedItem

SHOP = "bench"


def catalogue(limited_stock: int = 1000) -> list[Product]:
    products = []
    for i in range(30):
        attributes = {"size": ("S", "M", "L")} if i % 3 == 0 else {}
        stock = limited_stock if i < 10 else None
        products.append(Product(code=f"A{i + 1}", name=f"Sản phẩm {i + 1}", price=100_000 + i,
                                stock=stock, attributes=attributes))  # fmt: skip
    return products


def synthetic(count: int, products: list[Product], rng: random.Random) -> list[CommentEvent]:
    events = []
    for offset in range(count):
        user = f"viewer{rng.randrange(3000)}"
        roll = rng.random()
        items: tuple[ParsedItem, ...] = ()
        if roll < 0.60:
            intent = "order"
            picks = []
            for _ in range(1 if rng.random() < 0.8 else 2):
                if rng.random() < 0.05:
                    picks.append(ParsedItem(f"Z{rng.randrange(50)}", 1, {}, "unknown_code"))
                    continue
                product = rng.choice(products)
                attrs = {"size": rng.choice(("S", "M", "L"))} if product.attributes else {}
                status = "matched" if attrs or not product.attributes else "needs_variant"
                picks.append(ParsedItem(product.code, rng.randint(1, 3), attrs, status))  # type: ignore[arg-type]
            items = tuple(picks)
        elif roll < 0.66:
            intent = "cancel"
            if rng.random() < 0.5:
                items = (ParsedItem(rng.choice(products).code),)
        else:
            intent = "none"
        phone = f"09{rng.randrange(10**8):08d}" if rng.random() < 0.05 else None
        events.append(CommentEvent(
            comment_id=f"c{offset}", offset=offset, platform="facebook", user_id=user,
            user_name=f"Khách {user}", created_at=f"2026-05-01T20:00:00.{offset:06d}+07:00",
            intent=intent, phone=phone, items=items,  # type: ignore[arg-type]
        ))  # fmt: skip
    return events


async def one_run(store: DraftStore, client: redis.asyncio.Redis, batches: list[list[CommentEvent]],
                  products: list[Product]) -> float:  # fmt: skip
    live = f"bench-{uuid.uuid4().hex[:10]}"
    await store.register_livestream(SHOP, live, products, "ignore", shop_config_json=b"{}")
    started = time.perf_counter()
    for batch in batches:
        await store.apply_comments(SHOP, live, batch)
    elapsed = time.perf_counter() - started
    keys = [k async for k in client.scan_iter(match=f"{livestream_prefix(SHOP, live)}:*")]
    await client.delete(*keys, registry_key(live))
    return sum(len(b) for b in batches) / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stock", type=int, default=1000, help="units of each limited product")
    args = parser.parse_args()
    url = os.environ.get("CHOTDON_REDIS", "redis://127.0.0.1:6379/0")
    client = redis.asyncio.Redis.from_url(url)
    store = DraftStore(client)
    await store.load_functions()
    products = catalogue(args.stock)
    events = synthetic(args.batches * args.batch_size, products, random.Random(7))
    batches = [events[i : i + args.batch_size] for i in range(0, len(events), args.batch_size)]
    # The synthetic events stay alive for all runs; a worker holds one batch. Without this the
    # cyclic GC rescans them all while each batch's drafts are decoded, and we time the harness.
    gc.freeze()
    rates = [await one_run(store, client, batches, products) for _ in range(args.runs)]
    await client.aclose()
    print(
        f"{len(events)} comments in batches of {args.batch_size}, stock {args.stock}, "
        f"{args.runs} runs against {url}"
    )
    print("runs: " + ", ".join(f"{r:,.0f}" for r in rates) + " comments/s")
    print(f"median: {statistics.median(rates):,.0f} comments/s")


if __name__ == "__main__":
    asyncio.run(main())
