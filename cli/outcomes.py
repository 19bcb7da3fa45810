"""Commands and their outcomes for people: the lines `chotdon order …` prints, and sending a
command from the command line (stream/client.py does the sending and waiting)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import orjson

from config.settings import Settings
from orders.automation.messages import vnd
from orders.commands import Outcome
from stream.client import NoOutcome, send_command


def staff_from_env() -> str | None:
    return os.environ.get("CHOTDON_STAFF")


def outcome_lines(outcome: Outcome) -> list[str]:
    """The outcome for people: what was done, or every reason, in Vietnamese and English."""
    if outcome.status == "refused":
        lines = [f"refused ({outcome.type}, command {outcome.command_id}):"]
        for r in outcome.reasons:
            where = f" [{r.field}]" if r.field else ""
            lines.append(f"  ✗ {r.vi} / {r.en} ({r.code}){where}")
        return lines
    lines = [f"applied ({outcome.type}, command {outcome.command_id})"]
    if outcome.draft is not None:
        lines.extend(draft_lines(outcome.draft))
    for order in outcome.orders:
        lines.append(order_line(order))
    if outcome.previous_orders:
        lines.append("previous orders of this customer:")
        lines.extend("  " + order_line(order) for order in outcome.previous_orders)
    return lines


def draft_lines(draft: dict[str, Any]) -> list[str]:
    number = draft.get("seq", draft.get("n"))
    contact = draft.get("contact") or {}
    customer = draft.get("customer") or {}
    name = contact.get("name") or customer.get("name") or "?"
    phone = contact.get("phone") or customer.get("phone") or "?"
    out = [f"draft #{number} [{draft.get('status')}] {name} {phone} total {vnd(draft['total'])}"]
    for i, line in enumerate(draft.get("lines", []), start=1):
        attrs = " ".join(f"{k}={v}" for k, v in sorted(line["attributes"].items()))
        wait = f" waitlist #{line['waitlist']}" if line.get("waitlist") else ""
        out.append(
            f"  {i}. {line['code'] or '-'} {line['name'] or '?'} {attrs} x{line['qty']} "
            f"(held {line['reserved']}){wait} [{line['status']}]"
        )
    return out


def order_line(order: dict[str, Any]) -> str:
    merged = f" merged into {order['merged_into']}" if order.get("merged_into") else ""
    return (
        f"order {order['order_id']} [{order['status']}]{merged} "
        f"{order['customer']['name']} {order['customer']['phone']} total {vnd(order['total'])}"
    )


def run_command(settings: Settings, command: Any, timeout: float, as_json: bool) -> int:
    """Send, wait, print; exit status 0 when applied, 1 when refused (or no outcome)."""
    from cli.main import UserError

    try:
        outcome = asyncio.run(send_command(settings, command, timeout))
    except NoOutcome as exc:
        raise UserError(str(exc)) from None
    if as_json:
        print(orjson.dumps(outcome.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode())
    else:
        print("\n".join(outcome_lines(outcome)))
    return 0 if outcome.status == "applied" else 1
