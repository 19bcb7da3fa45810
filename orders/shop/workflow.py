"""Order statuses and their transitions (seed 003): the shop's workflow, pure Python.

A shop names its statuses and the moves between them (`config.shop.Workflow`, which checks
itself as a whole when loaded); orders store the status *key*, so renaming a status changes
nothing stored. Moving several orders is
all-or-nothing: `transition_problems` lists every reason the move is refused, and only when it
lists none does the store `move` each order.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from config.workflow import Workflow
from orders.commands import Reason
from orders.model import Json
from orders.reasons import reason


def history_entry(
    at: str, from_: str | None, to: str, staff: str, command_id: str
) -> dict[str, Any]:
    """One entry of an order's history: a status change (from None: the order's creation)."""
    return {"at": at, "from": from_, "to": to, "staff": staff, "command_id": command_id}


def status_name(workflow: Workflow, key: str) -> str:
    """The status's name for people; its key when the workflow no longer has it."""
    status = workflow.status(key)
    return status.name if status is not None else key


def returned_keys(workflow: Workflow) -> frozenset[str]:
    """The statuses an order counts as returned in (bom hàng)."""
    return frozenset(status.key for status in workflow.statuses if status.returned)


def transition_problems(
    orders: Sequence[Json], to: str, workflow: Workflow, *, missing: Sequence[str] = ()
) -> list[Reason]:
    """Why moving these orders to `to` is refused (every reason), or [] when all may move.

    `orders` are the orders found, in the command's order (an order named twice appears twice);
    `missing` the ids not found. An order merged into another is closed; it moves no more.
    """
    problems = [reason("order_not_found", "order_ids", order_id=oid) for oid in missing]
    target = workflow.status(to)
    if target is None:
        problems.append(reason("unknown_status", "to", status=to))
    seen: set[str] = set()
    for order in orders:
        oid = order["order_id"]
        if oid in seen:
            problems.append(reason("duplicate_order_id", "order_ids", order_id=oid))
            continue
        seen.add(oid)
        if order.get("merged_into"):
            problems.append(reason("already_merged", "order_ids", order_id=oid,
                                   merged_into=order["merged_into"]))  # fmt: skip
            continue
        if target is None:
            continue
        current = workflow.status(order["status"])
        if current is None or to not in current.to:
            problems.append(reason(
                "illegal_transition", "to", order_id=oid,
                status_name=status_name(workflow, order["status"]), to_name=target.name,
            ))  # fmt: skip
    return problems


def move(order: Json, to: str, staff: str, at: str, command_id: str) -> Json:
    """The order in status `to`, with the move in its history (a copy; `order` is untouched)."""
    moved = copy.deepcopy(order)
    moved["history"].append(history_entry(at, order["status"], to, staff, command_id))
    moved["status"] = to
    moved["updated_at"] = at
    return moved
