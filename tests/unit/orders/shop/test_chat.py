"""Chat orders (seeds 000, 002): every operation on a chat draft, and the order it becomes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from config.shop import Product
from orders.shop.chat import apply_chat_op, chat_order, discard_chat, new_chat_draft
from orders.shop.order import order_id_of

Json = dict[str, Any]
PRODUCTS = {
    "A12": Product(code="A12", name="Áo thun", price=159000, stock=3,
                   attributes={"size": ("S", "M"), "color": ("đỏ", "đen")}),
    "MP10": Product(code="MP10", name="Son kem", price=120000),
}  # fmt: skip
CONTACT = {"name": "Lan", "phone": "0912345678", "address": "12 Lê Lợi", "ward": None,
           "province": "Hà Nội", "note": "giao giờ hành chính"}  # fmt: skip


def draft(**changes: Any) -> Json:
    base = new_chat_draft(
        shop_id="shop1", conversation_id="conv1", n=1, mode="new_sale", platform="facebook",
        page_id="P1", user_id="u1", name="Lan", phone="0912345678", staff="an", at="t0",
    )  # fmt: skip
    base.update(changes)
    return base


def apply(d: Json, op: Json, at: str = "t1") -> tuple[Json, list[str]]:
    new, problems = apply_chat_op(d, op, PRODUCTS, staff="binh", at=at)
    return new, [p.code for p in problems]


def ok(d: Json, *ops: Json) -> Json:
    for op in ops:
        before = copy.deepcopy(d)
        d, problems = apply(d, op)
        assert problems == [], problems
        assert before != d
    return d


def test_a_new_chat_draft() -> None:
    d = draft()
    assert d["status"] == "open" and d["n"] == 1 and d["lines"] == [] and d["total"] == 0
    assert d["customer"] == {"platform": "facebook", "user_id": "u1", "name": "Lan",
                             "phone": "0912345678"}  # fmt: skip
    assert d["contact"] == {"name": "Lan", "phone": "0912345678", "address": None,
                            "ward": None, "province": None, "note": None}  # fmt: skip
    assert d["staff"] == "an" and d["created_at"] == d["updated_at"] == "t0"
    assert d["website"] is None
    assert order_id_of("conv1", 3) == "conv1-3"


def test_add_line_from_the_catalogue() -> None:
    d = ok(draft(), {"op": "add_line", "code": "a12", "attributes": {"SIZE": "m"}, "qty": 2})
    assert d["lines"] == [{
        "code": "A12", "name": "Áo thun", "attributes": {"size": "M"}, "qty": 2, "reserved": 2,
        "waitlist": None, "status": "needs_variant", "unit_price": 159000, "comment_ids": [],
    }]  # fmt: skip
    assert d["total"] == 318000 and d["updated_at"] == "t1"


def test_equal_lines_merge_and_others_do_not() -> None:
    d = ok(
        draft(),
        {"type": "add_line", "code": "A12", "attributes": {"color": "ĐỎ", "size": "S"}},
        {"type": "add_line", "code": "A12", "attributes": {"size": "s", "color": "đỏ"}, "qty": 2},
        {"type": "add_line", "code": "A12", "attributes": {"size": "M", "color": "đỏ"}},
        {"type": "add_line", "code": "MP10", "qty": 1},
    )  # fmt: skip
    assert [(ln["code"], ln["attributes"], ln["qty"], ln["status"]) for ln in d["lines"]] == [
        ("A12", {"size": "S", "color": "đỏ"}, 3, "matched"),
        ("A12", {"size": "M", "color": "đỏ"}, 1, "matched"),
        ("MP10", {}, 1, "matched"),
    ]
    assert d["lines"][0]["reserved"] == 3  # chat orders hold no stock: reserved is qty
    assert d["total"] == 4 * 159000 + 120000


def test_unknown_products_and_attributes_are_refused_with_every_reason() -> None:
    d = draft()
    same, problems = apply(d, {"op": "add_line", "code": "ZZ1", "qty": 1})
    assert problems == ["unknown_product"] and same is d
    _, problems = apply(d, {"op": "add_line", "code": "A12",
                            "attributes": {"fabric": "cotton", "size": "XXL"}})  # fmt: skip
    assert problems == ["unknown_attribute", "unknown_attribute_value"]


def test_add_custom_line() -> None:
    d = ok(draft(), {"op": "add_custom_line", "name": "Túi quà", "price": 20000, "qty": 2},
           {"op": "add_custom_line", "name": "Túi quà", "price": 20000, "qty": 1})  # fmt: skip
    assert [(ln["code"], ln["status"], ln["qty"]) for ln in d["lines"]] == [
        (None, "custom", 2),
        (None, "custom", 1),
    ]
    assert d["total"] == 60000


def test_set_quantity_and_remove_line() -> None:
    d = ok(draft(), {"op": "add_line", "code": "MP10"}, {"op": "add_custom_line", "name": "X",
                                                         "price": 5, "qty": 1})  # fmt: skip
    d = ok(d, {"op": "set_quantity", "line": 1, "qty": 4})
    assert (d["lines"][0]["qty"], d["lines"][0]["reserved"], d["total"]) == (4, 4, 480005)
    d = ok(d, {"op": "remove_line", "line": 1})
    assert [ln["name"] for ln in d["lines"]] == ["X"]
    assert [ln["name"] for ln in d["history"]] == ["Son kem"]
    assert d["total"] == 5
    for op in ({"op": "set_quantity", "line": 2, "qty": 1}, {"op": "remove_line", "line": 0}):
        assert apply(d, op)[1] == ["line_not_found"]


def test_choose_variant() -> None:
    d = ok(draft(), {"op": "add_line", "code": "A12", "attributes": {"size": "M"}})
    d = ok(d, {"op": "choose_variant", "line": 1, "attributes": {"color": "Đen"}})
    assert d["lines"][0]["attributes"] == {"size": "M", "color": "đen"}
    assert d["lines"][0]["status"] == "matched"
    assert apply(d, {"op": "choose_variant", "line": 1, "attributes": {"size": "S"}})[1] == [
        "not_needs_variant_line"
    ]
    d = ok(d, {"op": "add_line", "code": "A12", "attributes": {"color": "đen"}, "qty": 2})
    _, problems = apply(d, {"op": "choose_variant", "line": 2, "attributes": {"size": "L"}})
    assert problems == ["unknown_attribute_value"]
    d = ok(d, {"op": "choose_variant", "line": 2, "attributes": {"size": "m"}})
    assert [(ln["attributes"], ln["qty"]) for ln in d["lines"]] == [
        ({"size": "M", "color": "đen"}, 3)
    ]  # merged into the equal line


def test_custom_and_catalogue_lines_have_no_product_to_re_pick() -> None:
    d = ok(draft(), {"op": "add_custom_line", "name": "X", "price": 1, "qty": 1},
           {"op": "add_line", "code": "MP10"})  # fmt: skip
    assert apply(d, {"op": "choose_variant", "line": 1, "attributes": {}})[1] == ["custom_line"]
    assert apply(d, {"op": "pick_product", "line": 2, "code": "A12"})[1] == [
        "not_unknown_code_line"
    ]


def test_set_customer_changes_only_what_is_given() -> None:
    d = ok(draft(), {"op": "set_customer", "contact": {"address": "12 Lê Lợi",
                                                       "province": "Hà Nội"}})  # fmt: skip
    d = ok(d, {"op": "set_customer", "phone": "0987654321", "note": None})
    assert d["contact"] == {"name": "Lan", "phone": "0987654321", "address": "12 Lê Lợi",
                            "ward": None, "province": "Hà Nội", "note": None}  # fmt: skip
    assert d["customer"]["phone"] == "0912345678"  # who the chat is with stays


def test_assign() -> None:
    assert ok(draft(), {"op": "assign", "assignee": "chi"})["staff"] == "chi"


def test_finalise_save_keeps_it_open_and_cancel_discards() -> None:
    saved = ok(draft(), {"op": "finalise", "action": "save"})
    assert saved["status"] == "open" and saved["action"] == "save"
    cancelled = ok(saved, {"op": "finalise", "action": "cancel"})
    assert cancelled["status"] == "discarded" and cancelled["order_id"] is None
    assert apply(cancelled, {"op": "assign", "assignee": "x"})[1] == ["draft_not_open"]
    gone = discard_chat(draft(), "t9")
    assert gone["status"] == "discarded" and gone["updated_at"] == "t9"


@pytest.mark.parametrize("action", ["create", "deliver_now", "send_to_store"])
def test_finalise_makes_the_order_conversation_n(action: str) -> None:
    d = ok(draft(n=2), {"op": "add_line", "code": "MP10", "qty": 2},
           {"op": "add_custom_line", "name": "Túi quà", "price": 20000, "qty": 1},
           {"op": "set_customer", "contact": CONTACT})  # fmt: skip
    final, problems = apply(d, {"op": "finalise", "action": action}, at="t5")
    assert problems == []
    assert final["status"] == "finalised" and final["order_id"] == "conv1-2"
    assert (final["finalised_at"], final["finalised_by"], final["action"]) == ("t5", "binh", action)
    order = chat_order(final, status="new", command_id="c9")
    assert order["order_id"] == "conv1-2" and order["seq"] == 2
    assert order["source"] == {"platform": "facebook", "page_id": "P1", "livestream_id": None,
                               "conversation_id": "conv1", "website": None}  # fmt: skip
    assert order["tags"] == []
    assert order["customer"] == {"customer_id": None, "platform": "facebook", "user_id": "u1",
                                 **CONTACT}  # fmt: skip
    assert [(ln["code"], ln["custom"], ln["amount"]) for ln in order["lines"]] == [
        ("MP10", False, 240000),
        (None, True, 20000),
    ]
    assert order["total"] == 260000 and order["action"] == action
    assert order["staff"] == {"assigned": "an", "finalised_by": "binh"}
    assert order["created_at"] == "t0" and order["finalised_at"] == "t5"
    assert apply(final, {"op": "finalise", "action": "create"})[1] == ["draft_not_open"]


def test_a_chat_from_a_website_widget_keeps_the_site_in_the_orders_source() -> None:
    base = new_chat_draft(
        shop_id="shop1", conversation_id="web7", n=1, mode="new_sale", platform="website",
        page_id=None, user_id="visitor-9", name="Lan", phone="0912345678", staff="an", at="t0",
        website="https://shop.example.vn",
    )  # fmt: skip
    assert base["website"] == "https://shop.example.vn"
    d = ok(base, {"op": "add_line", "code": "MP10"}, {"op": "set_customer", "contact": CONTACT})
    final, _ = apply(d, {"op": "finalise", "action": "create"})
    order = chat_order(final, status="new", command_id="c1")
    assert order["source"] == {"platform": "website", "page_id": None, "livestream_id": None,
                               "conversation_id": "web7",
                               "website": "https://shop.example.vn"}  # fmt: skip


def test_only_a_finalised_draft_becomes_an_order() -> None:
    with pytest.raises(ValueError):
        chat_order(draft(), status="new", command_id="c")


def test_operations_never_change_their_input() -> None:
    d = ok(draft(), {"op": "add_line", "code": "A12", "attributes": {"size": "M"}})
    before = copy.deepcopy(d)
    for op in ({"op": "add_line", "code": "A12", "attributes": {"size": "M"}},
               {"op": "choose_variant", "line": 1, "attributes": {"color": "đỏ"}},
               {"op": "remove_line", "line": 1}, {"op": "set_quantity", "line": 1, "qty": 9},
               {"op": "finalise", "action": "create"}):  # fmt: skip
        apply(d, op)
        assert d == before


def test_an_unknown_operation_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        apply(draft(), {"op": "teleport"})
    with pytest.raises(ValueError):
        apply(draft(), {"code": "A12"})
    with pytest.raises(ValueError):
        apply(draft(), {"op": "finalise", "action": "later"})
