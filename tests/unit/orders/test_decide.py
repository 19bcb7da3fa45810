"""What the command agent asks the domain: who may act, the store's op, a finalise's step."""

from __future__ import annotations

from typing import Any

import orjson

from config.shop import ShopConfig
from orders.commands import Assign, Finalise, SetCustomer, SetQuantity
from orders.decide import (
    command_op,
    creates_order,
    finalise_step,
    finalised_order,
    is_new_order,
    members,
    staff_problems,
    version_problems,
    versioned_op,
)
from orders.model import draft_version
from orders.shop.order import livestream_of_order, order_id_of

AT = "2026-12-01T10:00:00+07:00"
ADDRESS = {"command_id": "c1", "staff_id": "lan", "issued_at": AT, "livestream_id": "L1", "seq": 3}


def shop(**extra: Any) -> ShopConfig:
    return ShopConfig.model_validate({"shop": {"id": "s1", "name": "Shop"}, **extra})


STAFFED = shop(
    staff=[
        {"id": "lan", "name": "Lan", "groups": ["sales"]},
        {"id": "minh", "name": "Minh", "groups": ["sales"]},
        {"id": "an", "name": "An"},
    ]
)


def open_draft(**overrides: Any) -> dict[str, Any]:
    draft: dict[str, Any] = {
        "shop_id": "s1", "livestream_id": "L1", "seq": 3, "status": "open",
        "customer": {"platform": "facebook", "user_id": "u1", "name": "Lan", "phone": None},
        "lines": [{"code": "A12", "name": "Áo", "attributes": {}, "qty": 1, "reserved": 1,
                   "waitlist": None, "status": "matched", "unit_price": 100000,
                   "comment_ids": ["c1"]}],
        "history": [], "total": 100000, "created_at": AT, "updated_at": AT,
        "contact": {"name": "Lan", "phone": "0912345678", "address": "12 Lê Lợi", "ward": None,
                    "province": "Thành phố Hồ Chí Minh", "note": None},
        "staff": None, "action": None, "order_id": None,
    }  # fmt: skip
    draft.update(overrides)
    return draft


def test_a_shop_without_staff_accepts_anyone() -> None:
    assert staff_problems(shop(), Assign(**ADDRESS, assignee="whoever")) == []


def test_a_staffed_shop_names_each_unknown_person_with_the_field() -> None:
    command = Assign(**{**ADDRESS, "staff_id": "ghost"}, assignee="nobody")
    problems = staff_problems(STAFFED, command)
    assert [(p.code, p.field) for p in problems] == [
        ("unknown_staff", "staff_id"),
        ("unknown_staff", "assignee"),
    ]


def test_automation_acts_for_every_staffed_shop() -> None:
    command = Assign(**{**ADDRESS, "staff_id": "automation"}, assignee="minh")
    assert staff_problems(STAFFED, command) == []


def test_members_of_a_group_in_the_shop_order() -> None:
    assert members(STAFFED, "sales") == ("lan", "minh")
    assert members(STAFFED, "nobody") is None
    assert members(STAFFED, None) is None


def test_set_customer_cleans_the_phone_and_reports_a_bad_one() -> None:
    op, problems = command_op(SetCustomer(**ADDRESS, phone="0912 345 678"))
    assert op["contact"] == {"phone": "0912345678"} and problems == []
    assert (op["type"], op["seq"], op["at"], op["staff"]) == ("set_customer", 3, AT, "lan")
    _, problems = command_op(SetCustomer(**ADDRESS, phone="12345"))
    assert [p.field for p in problems] == ["phone"]


def test_other_commands_carry_their_own_fields_only() -> None:
    op, problems = command_op(SetQuantity(**ADDRESS, line=2, qty=5))
    assert op == {"type": "set_quantity", "seq": 3, "at": AT, "staff": "lan", "line": 2, "qty": 5}
    assert problems == []


def test_a_finalise_of_a_complete_draft_sends_the_exact_bytes_it_read() -> None:
    raw = orjson.dumps(open_draft())
    step = finalise_step(Finalise(**ADDRESS, action="create"), raw)
    assert step.refused == [] and step.op is not None
    assert step.op["expect"] == raw.decode()
    assert step.op["order_id"] == "L1-3"


def test_a_finalise_of_an_incomplete_draft_is_refused_with_every_reason() -> None:
    raw = orjson.dumps(open_draft(contact=None, customer={"platform": "facebook",
                                                         "user_id": "u1", "name": None,
                                                         "phone": None}))  # fmt: skip
    step = finalise_step(Finalise(**ADDRESS, action="create"), raw)
    assert step.op is None
    assert {p.field for p in step.refused} >= {"name", "phone", "address"}


def test_save_and_cancel_skip_the_order_checks() -> None:
    raw = orjson.dumps(open_draft(contact=None))
    for action in ("save", "cancel"):
        command = Finalise(**ADDRESS, action=action)
        assert finalise_step(command, raw).op is not None
        assert not creates_order(command)
    assert creates_order(Finalise(**ADDRESS, action="deliver_now"))


def test_the_order_of_a_finalised_draft_starts_in_its_action_status() -> None:
    finalised = open_draft(status="finalised", action="deliver_now", order_id="L1-3",
                           finalised_by="minh", finalised_at=AT)  # fmt: skip
    order = finalised_order(Finalise(**ADDRESS, action="deliver_now"), shop(), finalised)
    assert (order["order_id"], order["status"]) == ("L1-3", "shipped")
    assert order["staff"]["finalised_by"] == "minh"
    assert order["source"]["livestream_id"] == "L1"


def test_only_created_or_merged_orders_are_new() -> None:
    order = {"order_id": "L1-3"}
    assert is_new_order(order, [{"order_id": "L1-3", "kind": "created", "from": None}])
    assert not is_new_order(order, [{"order_id": "L1-3", "kind": "status", "from": "new"}])
    assert not is_new_order(order, [{"order_id": "L1-4", "kind": "created", "from": None}])


def test_order_ids_name_their_livestream() -> None:
    assert order_id_of("live-7", 12) == "live-7-12"
    assert livestream_of_order("live-7-12") == "live-7"
    assert livestream_of_order("M-") is None
    assert livestream_of_order("nodash") is None


def test_a_version_ignores_key_order_and_waitlist_places() -> None:
    draft = open_draft()
    reordered = dict(reversed(list(draft.items())))
    moved_up = open_draft(lines=[{**draft["lines"][0], "waitlist": 3}])
    assert draft_version(draft) == draft_version(reordered) == draft_version(moved_up)
    assert draft_version(draft) != draft_version(open_draft(total=1))


def test_a_command_on_an_old_version_is_refused_before_anything_else() -> None:
    raw = orjson.dumps(open_draft(contact=None))
    old = draft_version(open_draft(total=5))
    step = finalise_step(Finalise(**ADDRESS, action="create", expect_version=old), raw)
    assert [(p.code, p.field) for p in step.refused] == [("draft_changed", "expect_version")]
    edit = SetQuantity(**ADDRESS, line=1, qty=2, expect_version=old)
    assert versioned_op(edit, {"type": "set_quantity"}, raw).op is None
    current = SetQuantity(**ADDRESS, line=1, qty=2, expect_version=draft_version(orjson.loads(raw)))
    assert versioned_op(current, {"type": "set_quantity"}, raw).op == {
        "type": "set_quantity", "expect": raw.decode()}  # fmt: skip
    assert version_problems(SetQuantity(**ADDRESS, line=1, qty=2), open_draft()) == []
