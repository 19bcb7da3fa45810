"""`chotdon drafts --livestream ID`: a livestream's draft orders, by sequence number."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import orjson

from config.settings import load_settings


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "drafts", help="show a livestream's draft orders", description=__doc__
    )
    parser.add_argument("--livestream", required=True, metavar="ID")
    parser.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    parser.add_argument("--staff", help="only drafts assigned to this staff member")
    parser.add_argument("--seq", type=int, help="only the draft with this sequence number")
    parser.add_argument("--status", choices=["open", "cancelled", "finalised"],
                        help="only drafts in this status")  # fmt: skip
    parser.set_defaults(handler=run)


async def load_drafts(redis_url: str, livestream_id: str) -> list[dict[str, Any]]:
    from cli.main import UserError
    from orders.store import DraftStore

    async with DraftStore.connect(redis_url) as store:
        info = await store.livestream_info(livestream_id)
        if info is None:
            raise UserError(f"livestream {livestream_id!r} was never started")
        return await store.drafts(info.shop_id, livestream_id)


def select(
    drafts: list[dict[str, Any]], staff: str | None, seq: int | None, status: str | None = None
) -> list[dict[str, Any]]:
    """The seeds' filters, as the dashboard applies them."""
    from web.views import select_drafts

    return select_drafts(drafts, staff=staff, seq=seq, status=status)


def money(amount: int | None) -> str:
    """Vietnamese đồng as shops write it: 159.000đ."""
    from orders.automation.messages import vnd

    return "" if amount is None else vnd(amount)


def _line_text(line: dict[str, Any]) -> str:
    attributes = " ".join(str(v) for v in line["attributes"].values())
    label = line["code"] or line["name"]  # an ad-hoc line has a name and no code
    text = f"{label} {attributes}".strip() + f" ×{line['qty']}"
    if line["status"] == "unknown_code":
        return f"[yellow]{text} (mã không có)[/]"
    if line["status"] == "needs_variant":
        text = f"[cyan]{text} (thiếu phân loại)[/]"
    if line["waitlist"] is not None:
        text += f" [magenta]chờ #{line['waitlist']} (giữ {line['reserved']})[/]"
    return text


def print_table(livestream_id: str, drafts: list[dict[str, Any]], total: int | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    shown = len(drafts) if total is None or total == len(drafts) else f"{len(drafts)} of {total}"
    table = Table(title=f"Livestream {livestream_id}: {shown} draft orders")
    for column, justify in (
        ("STT", "right"),
        ("customer", "left"),
        ("phone", "left"),
        ("lines", "left"),
        ("total", "right"),
        ("status", "left"),
        ("staff", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for draft in drafts:
        customer = draft["customer"]
        status = {"cancelled": "[red]cancelled[/]", "open": "open"}.get(
            draft["status"], f"[green]{draft['status']}[/] {draft.get('order_id') or ''}".strip()
        )
        table.add_row(
            str(draft["seq"]),
            customer.get("name") or customer["user_id"],
            customer.get("phone") or "",
            "\n".join(_line_text(line) for line in draft["lines"]),
            money(draft["total"]),
            status,
            draft.get("staff") or "",
        )
    Console().print(table)


def run(args: argparse.Namespace) -> int:
    drafts = select(
        asyncio.run(load_drafts(load_settings().redis, args.livestream)),
        args.staff,
        args.seq,
        args.status,
    )
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(drafts, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        print_table(args.livestream, drafts)
    return 0
