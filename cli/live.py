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


async def _start(settings: Settings, args: argparse.Namespace) -> str:
    from stream.livestreams import start_livestream

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
    from stream.livestreams import stop_livestream

    await stop_livestream(settings, livestream_id)
    return f"livestream {livestream_id} stopped: new comments are recorded, orders no longer change"


def run_start(args: argparse.Namespace) -> int:
    print(asyncio.run(_start(load_settings(), args)))
    return 0


def run_stop(args: argparse.Namespace) -> int:
    print(asyncio.run(_stop(load_settings(), args.livestream)))
    return 0
