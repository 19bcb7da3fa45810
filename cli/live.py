"""`chotdon live start|stop`: bind a livestream to a shop configuration, or stop its orders.

The binding lives in Redis, so every worker sees it. Starting a livestream that is already
started updates its products (prices, stock, new codes) for the comments that follow,
without restarting workers.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from config.loader import load_product_group, load_shop
from config.settings import Settings, load_settings
from config.shop import ShopConfig


def add_parser(subparsers: Any) -> None:
    live = subparsers.add_parser(
        "live", help="start or stop taking orders from a livestream", description=__doc__
    )
    actions = live.add_subparsers(dest="live_command", metavar="ACTION", required=True)
    start = actions.add_parser("start", help="bind a livestream to a shop (and product group)")
    start.add_argument("--shop", required=True, type=Path, metavar="SHOP.toml")
    start.add_argument("--livestream", required=True, metavar="ID")
    start.add_argument(
        "--products",
        type=Path,
        metavar="GROUP.toml",
        help="the livestream's own product group, in place of the shop's",
    )
    start.set_defaults(handler=run_start)
    stop = actions.add_parser("stop", help="stop taking new orders (comments are still recorded)")
    stop.add_argument("--livestream", required=True, metavar="ID")
    stop.set_defaults(handler=run_stop)


async def start_livestream(settings: Settings, shop: ShopConfig, livestream_id: str) -> None:
    """Bind (or re-bind, mid-live) a livestream to a shop; publish drafts a stock raise served."""
    from cli.main import UserError
    from orders.shop.store import ShopStore
    from orders.store import DraftStore

    # The shop's own keys first: a workflow that would strand orders is refused before the
    # livestream changes.
    async with ShopStore.connect(settings.redis) as shops:
        problems = await shops.apply_config(shop)
    if problems:
        raise UserError(f"shop {shop.shop.id}: " + "; ".join(problems))
    async with DraftStore.connect(settings.redis) as store:
        await store.load_functions()
        promoted = await store.register_shop(shop, livestream_id)
    if promoted:  # more stock served waiting customers: their drafts changed
        await publish_drafts(settings, shop.shop.id, livestream_id, promoted)


async def _start(settings: Settings, args: argparse.Namespace) -> str:
    shop = load_shop(args.shop)
    if args.products is not None:
        shop = shop.with_products(load_product_group(args.products))
    await start_livestream(settings, shop, args.livestream)
    limited = sum(1 for p in shop.products if p.stock is not None)
    return (
        f"livestream {args.livestream} started for shop {shop.shop.id}: "
        f"{len(shop.products)} products ({limited} with limited stock)"
    )


async def _stop(settings: Settings, livestream_id: str) -> str:
    from cli.main import UserError
    from orders.store import DraftStore

    async with DraftStore.connect(settings.redis) as store:
        if not await store.stop_livestream(livestream_id):
            raise UserError(f"livestream {livestream_id!r} was never started")
    return f"livestream {livestream_id} stopped: new comments are recorded, orders no longer change"


async def publish_drafts(
    settings: Settings, shop_id: str, livestream_id: str, drafts: list[dict[str, Any]]
) -> None:
    """Draft events for drafts changed outside the comment agent (a stock change)."""
    from datetime import UTC, datetime

    from aiokafka import AIOKafkaProducer

    from stream.messages import draft_event_json

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka, acks="all")
    await producer.start()
    try:
        now = datetime.now(UTC)
        for draft in drafts:
            value = draft_event_json(shop_id, livestream_id, draft, [], now)
            await producer.send(settings.topics.draft_events, value, key=livestream_id.encode())
        await producer.flush()
    finally:
        await producer.stop()


def run_start(args: argparse.Namespace) -> int:
    print(asyncio.run(_start(load_settings(), args)))
    return 0


def run_stop(args: argparse.Namespace) -> int:
    print(asyncio.run(_stop(load_settings(), args.livestream)))
    return 0
