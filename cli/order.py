"""`chotdon order …`: finish livestream drafts and move orders, as staff commands.

Each subcommand sends one command through Kafka (`chotdon.order-commands`), waits for the
worker's outcome and prints it: what changed, or every reason it was refused, in Vietnamese and
English. The exit status is 0 when applied and 1 when refused. A draft is addressed by
`--livestream ID --seq N` (or `--order ID-N`), a line by its number as `chotdon drafts` shows it.
Who acts is `--staff` (default: $CHOTDON_STAFF). Give `--command-id` to retry a command safely:
the same id is applied once.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from cli.outcomes import run_command, staff_from_env
from config.settings import load_settings
from stream.client import DEFAULT_TIMEOUT, new_command_id, now_iso

Build = Callable[[argparse.Namespace, dict[str, Any]], Any]


def add_parser(subparsers: Any) -> None:
    order = subparsers.add_parser(
        "order",
        help="finish drafts and move orders (staff commands)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = order.add_subparsers(dest="order_command", metavar="ACTION", required=True)
    add_draft_actions(actions, _address_livestream_draft, livestream_address)
    status = _action(actions, "status", "move one order or many (bulk) to another status")
    status.add_argument(
        "--order",
        dest="orders",
        action="append",
        required=True,
        metavar="ID",
        help="an order id; repeat for a bulk move (all move, or none)",
    )
    status.add_argument("--to", required=True, metavar="STATUS", help="a status key (new, …)")
    status.add_argument("--shop-id", metavar="SHOP", help="needed for chat and merged orders")
    _handler(status, _change_status)
    merge = _action(actions, "merge", "merge one customer's orders into one shipment (gộp đơn)")
    merge.add_argument("--order", dest="orders", action="append", required=True, metavar="ID")
    merge.add_argument("--shop-id", metavar="SHOP")
    _handler(merge, _merge)


# -- the draft actions, shared with `chotdon chat` ----------------------------------------------


def add_draft_actions(
    actions: Any,
    address: Callable[[argparse.ArgumentParser], None],
    resolve: Callable[[argparse.Namespace], dict[str, Any]],
) -> None:
    """The subcommands that change a draft; `address` adds the arguments naming the draft and
    `resolve` turns them into the command's address fields."""

    def _draft_handler(
        parser: argparse.ArgumentParser, model: str, fields: Callable[[argparse.Namespace], Any]
    ) -> None:
        def build(args: argparse.Namespace, common: dict[str, Any]) -> Any:
            import orders.commands

            return _validated(
                getattr(orders.commands, model), {**common, **resolve(args), **fields(args)}
            )

        parser.set_defaults(handler=_runner(build))

    p = _action(actions, "set-customer", "set the customer's name, phone, address…", address)
    for name in ("name", "phone", "address", "ward", "province", "note"):
        p.add_argument(f"--{name}", metavar=name.upper())
    _draft_handler(
        p, "SetCustomer", lambda a: _pick(a, "name", "phone", "address", "ward", "province", "note")
    )
    p = _action(actions, "pick-product", "re-pick the product of an unknown-code line", address)
    _line(p)
    p.add_argument("--code", required=True)
    _attrs(p)
    _draft_handler(
        p, "PickProduct", lambda a: {"line": a.line, "code": a.code, "attributes": _attributes(a)}
    )
    p = _action(actions, "choose-variant", "choose the variant of a line", address)
    _line(p)
    _attrs(p, required=True)
    _draft_handler(p, "ChooseVariant", lambda a: {"line": a.line, "attributes": _attributes(a)})
    p = _action(actions, "set-qty", "change a line's quantity", address)
    _line(p)
    p.add_argument("--qty", required=True, type=int)
    _draft_handler(p, "SetQuantity", lambda a: {"line": a.line, "qty": a.qty})
    p = _action(actions, "remove-line", "remove a line (its units go to the waitlist)", address)
    _line(p)
    _draft_handler(p, "RemoveLine", lambda a: {"line": a.line})
    p = _action(actions, "add-line", "add a catalogue product", address)
    p.add_argument("--code", required=True)
    _attrs(p)
    p.add_argument("--qty", type=int, default=1)
    _draft_handler(
        p, "AddLine", lambda a: {"code": a.code, "attributes": _attributes(a), "qty": a.qty}
    )
    p = _action(actions, "add-custom", "add an ad-hoc product that exists only here", address)
    p.add_argument("--name", required=True)
    p.add_argument("--price", required=True, type=int, help="in đồng")
    p.add_argument("--qty", type=int, default=1)
    _draft_handler(p, "AddCustomLine", lambda a: {"name": a.name, "price": a.price, "qty": a.qty})
    p = _action(actions, "assign", "assign the draft to a staff member", address)
    p.add_argument("--to", required=True, metavar="STAFF", dest="assignee")
    _draft_handler(p, "Assign", lambda a: {"assignee": a.assignee})
    p = _action(actions, "finalise", "finish the draft with one of the actions", address)
    p.add_argument(
        "--action",
        required=True,
        choices=["create", "deliver_now", "send_to_store", "save", "cancel"],
        help="create: order awaiting delivery; deliver_now: shipped at once; send_to_store: to "
        "the shop's POS; save: stays a draft, details kept; cancel: the draft is cancelled",
    )
    _draft_handler(p, "Finalise", lambda a: {"action": a.action})


