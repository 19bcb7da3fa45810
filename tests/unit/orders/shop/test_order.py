"""Orders built from drafts, order events, and merging (gộp đơn): orders/shop/order.py, no I/O."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from config.workflow import Workflow
from orders.shop.order import (
    assign_order,
    created_event,
    merge_orders,
    merge_problems,
    order_event,
    order_from_draft,
    order_tags,
    tag_order,
)

Json = dict[str, Any]
WF = Workflow()
CONTACT = {"name": "Lan", "phone": "0912345678", "address": "12 Lê Lợi", "ward": "Bến Thành",
           "province": "TP. Hồ Chí Minh", "note": None}  # fmt: skip
SOURCE = {"platform": "facebook", "page_id": "P1", "livestream_id": "L1", "conversation_id": None,
          "website": None}  # fmt: skip


def live_draft(**changes: Any) -> Json:
    draft: Json = {
        "shop_id": "shop1", "livestream_id": "L1", "seq": 3, "status": "open",
        "customer": {"platform": "facebook", "user_id": "u1", "name": "Lan FB",
                     "phone": "0912345678"},
        "lines": [
            {"code": "A12", "name": "Áo thun", "attributes": {"size": "M"}, "qty": 2,
             "reserved": 2, "waitlist": None, "status": "matched", "unit_price": 159000,
             "comment_ids": ["c1"]},
            {"code": None, "name": "Túi quà", "attributes": {}, "qty": 1, "reserved": 1,
             "waitlist": None, "status": "custom", "unit_price": 20000, "comment_ids": []},
        ],
        "history": [{"code": "B3", "name": "Quần", "attributes": {}, "qty": 1, "reserved": 0,
                     "waitlist": None, "status": "matched", "unit_price": 350000,
                     "comment_ids": ["c0"]}],
        "total": 338000, "created_at": "2026-01-01T10:00:00+07:00",
        "updated_at": "2026-01-01T10:05:00+07:00", "contact": dict(CONTACT), "staff": "an",
    }  # fmt: skip
    draft.update(changes)
    return draft


def build(draft: Json | None = None, **kw: Any) -> Json:
    args: Json = {"contact": CONTACT, "order_id": "L1-3", "source": SOURCE, "action": "create",
                  "status": "new", "staff": "binh", "at": "2026-01-01T11:00:00+07:00",
                  "command_id": "cmd-1"}  # fmt: skip
    args.update(kw)
    return order_from_draft(draft or live_draft(), **args)


def test_order_from_a_livestream_draft_is_the_v1_contract() -> None:
    order = build()
    assert order == {
        "v": 1, "order_id": "L1-3", "shop_id": "shop1", "source": SOURCE, "seq": 3,
        "customer": {"customer_id": None, "platform": "facebook", "user_id": "u1", **CONTACT},
        "lines": [
            {"code": "A12", "name": "Áo thun", "attributes": {"size": "M"}, "qty": 2,
             "unit_price": 159000, "amount": 318000, "custom": False, "from_order": None},
            {"code": None, "name": "Túi quà", "attributes": {}, "qty": 1, "unit_price": 20000,
             "amount": 20000, "custom": True, "from_order": None},
        ],
        "total": 338000, "staff": {"assigned": "an", "finalised_by": "binh"},
        "action": "create", "status": "new", "merged_into": None, "merged_from": [],
        "created_at": "2026-01-01T10:00:00+07:00", "finalised_at": "2026-01-01T11:00:00+07:00",
        "updated_at": "2026-01-01T11:00:00+07:00", "tags": [],
        "history": [{"at": "2026-01-01T11:00:00+07:00", "from": None, "to": "new",
                     "staff": "binh", "command_id": "cmd-1"}],
    }  # fmt: skip


def test_the_contact_given_wins_over_the_drafts_customer() -> None:
    contact = dict(CONTACT, name="Chị Lan", phone="0987654321")
    order = build(contact=contact)
    assert order["customer"]["name"] == "Chị Lan"
    assert order["customer"]["phone"] == "0987654321"
    assert order["customer"]["user_id"] == "u1"


def test_a_chat_draft_numbers_the_order_with_n() -> None:
    draft = live_draft(seq=None, n=2, conversation_id="conv9")
    del draft["livestream_id"]
    order = build(draft, order_id="conv9-2", source=dict(SOURCE, livestream_id=None,
                                                          conversation_id="conv9"))  # fmt: skip
    assert order["seq"] == 2
    assert order["source"]["conversation_id"] == "conv9"


def test_the_source_keeps_exactly_its_five_fields() -> None:
    order = build(source={"platform": "tiktok", "extra": 1})
    assert order["source"] == {"platform": "tiktok", "page_id": None, "livestream_id": None,
                               "conversation_id": None, "website": None}  # fmt: skip
    site = build(source={"platform": "website", "website": "https://shop.example.vn"})
    assert site["source"]["website"] == "https://shop.example.vn"


def test_the_draft_is_not_changed() -> None:
    draft = live_draft()
    before = copy.deepcopy(draft)
    order = build(draft)
    order["lines"][0]["attributes"]["size"] = "XL"
    assert draft == before


@pytest.mark.parametrize("missing", ["name", "phone", "address", "province"])
def test_a_contact_without_what_shipping_needs_is_a_programming_error(missing: str) -> None:
    with pytest.raises(ValueError, match=missing):
        build(contact=dict(CONTACT, **{missing: None}))


def test_an_unresolved_line_is_a_programming_error() -> None:
    draft = live_draft()
    draft["lines"].append({"code": "ZZ9", "name": None, "attributes": {}, "qty": 1,
                           "reserved": 0, "waitlist": None, "status": "unknown_code",
                           "unit_price": None, "comment_ids": ["c9"]})  # fmt: skip
    with pytest.raises(ValueError, match="ZZ9"):
        build(draft)


def test_order_events() -> None:
    order = build()
    assert created_event(order, "cmd-1") == {
        "v": 1, "kind": "created", "order_id": "L1-3", "shop_id": "shop1", "from": None,
        "to": "new", "staff": "binh", "at": "2026-01-01T11:00:00+07:00", "command_id": "cmd-1",
    }  # fmt: skip
    event = order_event("status_changed", order, from_="new", to="confirmed", staff="an",
                        at="t2", command_id="cmd-2")  # fmt: skip
    assert (event["kind"], event["from"], event["to"], event["at"]) == (
        "status_changed",
        "new",
        "confirmed",
        "t2",
    )


# -- merging ---------------------------------------------------------------------------------


def an_order(oid: str, *, cid: str | None = "C-1", phone: str = "0912345678",
             status: str = "new", at: str = "2026-01-01T11:00:00+07:00", seq: int = 1,
             **changes: Any) -> Json:  # fmt: skip
    order = build(live_draft(seq=seq), order_id=oid, at=at, status=status,
                  contact=dict(CONTACT, phone=phone))  # fmt: skip
    order["customer"]["customer_id"] = cid
    order.update(changes)
    return order


def codes(problems: list[Any]) -> list[str]:
    return [p.code for p in problems]


def test_one_customers_orders_in_one_open_status_may_merge() -> None:
    assert merge_problems([an_order("L1-1"), an_order("L2-4")], WF) == []


def test_orders_merge_when_linked_by_phone_even_under_two_records() -> None:
    a = an_order("L1-1", cid="C-1")
    b = an_order("L2-4", cid="C-2")  # same phone
    c = an_order("L3-2", cid="C-2", phone="0987654321")  # linked to b by customer id
    assert merge_problems([a, b, c], WF) == []


def test_orders_of_different_customers_do_not_merge() -> None:
    a = an_order("L1-1", cid="C-1")
    b = an_order("L2-4", cid="C-2", phone="0987654321")
    assert codes(merge_problems([a, b], WF)) == ["different_customers"]


def test_every_reason_a_merge_is_refused_is_listed() -> None:
    a = an_order("L1-1", merged_into="M-1")
    b = an_order("L2-4", status="confirmed", cid="C-9", phone="0987654321")
    problems = merge_problems([a, b], WF, missing=["L9-9"])
    assert codes(problems) == ["order_not_found", "already_merged", "different_customers",
                               "different_statuses"]  # fmt: skip
    assert "L1-1" in problems[1].en and "M-1" in problems[1].en


def test_one_order_named_twice_is_not_a_merge() -> None:
    a = an_order("L1-1")
    assert codes(merge_problems([a, a], WF)) == ["duplicate_order_id", "merge_needs_two"]


@pytest.mark.parametrize("status", ["cancelled", "returned", "gone"])
def test_closed_orders_do_not_merge(status: str) -> None:
    problems = merge_problems([an_order("L1-1", status=status),
                               an_order("L1-2", status=status)], WF)  # fmt: skip
    assert codes(problems) == ["closed_status"]


def test_merge_keeps_every_line_with_its_source() -> None:
    a = an_order("L1-1", at="2026-01-01T11:00:00+07:00", seq=1)
    b = an_order("L2-4", at="2026-01-02T09:00:00+07:00", seq=4, phone="0912345678")
    b["customer"]["address"] = "99 Nguyễn Huệ"
    b["staff"]["assigned"] = "chi"
    before = copy.deepcopy([a, b])
    merged, originals = merge_orders([a, b], "M-1", "dung", "2026-01-03T08:00:00+07:00", "m1")
    assert [a, b] == before
    assert merged["order_id"] == "M-1"
    assert merged["merged_from"] == ["L1-1", "L2-4"]
    assert [line["from_order"] for line in merged["lines"]] == ["L1-1", "L1-1", "L2-4", "L2-4"]
    assert merged["total"] == a["total"] + b["total"]
    assert merged["source"] == a["source"] and merged["seq"] == 1
    assert merged["customer"]["address"] == "99 Nguyễn Huệ"  # the latest order's
    assert merged["staff"] == {"assigned": "chi", "finalised_by": "dung"}
    assert merged["status"] == "new" and merged["merged_into"] is None
    assert merged["created_at"] == "2026-01-01T10:00:00+07:00"
    assert merged["finalised_at"] == merged["updated_at"] == "2026-01-03T08:00:00+07:00"
    assert merged["history"] == [{"at": "2026-01-03T08:00:00+07:00", "from": None, "to": "new",
                                  "staff": "dung", "command_id": "m1"}]  # fmt: skip
    for original, old in zip(originals, before, strict=True):
        assert original["merged_into"] == "M-1"
        assert original["status"] == old["status"] and original["lines"] == old["lines"]
        assert original["history"][-1] == {
            "at": "2026-01-03T08:00:00+07:00",
            "from": "new",
            "to": "new",
            "staff": "dung",
            "command_id": "m1",
        }
        assert len(original["history"]) == len(old["history"]) + 1


def test_merging_a_merged_order_keeps_the_first_sources() -> None:
    a, b, c = an_order("L1-1"), an_order("L1-2"), an_order("L1-3")
    first, _ = merge_orders([a, b], "M-1", "s", "t1", "m1")
    second, _ = merge_orders([first, c], "M-2", "s", "t2", "m2")
    assert [line["from_order"] for line in second["lines"]] == [
        "L1-1",
        "L1-1",
        "L1-2",
        "L1-2",
        "L1-3",
        "L1-3",
    ]
    assert second["merged_from"] == ["M-1", "L1-3"]


def test_merge_needs_two_orders() -> None:
    with pytest.raises(ValueError):
        merge_orders([an_order("L1-1")], "M-1", "s", "t", "m")


def test_merge_keeps_every_tag_once_and_a_legacy_source_gains_website() -> None:
    a, b, c = an_order("L1-1"), an_order("L1-2"), an_order("L1-3")
    a["tags"], b["tags"] = ["vip", "web"], ["web", "gấp"]
    del c["tags"]  # an order stored before tags existed
    del a["source"]["website"]
    merged, originals = merge_orders([a, b, c], "M-1", "s", "t", "m")
    assert merged["tags"] == ["vip", "web", "gấp"]
    assert merged["source"] == dict(SOURCE)
    assert "tags" not in originals[2]


# -- assigning and tagging -------------------------------------------------------------------


def test_assign_and_tag_change_copies() -> None:
    order = build()
    assigned = assign_order(order, "chi", "t2")
    assert assigned["staff"] == {"assigned": "chi", "finalised_by": "binh"}
    assert assigned["updated_at"] == "t2" and order["staff"]["assigned"] == "an"
    tagged = tag_order(order, "vip", "t3")
    assert tagged is not None and tagged["tags"] == ["vip"] and tagged["updated_at"] == "t3"
    assert order["tags"] == []
    assert tag_order(tagged, "vip", "t4") is None
    assert tag_order(tagged, "web", "t4")["tags"] == ["vip", "web"]  # type: ignore[index]
    legacy = {k: v for k, v in order.items() if k != "tags"}
    assert order_tags(legacy) == [] and tag_order(legacy, "vip", "t5")["tags"] == ["vip"]  # type: ignore[index]
    event = order_event("assigned", assigned, from_="an", to="chi", staff="automation",
                        at="t2", command_id="auto-1")  # fmt: skip
    assert (event["kind"], event["from"], event["to"]) == ("assigned", "an", "chi")
