"""`chotdon stats`: revenue and order counts by status, livestream, staff and day.

Revenue counts only orders in statuses the shop's workflow flags as revenue; merged-away
originals are counted once, in their merged order. `--json` prints the same data.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import orjson

from cli.orders import add_shop_argument, shop_id_of
from config.settings import load_settings


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("stats", help="revenue and order counts", description=__doc__)
    add_shop_argument(parser)
    parser.add_argument("--json", action="store_true", help="JSON instead of tables")
    parser.set_defaults(handler=run)


async def _load(shop_id: str | None) -> Any:
    from config.shop import ShopConfig
    from orders.shop.stats import order_stats
    from orders.shop.store import ShopStore

    async with ShopStore.connect(load_settings().redis) as store:
        shop_id = await shop_id_of(store, shop_id)
        shop = await store.config(shop_id) or ShopConfig.model_validate(
            {"shop": {"id": shop_id, "name": shop_id}}
        )
        return order_stats(await store.orders(shop_id), shop.workflow)


def run(args: argparse.Namespace) -> int:
    stats = asyncio.run(_load(args.shop_id))
    data = stats.to_json()
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    print_tables(data)
    return 0


def print_tables(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from cli.drafts import money

    console = Console()
    for section, rows in data.items():
        if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
            continue
        table = Table(title=section.replace("_", " "))
        columns = list(rows[0])
        for column in columns:
            table.add_column(column, justify="right" if column in _NUMERIC else "left")
        for row in rows:
            table.add_row(
                *(
                    money(v) if c in _MONEY else str(v)
                    for c, v in zip(columns, (row[c] for c in columns), strict=True)
                )
            )
        console.print(table)
    totals = {k: v for k, v in data.items() if not isinstance(v, list)}
    if totals:
        console.print(
            "  ".join(f"{k}: {money(v) if k in _MONEY else v}" for k, v in totals.items())
        )


_MONEY = {"total", "revenue"}
_NUMERIC = _MONEY | {"count", "orders"}
