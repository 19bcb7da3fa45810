"""`chotdon chat …`: a salesperson's order inside a conversation (seeds 000 and 002).

`start` opens the conversation's order with the customer's name and phone from the chat; with
`--upsell` the outcome lists the customer's previous orders (found by phone). Lines come from the
catalogue (`add-line`) or are ad-hoc (`add-custom`); `finalise --action create` makes order
`<conversation>-<n>`. An unfinished chat order lives in Redis, so it survives any crash:
`resume --staff S` lists yours; continue it with the same commands, or `discard` it.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from cli.order import _action, _handler, _validated, add_draft_actions
from config.settings import load_settings


def add_parser(subparsers: Any) -> None:
    chat = subparsers.add_parser(
        "chat",
        help="orders made inside a conversation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = chat.add_subparsers(dest="chat_command", metavar="ACTION", required=True)
    start = _action(actions, "start", "start an order in a conversation", _address)
    start.add_argument("--platform", required=True)
    start.add_argument("--page", metavar="PAGE_ID")
    start.add_argument("--website", metavar="URL", help="the website whose chat widget it is")
    start.add_argument("--user", metavar="USER_ID", help="the customer's id on the platform")
    start.add_argument("--name", help="the customer's name, from the conversation")
    start.add_argument("--phone", help="the customer's phone, from the conversation")
    start.add_argument(
        "--upsell",
        action="store_true",
        help="sell more to a returning customer: list their previous orders",
    )
    _handler(start, _start)
    add_draft_actions(actions, _address, _resolve)
    discard = _action(actions, "discard", "drop the conversation's unfinished order", _address)
    _handler(discard, _discard)
    resume = actions.add_parser("resume", help="list your unfinished chat orders")
    resume.add_argument("--staff", required=True)
    resume.add_argument("--shop-id", required=True, metavar="SHOP")
    resume.add_argument("--json", action="store_true")
    resume.set_defaults(handler=_resume)


def _address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shop-id", required=True, metavar="SHOP")
    parser.add_argument("--conversation", required=True, metavar="ID")


def _resolve(args: argparse.Namespace) -> dict[str, Any]:
    return {"shop_id": args.shop_id, "conversation_id": args.conversation}


def _start(args: argparse.Namespace, common: dict[str, Any]) -> Any:
    from orders.commands import ChatStart

    return _validated(
        ChatStart,
        {
            **common,
            **_resolve(args),
            "platform": args.platform,
            "page_id": args.page,
            "website": args.website,
            "user_id": args.user,
            "customer_name": args.name,
            "customer_phone": args.phone,
            "mode": "upsell" if args.upsell else "new_sale",
        },
    )


def _discard(args: argparse.Namespace, common: dict[str, Any]) -> Any:
    from orders.commands import ChatDiscard

    return _validated(ChatDiscard, {**common, **_resolve(args)})


def _resume(args: argparse.Namespace) -> int:
    import orjson

    from cli.outcomes import draft_lines
    from orders.shop.store import ShopStore

    async def read() -> list[dict[str, Any]]:
        async with ShopStore.connect(load_settings().redis) as store:
            return await store.chat_resume(args.shop_id, args.staff)

    drafts = asyncio.run(read())
    if args.json:
        print(orjson.dumps(drafts, option=orjson.OPT_INDENT_2).decode())
        return 0
    if not drafts:
        print(f"{args.staff} has no unfinished chat order")
    for draft in drafts:
        print(f"conversation {draft['conversation_id']} (continue it, or `chotdon chat discard`):")
        print("\n".join("  " + line for line in draft_lines(draft)))
    return 0
