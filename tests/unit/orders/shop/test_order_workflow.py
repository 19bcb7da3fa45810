"""Statuses and transitions (seed 003): orders/shop/workflow.py, no I/O."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from config.workflow import Workflow
from orders.shop.workflow import (
    move,
    returned_keys,
    status_name,
    transition_problems,
)

Json = dict[str, Any]
WF = Workflow()


def order(oid: str, status: str = "new", **changes: Any) -> Json:
    data: Json = {"order_id": oid, "status": status, "merged_into": None, "updated_at": "t0",
                  "history": [{"at": "t0", "from": None, "to": status, "staff": "an",
                               "command_id": "c0"}]}  # fmt: skip
    data.update(changes)
    return data


def codes(problems: list[Any]) -> list[str]:
    return [p.code for p in problems]


def test_status_lookup() -> None:
    status = WF.status("shipped")
    assert status is not None and status.name == "Đã giao"
    assert WF.status("nope") is None
    assert status_name(WF, "new") == "Vừa tạo"
    assert status_name(WF, "gone") == "gone"
    assert returned_keys(WF) == {"returned"}


@pytest.mark.parametrize(("start", "to"), [
    ("new", "confirmed"), ("new", "cancelled"), ("confirmed", "shipped"),
    ("confirmed", "cancelled"), ("shipped", "returned"),
])  # fmt: skip
def test_legal_moves(start: str, to: str) -> None:
    assert transition_problems([order("L1-1", start)], to, WF) == []


@pytest.mark.parametrize(("start", "to"), [
    ("new", "shipped"), ("new", "new"), ("returned", "new"), ("cancelled", "confirmed"),
    ("shipped", "cancelled"),
])  # fmt: skip
def test_illegal_moves_name_the_order_and_both_statuses(start: str, to: str) -> None:
    problems = transition_problems([order("L1-1", start)], to, WF)
    assert codes(problems) == ["illegal_transition"]
    assert problems[0].field == "to"
    assert problems[0].en == (f"Order L1-1 is {status_name(WF, start)} and cannot move to "
                              f"{status_name(WF, to)}")  # fmt: skip


def test_an_unknown_status_is_refused_once() -> None:
    problems = transition_problems([order("L1-1"), order("L1-2")], "lost", WF)
    assert codes(problems) == ["unknown_status"]
    assert "lost" in problems[0].en


def test_bulk_is_all_or_nothing_with_every_reason() -> None:
    orders = [order("L1-1"), order("L1-2", "shipped"), order("L1-3"),
              order("L1-4", merged_into="M-1"), order("L1-1")]  # fmt: skip
    problems = transition_problems(orders, "confirmed", WF, missing=["L9-9"])
    assert codes(problems) == ["order_not_found", "illegal_transition", "already_merged",
                               "duplicate_order_id"]  # fmt: skip
    assert "L1-2" in problems[1].en
    assert "L9-9" in problems[0].en
    assert transition_problems(orders[:1] + orders[2:3], "confirmed", WF) == []


def test_an_order_in_a_status_the_workflow_lacks_cannot_move() -> None:
    problems = transition_problems([order("L1-1", "gone")], "new", WF)
    assert codes(problems) == ["illegal_transition"]
    assert "is gone" in problems[0].en


def test_move_records_the_change() -> None:
    before = order("L1-1")
    original = copy.deepcopy(before)
    moved = move(before, "confirmed", "binh", "t1", "cmd-9")
    assert before == original
    assert moved["status"] == "confirmed" and moved["updated_at"] == "t1"
    assert moved["history"][-1] == {"at": "t1", "from": "new", "to": "confirmed",
                                    "staff": "binh", "command_id": "cmd-9"}  # fmt: skip
    assert len(moved["history"]) == 2
