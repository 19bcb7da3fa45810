"""Finalising: every reason a draft cannot become an order, at once; the contact an order uses."""

from __future__ import annotations

from typing import Any

from config.shop import Product
from orders.checks.finalise import effective_contact, finalise_problems

CONTACT = {
    "name": "Nguyễn Thị Lan",
    "phone": "0912345678",
    "address": "12 Lê Lợi",
    "ward": "Phường Bến Thành",
    "province": "Thành phố Hồ Chí Minh",
    "note": None,
}


def line(code: str = "A12", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": code, "name": "Áo thun", "attributes": {"size": "M", "color": "đỏ"}, "qty": 2,
        "reserved": 2, "waitlist": None, "status": "matched", "unit_price": 159000,
        "comment_ids": ["c1"],
    }  # fmt: skip
    base.update(overrides)
    return base


def draft(**overrides: Any) -> dict[str, Any]:
    lines = overrides.pop("lines", [line()])
    base: dict[str, Any] = {
        "shop_id": "shop-demo", "livestream_id": "live-1", "seq": 3, "status": "open",
        "customer": {"platform": "facebook", "user_id": "u1", "name": "Lan Nguyễn",
                     "phone": None},
        "lines": lines, "history": [],
        "total": sum((item["unit_price"] or 0) * item["reserved"] for item in lines),
        "created_at": "2025-08-01T12:00:00Z", "updated_at": "2025-08-01T12:05:00Z",
        "contact": dict(CONTACT), "staff": None, "action": None, "order_id": None,
    }  # fmt: skip
    base.update(overrides)
    return base


def codes(problems: list[Any]) -> list[tuple[str, str | None]]:
    return [(p.code, p.field) for p in problems]


def test_a_complete_draft_has_no_problem() -> None:
    assert finalise_problems(draft()) == []


def test_an_empty_draft_lists_everything_at_once() -> None:
    empty = draft(customer={"platform": "facebook", "user_id": "u1", "name": None, "phone": None},
                  contact=None, lines=[], total=0)  # fmt: skip
    assert codes(finalise_problems(empty)) == [
        ("missing_name", "name"),
        ("missing_phone", "phone"),
        ("missing_address", "address"),
        ("missing_province", "province"),
        ("no_lines", "lines"),
    ]


def test_a_draft_without_contact_key() -> None:
    old = draft()
    del old["contact"]
    old["customer"]["phone"] = "0912345678"
    assert codes(finalise_problems(old)) == [
        ("missing_address", "address"),
        ("missing_province", "province"),
    ]


def test_name_and_phone_come_from_the_comments_when_staff_set_none() -> None:
    d = draft(contact={**CONTACT, "name": None, "phone": None})
    d["customer"]["phone"] = "0987654321"
    assert finalise_problems(d) == []
    contact = effective_contact(d)
    assert contact["name"] == "Lan Nguyễn"
    assert contact["phone"] == "0987654321"


def test_staff_set_values_win() -> None:
    d = draft()
    d["customer"]["phone"] = "0987654321"
    contact = effective_contact(d)
    assert contact == CONTACT


def test_blank_values_are_missing() -> None:
    d = draft(contact={**CONTACT, "name": "  ", "address": "", "province": " "})
    d["customer"]["name"] = ""
    assert codes(finalise_problems(d)) == [
        ("missing_name", "name"),
        ("missing_address", "address"),
        ("missing_province", "province"),
    ]


def test_a_comment_phone_is_validated_too() -> None:
    """A number from a comment matched the parser's pattern; the order needs a real mobile."""
    d = draft(contact={**CONTACT, "phone": None})
    d["customer"]["phone"] = "0892345678"  # no carrier has 0892
    problems = finalise_problems(d)
    assert codes(problems) == [("invalid_phone", "phone")]
    assert "0892345678" in problems[0].vi


def test_an_invalid_staff_phone() -> None:
    problems = finalise_problems(draft(contact={**CONTACT, "phone": "02438123456"}))
    assert codes(problems) == [("invalid_phone", "phone")]


def test_an_unknown_province() -> None:
    problems = finalise_problems(draft(contact={**CONTACT, "province": "Hà Tiên"}))
    assert codes(problems) == [("unknown_province", "province")]
    assert "Hà Tiên" in problems[0].en


