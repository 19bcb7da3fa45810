"""`chotdon messages`: the customer messages of a shop, newest last: what went to whose inbox,
by which channel, and for those the platform's window did not allow, why not. Once the sender
(`chotdon connect`) handled a message, its delivery too: delivered, refused by the platform
(with the platform's reason), or uncertain (it may have reached the customer: never resent)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import orjson

from cli.orders import add_shop_argument, shop_id_of
from config.settings import load_settings


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("messages", help="customer messages, sent or not",
                                   description=__doc__)  # fmt: skip
    add_shop_argument(parser)
    parser.add_argument("--last", type=int, metavar="N", help="only the last N messages")
    parser.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    parser.set_defaults(handler=run)


async def _load(args: argparse.Namespace) -> list[dict[str, Any]]:
    from connectors.outbound import deliveries
    from orders.connection import redis_client
    from orders.shop.store import ShopStore

    settings = load_settings()
    async with ShopStore.connect(settings.redis) as store:
        shop_id = await shop_id_of(store, args.shop_id)
        messages: list[dict[str, Any]] = await store.messages(shop_id, args.last)
    client = redis_client(settings.redis)
    try:
        found = await deliveries(client, shop_id, [str(m["message_id"]) for m in messages])
    finally:
        await client.aclose()
    for message in messages:
        message["delivery"] = found.get(str(message["message_id"]))
    return messages


def _delivery(message: dict[str, Any]) -> str:
    record = message.get("delivery")
    if not message["sent"]:
        return ""
    if record is None:
        return "[yellow]pending[/]"
    state = record["state"]
    if state == "delivered":
        return "[green]delivered[/]"
    if state in ("sending", "retry"):
        return f"[yellow]{state}[/]"
    return f"[red]{state}[/]: {record.get('reason')} ({record.get('reason_code')})"


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    messages = asyncio.run(_load(args))
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(messages, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    table = Table(title=f"{len(messages)} customer messages")
    for column in ("at", "to", "about", "template", "sent", "delivery", "text / why not"):
        table.add_column(column)
    for m in messages:
        about = m.get("order_id") or f"{m.get('livestream_id')} #{m.get('seq')}"
        if m["sent"]:
            sent, text = f"[green]{m['channel']}[/]", m["text"]
        else:
            sent, text = "[red]no[/]", f"{m['reason']} ({m['reason_code']})"
        table.add_row(m["at"], f"{m['platform']}:{m['user_id']}", about, m["template"], sent,
                      _delivery(m), text)  # fmt: skip
    Console().print(table)
    return 0
