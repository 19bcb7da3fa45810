"""One customer per person per shop: linking, returned counts, flags (orders/shop/customers.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from config.workflow import Workflow
from orders.shop.customers import (
    REPLIED_KEPT,
    customer_fields,
    empty_inbox,
    find_customer,
    flags,
    link_order,
    link_person,
    lookup_fields,
    new_customer,
    note_inbound,
    note_replied,
    owned_fields,
    owner_event,
    owner_of,
    returned_count,
    set_blacklist,
    set_owner,
    sorted_customers,
)
from orders.shop.workflow import returned_keys

Json = dict[str, Any]
RETURNED = returned_keys(Workflow())


def order(oid: str, *, user: str | None = "u1", phone: str | None = "0912345678",
          name: str = "Lan", platform: str = "facebook") -> Json:  # fmt: skip
    return {"order_id": oid, "shop_id": "shop1", "status": "new",
            "customer": {"customer_id": None, "platform": platform, "user_id": user,
                         "name": name, "phone": phone}}  # fmt: skip


def test_a_person_is_looked_up_by_platform_account_then_phone() -> None:
    person = {"platform": "facebook", "user_id": "u1", "phone": "0912345678"}
    assert lookup_fields(person) == ["facebook:u1", "phone:0912345678"]
    assert lookup_fields({"platform": "zalo", "user_id": None, "phone": None}) == []
    assert find_customer(person, {"facebook:u1": "C-1", "phone:0912345678": "C-2"}) == "C-1"
    assert find_customer(person, {"facebook:u1": None, "phone:0912345678": "C-2"}) == "C-2"
    assert find_customer(person, {}) is None


def test_a_first_order_creates_the_customer() -> None:
    linked = link_order(order("L1-1"), index={}, customers={}, new_id="C-1", at="t1")
    assert linked.created
    assert linked.customer == {
        "customer_id": "C-1", "shop_id": "shop1", "name": "Lan", "phones": ["0912345678"],
        "platform_ids": ["facebook:u1"], "orders": ["L1-1"], "returned": 0,
        "blacklisted": False, "blacklist_reason": None, "owner": None, "created_at": "t1",
        "updated_at": "t1",
    }  # fmt: skip
    assert linked.order["customer"]["customer_id"] == "C-1"
    assert linked.index == {"facebook:u1": "C-1", "phone:0912345678": "C-1"}


def test_an_order_is_linked_by_platform_account() -> None:
    first = link_order(order("L1-1"), index={}, customers={}, new_id="C-1", at="t1")
    second = link_order(order("L2-5", phone="0987654321", name="Lan Nguyễn"),
                        index=first.index, customers={"C-1": first.customer}, new_id="C-2",
                        at="t2")  # fmt: skip
    assert not second.created
    assert second.customer["customer_id"] == "C-1"
    assert second.customer["phones"] == ["0912345678", "0987654321"]
    assert second.customer["orders"] == ["L1-1", "L2-5"]
    assert second.customer["name"] == "Lan Nguyễn"  # the latest non-empty name
    assert second.index == {"phone:0987654321": "C-1"}
    assert second.customer["created_at"] == "t1" and second.customer["updated_at"] == "t2"


def test_an_order_is_linked_by_phone_and_the_customer_gains_the_account() -> None:
    chat = link_order(order("conv1-1", user=None, platform="zalo"), index={}, customers={},
                      new_id="C-1", at="t1")  # fmt: skip
    assert chat.customer["platform_ids"] == []
    live = link_order(order("L1-1", user="tt9", platform="tiktok", name=""),
                      index=chat.index, customers={"C-1": chat.customer}, new_id="C-2",
                      at="t2")  # fmt: skip
    assert live.customer["customer_id"] == "C-1"
    assert live.customer["platform_ids"] == ["tiktok:tt9"]
    assert live.customer["name"] == "Lan"  # an empty name changes nothing
    assert live.index == {"tiktok:tt9": "C-1"}


def test_an_account_wins_over_a_phone_owned_by_someone_else() -> None:
    index = {"facebook:u1": "C-1", "phone:0912345678": "C-2"}
    customers = {
        "C-1": new_customer("C-1", "shop1", "t0"),
        "C-2": new_customer("C-2", "shop1", "t0"),
    }
    linked = link_order(order("L1-1"), index=index, customers=customers, new_id="C-3", at="t1")
    assert linked.customer["customer_id"] == "C-1"
    assert linked.customer["phones"] == ["0912345678"]
    assert linked.index == {}  # the phone keeps its first owner
    assert owned_fields(linked.customer, index) == ["facebook:u1"]


def test_a_merged_order_stays_with_its_customer() -> None:
    merged = order("M-1")
    merged["customer"]["customer_id"] = "C-2"
    index = {"facebook:u1": "C-1"}
    customers = {
        "C-1": new_customer("C-1", "shop1", "t0"),
        "C-2": new_customer("C-2", "shop1", "t0"),
    }
    linked = link_order(merged, index=index, customers=customers, new_id="C-3", at="t1")
    assert linked.customer["customer_id"] == "C-2"


def test_linking_changes_nothing_it_is_given() -> None:
    first = link_order(order("L1-1"), index={}, customers={}, new_id="C-1", at="t1")
    customers = {"C-1": first.customer}
    before = copy.deepcopy(customers)
    the_order = order("L1-2", phone="0987654321")
    order_before = copy.deepcopy(the_order)
    link_order(the_order, index=first.index, customers=customers, new_id="C-2", at="t2")
    assert customers == before and the_order == order_before


def test_returned_counts_orders_in_returned_statuses_only() -> None:
    statuses = {"L1-1": "returned", "L1-2": "new", "L1-3": "returned"}  # L1-4: merged away
    assert returned_count(["L1-1", "L1-2", "L1-3", "L1-4", "L1-1"], statuses, RETURNED) == 2
    assert returned_count([], statuses, RETURNED) == 0
    assert returned_count(["L1-1"], statuses, frozenset({"new"})) == 0


def test_flags_and_the_fields_that_carry_them() -> None:
    customer = link_person(new_customer("C-1", "shop1", "t0"),
                           {"platform": "facebook", "user_id": "u1", "phone": "0912345678"},
                           "t1")  # fmt: skip
    customer["returned"] = 2
    assert flags(customer) == {"returned": 2, "blacklisted": False}
    assert customer_fields(customer) == ["facebook:u1", "phone:0912345678"]
    assert owned_fields(customer, {"facebook:u1": "C-1", "phone:0912345678": "C-7"}) == [
        "facebook:u1"
    ]
    listed = set_blacklist(customer, True, "bom 3 đơn", "t2")
    assert flags(listed) == {"returned": 2, "blacklisted": True}
    assert listed["blacklist_reason"] == "bom 3 đơn" and listed["updated_at"] == "t2"
    assert customer["blacklisted"] is False
    cleared = set_blacklist(listed, False, "ignored", "t3")
    assert cleared["blacklisted"] is False and cleared["blacklist_reason"] is None


def test_customers_sort_by_number() -> None:
    records = [new_customer(cid, "s", "t") for cid in ("C-10", "C-2", "C-1")]
    assert [c["customer_id"] for c in sorted_customers(records)] == ["C-1", "C-2", "C-10"]


# -- owners ----------------------------------------------------------------------------------


def test_an_owner_is_set_and_announced() -> None:
    customer = new_customer("C-4", "shop1", "t0")
    assert owner_of(customer) is None
    legacy = {k: v for k, v in customer.items() if k != "owner"}  # stored before owners existed
    assert owner_of(legacy) is None
    owned = set_owner(legacy, "lan", "t1")
    assert owner_of(owned) == "lan" and owned["updated_at"] == "t1"
    assert "owner" not in legacy
    assert owner_event(owned, previous=None, order_id="L1-3", staff="automation", at="t1",
                       command_id="auto-1") == {
        "v": 1, "kind": "owner_assigned", "order_id": "L1-3", "shop_id": "shop1",
        "customer_id": "C-4", "from": None, "owner": "lan", "staff": "automation", "at": "t1",
        "command_id": "auto-1",
    }  # fmt: skip


# -- messaging state -------------------------------------------------------------------------

T1 = "2026-03-01T10:00:00+07:00"
T2 = "2026-03-01T04:30:00+00:00"  # 11:30 in Hà Nội: later than T1 though it sorts before


def test_the_latest_inbound_time_is_kept_whatever_the_arrival_order() -> None:
    first = note_inbound(None, T1, "conv1")
    assert first == {"last_inbound_at": T1, "conversation_id": "conv1", "replied": []}
    later = note_inbound(first, T2, None)
    assert later["last_inbound_at"] == T2 and later["conversation_id"] == "conv1"
    assert note_inbound(later, T1, "conv0") == later  # late delivery: nothing changes
    assert first == {"last_inbound_at": T1, "conversation_id": "conv1", "replied": []}
    with pytest.raises(ValueError):
        note_inbound(first, "2026-03-01T10:00:00", None)  # no offset: not an instant


def test_replied_comments_are_kept_once_and_the_latest_only() -> None:
    state = note_replied(None, "c1")
    assert state == empty_inbox() | {"replied": ["c1"]}
    assert note_replied(state, "c1")["replied"] == ["c1"]
    for n in range(2, REPLIED_KEPT + 3):
        state = note_replied(state, f"c{n}")
    assert len(state["replied"]) == REPLIED_KEPT
    assert state["replied"][0] == "c3" and state["replied"][-1] == f"c{REPLIED_KEPT + 2}"