def test_an_old_province_is_fine_and_the_contact_uses_the_new_name() -> None:
    d = draft(contact={**CONTACT, "province": "Bình Dương", "phone": "+84 912 345 678"})
    assert finalise_problems(d) == []
    contact = effective_contact(d)
    assert contact["province"] == "Thành phố Hồ Chí Minh"
    assert contact["phone"] == "0912345678"


def test_effective_contact_keeps_what_it_cannot_fix() -> None:
    d = draft(contact={**CONTACT, "province": "Mars", "phone": "123", "note": " gọi trước\nnhé "})
    contact = effective_contact(d)
    assert contact["province"] == "Mars"
    assert contact["phone"] == "123"
    assert contact["note"] == "gọi trước\nnhé"
    assert list(contact) == ["name", "phone", "address", "ward", "province", "note"]


def test_unresolved_lines_each_with_its_position() -> None:
    lines = [
        line("A12"),
        line("Z99", name=None, unit_price=None, reserved=0, status="unknown_code",
             attributes={}),
        line("B3", name="Quần jean", attributes={}, status="needs_variant", unit_price=350000,
             qty=1, reserved=1),
        line("A12", attributes={"size": "L"}, status="needs_variant", qty=1, reserved=1),
    ]  # fmt: skip
    problems = finalise_problems(draft(lines=lines))
    assert codes(problems) == [
        ("unresolved_unknown_code", "lines.2"),
        ("unresolved_variant", "lines.3"),
        ("unresolved_variant", "lines.4"),
    ]
    assert "Z99" in problems[0].vi and "2" in problems[0].en
    # without the catalogue: the kind of thing missing, in each language
    assert problems[1].vi == "Dòng 3: hàng B3 chưa chọn phân loại"
    assert problems[1].en == "Line 3: product B3 needs a variant"


def test_with_the_catalogue_the_missing_attributes_are_named() -> None:
    products = [
        Product(code="A12", name="Áo", price=1, attributes={"size": ("S", "M", "L"),
                                                           "color": ("đỏ", "đen")}),
        Product(code="B3", name="Quần", price=1, attributes={"size": ("28", "29")}),
    ]  # fmt: skip
    lines = [
        line("B3", attributes={}, status="needs_variant"),
        line("a12", attributes={"size": "L"}, status="needs_variant"),
        line("C7", attributes={}, status="needs_variant"),  # gone from the catalogue
    ]
    problems = finalise_problems(draft(lines=lines), products)
    assert [p.en for p in problems] == [
        "Line 1: product B3 needs size",
        "Line 2: product a12 needs color",
        "Line 3: product C7 needs a variant",
    ]
    assert problems[0].vi == "Dòng 1: hàng B3 chưa chọn size"


def test_waitlisted_lines() -> None:
    lines = [
        line("A12", qty=3, reserved=1, waitlist=2),
        line("K2", qty=1, reserved=0, waitlist=1, status="needs_variant", attributes={}),
        line("X1", name="Túi thêm", status="custom", reserved=0),  # ad-hoc: no stock
        line("Z9", name=None, unit_price=None, reserved=0, status="unknown_code"),
    ]
    problems = finalise_problems(draft(lines=lines, total=500000))
    assert codes(problems) == [
        ("waitlisted_line", "lines.1"),
        ("unresolved_variant", "lines.2"),
        ("waitlisted_line", "lines.2"),
        ("unresolved_unknown_code", "lines.4"),
    ]
    assert problems[0].vi == "Dòng 1: hàng A12 mới giữ được 1/3, còn chờ hàng"


def test_zero_total() -> None:
    free = line("GIFT", unit_price=0)
    assert codes(finalise_problems(draft(lines=[free]))) == [("zero_total", "total")]


def test_zero_total_is_not_reported_without_lines() -> None:
    assert ("zero_total", "total") not in codes(finalise_problems(draft(lines=[], total=0)))


def test_total_is_computed_when_the_draft_has_none() -> None:
    d = draft()
    del d["total"]
    assert finalise_problems(d) == []
    d["lines"][0]["unit_price"] = 0
    assert codes(finalise_problems(d)) == [("zero_total", "total")]


def test_messages_are_filled_in_both_languages() -> None:
    empty = draft(contact=None, lines=[line("Z9", status="unknown_code", name=None,
                                            unit_price=None, reserved=0)], total=0)  # fmt: skip
    for problem in finalise_problems(empty):
        assert "{" not in problem.vi and "{" not in problem.en
        assert problem.vi and problem.en