def _address_livestream_draft(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--livestream", metavar="ID")
    parser.add_argument("--seq", type=int, metavar="N", help="the draft's number (STT)")
    parser.add_argument("--order", metavar="ID-N", help="the draft as its order id, instead")


def livestream_address(args: argparse.Namespace) -> dict[str, Any]:
    from cli.main import UserError

    if args.order is not None:
        livestream, _, seq = args.order.rpartition("-")
        if not livestream or not seq.isdigit():
            raise UserError(f"--order {args.order!r}: expected <livestream>-<seq>, like live-1-3")
        return {"livestream_id": livestream, "seq": int(seq)}
    if args.livestream is None or args.seq is None:
        raise UserError("name the draft with --livestream ID --seq N, or --order ID-N")
    return {"livestream_id": args.livestream, "seq": args.seq}


# -- order actions ------------------------------------------------------------------------------


def _change_status(args: argparse.Namespace, common: dict[str, Any]) -> Any:
    from orders.commands import ChangeStatus

    return _validated(
        ChangeStatus, {**common, "order_ids": args.orders, "to": args.to, "shop_id": args.shop_id}
    )


def _merge(args: argparse.Namespace, common: dict[str, Any]) -> Any:
    from orders.commands import Merge

    return _validated(Merge, {**common, "order_ids": args.orders, "shop_id": args.shop_id})


# -- plumbing -----------------------------------------------------------------------------------


def _action(
    actions: Any,
    name: str,
    help_text: str,
    address: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = actions.add_parser(
        name, help=help_text, description=help_text
    )
    if address is not None:
        address(parser)
    parser.add_argument(
        "--staff", default=staff_from_env(), help="who acts (default: $CHOTDON_STAFF)"
    )
    parser.add_argument("--command-id", help="an id of your own, to retry safely")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="how long to wait for the outcome",
    )
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    return parser


def _handler(parser: argparse.ArgumentParser, build: Build) -> None:
    parser.set_defaults(handler=_runner(build))


def _runner(build: Build) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from cli.main import UserError

        if not args.staff:
            raise UserError("say who acts: --staff ID (or set CHOTDON_STAFF)")
        common = {
            "command_id": args.command_id or new_command_id(),
            "staff_id": args.staff,
            "issued_at": now_iso(),
        }
        return run_command(load_settings(), build(args, common), args.timeout, args.json)

    return run


def _validated(model: Any, fields: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    from cli.main import UserError
    from stream.messages import describe_error

    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise UserError(describe_error(exc)) from None


def _line(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--line", required=True, type=int, help="the line's number (1, 2, …)")


def _attrs(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument(
        "--attr",
        action="append",
        default=[],
        required=required,
        metavar="NAME=VALUE",
        help="an attribute, like size=M; repeatable",
    )


def _attributes(args: argparse.Namespace) -> dict[str, str]:
    from cli.main import UserError

    out = {}
    for pair in args.attr:
        name, eq, value = pair.partition("=")
        if not eq or not name.strip() or not value.strip():
            raise UserError(f"--attr {pair!r}: expected NAME=VALUE, like size=M")
        out[name.strip()] = value.strip()
    return out


def _pick(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}
