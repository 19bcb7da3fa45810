"""`chotdon orders`: a shop's finalised orders, filtered by status, staff or livestream."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import orjson

from config.settings import load_settings


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("orders", help="list a shop's orders", description=__doc__)
    add_shop_argument(parser)
    parser.add_argument("--status", metavar="KEY", help="only orders in this status (new, …)")
    parser.add_argument("--staff", help="only orders assigned to (or finalised by) this person")
    parser.add_argument("--livestream", metavar="ID", help="only this livestream's orders")
    parser.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    parser.set_defaults(handler=run)


def add_shop_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shop-id", metavar="SHOP", help="the shop (default: the only shop set up in Redis)"
    )


async def shop_id_of(store: Any, given: str | None) -> str:
    """The shop to read: the one given, or the only one `chotdon live start` has set up."""
    from cli.main import UserError

    if given is not None:
        return given
    shops = await store.shop_ids()
    if len(shops) == 1:
        return str(shops[0])
    if not shops:
        raise UserError("no shop is set up yet: run `chotdon live start --shop SHOP.toml …`")
    raise UserError(
        f"several shops are set up ({', '.join(sorted(shops))}): pick one with --shop-id"
    )


async def _load(args: argparse.Namespace) -> tuple[Any, list[dict[str, Any]]]:
    from orders.shop.store import ShopStore

    async with ShopStore.connect(load_settings().redis) as store:
        shop_id = await shop_id_of(store, args.shop_id)
        shop = await store.config(shop_id)
        orders = await store.orders(
            shop_id, status=args.status, staff=args.staff, livestream=args.livestream
        )
    return shop, orders


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from cli.drafts import money

    shop, orders = asyncio.run(_load(args))
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(orders, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    names = {s.key: (s.name, s.color) for s in shop.workflow.statuses} if shop else {}
    table = Table(title=f"{len(orders)} orders")
    for column in ("order", "status", "customer", "phone", "province", "lines", "total", "staff"):
        table.add_column(column, justify="right" if column == "total" else "left")
    for order in orders:
        name, color = names.get(order["status"], (order["status"], "#9e9e9e"))
        status = f"[{color}]{name}[/]" + (
            f" → {order['merged_into']}" if order.get("merged_into") else ""
        )
        customer = order["customer"]
        lines = "\n".join(
            f"{line['code'] or '-'} {line['name']} ×{line['qty']}" for line in order["lines"]
        )
        staff = order["staff"].get("assigned") or order["staff"].get("finalised_by") or ""
        table.add_row(
            order["order_id"],
            status,
            customer["name"],
            customer["phone"],
            customer.get("province") or "",
            lines,
            money(order["total"]),
            staff,
        )
    Console().print(table)
    return 0
