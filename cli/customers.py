"""`chotdon customers`: a shop's customers, with their orders and returns (bom hàng);
`chotdon customers blacklist`: flag a customer, whose comments are then marked, never dropped."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import orjson

from cli.order import _action, _handler, _validated
from cli.orders import add_shop_argument, shop_id_of
from config.settings import load_settings


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("customers", help="list a shop's customers", description=__doc__)
    add_shop_argument(parser)
    parser.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    parser.set_defaults(handler=run)
    actions = parser.add_subparsers(dest="customers_command", metavar="ACTION")
    flag = _action(actions, "blacklist", "flag (or with --remove, unflag) a customer")
    flag.add_argument("--shop-id", required=True, metavar="SHOP")
    flag.add_argument("--phone")
    flag.add_argument("--platform")
    flag.add_argument("--user", metavar="USER_ID")
    flag.add_argument("--reason")
    flag.add_argument("--remove", action="store_true", help="take the customer off the list")
    _handler(flag, _blacklist)


def _blacklist(args: argparse.Namespace, common: dict[str, Any]) -> Any:
    from orders.commands import Blacklist

    return _validated(
        Blacklist,
        {
            **common,
            "shop_id": args.shop_id,
            "phone": args.phone,
            "platform": args.platform,
            "user_id": args.user,
            "reason": args.reason,
            "blacklisted": not args.remove,
        },
    )


async def _load(shop: str | None) -> list[dict[str, Any]]:
    from orders.shop.store import ShopStore

    async with ShopStore.connect(load_settings().redis) as store:
        customers: list[dict[str, Any]] = await store.customers(await shop_id_of(store, shop))
        return customers


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    customers = asyncio.run(_load(args.shop_id))
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(customers, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    table = Table(title=f"{len(customers)} customers")
    for column in ("id", "name", "phones", "platform ids", "orders", "returned", "flag"):
        table.add_column(column)
    for c in customers:
        returned = f"[red]{c['returned']}[/]" if c["returned"] else "0"
        flag = "[red]blacklisted[/]" if c["blacklisted"] else ""
        table.add_row(
            c["customer_id"],
            c.get("name") or "",
            ", ".join(c["phones"]),
            ", ".join(c["platform_ids"]),
            str(len(c["orders"])),
            returned,
            flag,
        )
    Console().print(table)
    return 0
