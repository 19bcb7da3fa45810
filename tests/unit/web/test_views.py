"""What the board and the lists show: filters, search without diacritics, pages, versions."""

from __future__ import annotations

from typing import Any

from orders.model import draft_version
from web.views import board_draft, folded, needs_attention, page, select_customers, select_drafts


def draft(seq: int, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "seq": seq, "status": "open", "staff": None, "contact": None,
        "customer": {"platform": "facebook", "user_id": f"u{seq}", "name": f"Khách {seq}",
                     "phone": None},
        "lines": [{"code": "A12", "status": "matched", "attributes": {}, "qty": 1}],
    }  # fmt: skip
    base.update(fields)
    return base


DRAFTS = [
    draft(1, customer={"platform": "facebook", "user_id": "u1", "name": "Lân Đỗ",
                       "phone": "0912345678"}),
    draft(2, lines=[{"code": "Z9", "status": "unknown_code"}], staff="minh"),
    draft(3, status="cancelled", lines=[{"code": "Z9", "status": "unknown_code"}]),
    draft(4, lines=[{"code": "A12", "status": "needs_variant"}], contact={"name": "Hoa",
                                                                         "phone": "0987"}),
]  # fmt: skip


def seqs(drafts: list[dict[str, Any]]) -> list[int]:
    return [d["seq"] for d in drafts]


def test_search_ignores_case_and_diacritics() -> None:
    assert folded("Lân ĐỖ") == "lan do"
    assert seqs(select_drafts(DRAFTS, q="lan do")) == [1]
    assert seqs(select_drafts(DRAFTS, q="0912 ")) == [1]
    assert seqs(select_drafts(DRAFTS, q="hoa")) == [4]  # the name staff set counts too


def test_the_seeds_filters_and_what_needs_attention() -> None:
    assert seqs(select_drafts(DRAFTS, staff="minh")) == [2]
    assert seqs(select_drafts(DRAFTS, status="cancelled")) == [3]
    assert seqs(select_drafts(DRAFTS, seq=4)) == [4]
    # a cancelled draft needs nothing, whatever its lines
    assert seqs(select_drafts(DRAFTS, attention=True)) == [2, 4]
    assert not needs_attention(DRAFTS[0]) and needs_attention(DRAFTS[1])


def test_pages_and_the_cursor_of_the_next() -> None:
    assert page(list(range(5)), 0, 2) == ([0, 1], 2)
    assert page(list(range(5)), 4, 2) == ([4], None)
    assert page([], 0, 10) == ([], None)


def test_a_board_draft_has_its_version_and_warnings() -> None:
    flags = {"phone:0912345678": {"returned": 2, "blacklisted": True}}
    shown = board_draft(DRAFTS[0], flags)
    assert shown["version"] == draft_version(DRAFTS[0])
    assert [w["code"] for w in shown["warnings"]] == ["returned_orders", "blacklisted"]
    assert board_draft(DRAFTS[1], flags)["warnings"] == []


def test_customers_by_name_phone_or_flag() -> None:
    customers = [
        {"customer_id": "C-1", "name": "Mai Anh", "phones": ["0933333333"], "blacklisted": True},
        {"customer_id": "C-2", "name": "Bình", "phones": [], "blacklisted": False},
    ]
    assert [c["customer_id"] for c in select_customers(customers, "binh")] == ["C-2"]
    assert [c["customer_id"] for c in select_customers(customers, "0933")] == ["C-1"]
    assert [c["customer_id"] for c in select_customers(customers, None, True)] == ["C-1"]
