"""Printing: one page per order, Vietnamese letters embedded, labels the size of a label."""

from __future__ import annotations

import re

import pytest

from web.printing import address_lines, line_label, orders_pdf
from web.stats_chart import bar_chart


def order(order_id: str) -> dict[str, object]:
    return {
        "order_id": order_id, "finalised_at": "2026-12-03T10:00:00+00:00",
        "staff": {"finalised_by": "lan"}, "total": 477000,
        "customer": {"name": "Nguyễn Thị Lan", "phone": "0912345678", "address": "12 Lê Lợi",
                     "ward": "Phường Bến Thành", "province": "Thành phố Hồ Chí Minh",
                     "note": "gọi trước khi giao"},
        "lines": [{"code": "A12", "name": "Áo thun", "attributes": {"size": "M"}, "qty": 3,
                   "unit_price": 159000, "amount": 477000}],
    }  # fmt: skip


@pytest.mark.parametrize("kind", ["slip", "label"])
def test_a_batch_is_one_page_per_order(kind: str) -> None:
    pdf = orders_pdf([order("L1-1"), order("L1-2"), order("L1-3")], kind, "Thời trang Demo")  # type: ignore[list-item]
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 3
    assert b"FontFile2" in pdf  # the TrueType font is embedded: Vietnamese prints anywhere


def test_a_label_is_100_by_150_mm() -> None:
    pdf = orders_pdf([order("L1-1")], "label", "Shop")  # type: ignore[list-item]
    (box,) = set(re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", pdf))
    assert (round(float(box[0])), round(float(box[1]))) == (283, 425)  # points


def test_address_and_line_text() -> None:
    assert address_lines({"address": "1 A", "ward": None, "province": "Huế"}) == ["1 A, Huế"]
    assert address_lines({}) == []
    assert line_label({"code": None, "name": "Quà", "attributes": {}}) == "Quà"


def test_a_chart_escapes_labels_and_keeps_colours_safe() -> None:
    svg = bar_chart([("<b>x</b>", 100, "red;x", 200), ("Đã giao", 50, "#43a047", 50)])
    assert "&lt;b&gt;" in svg and "<b>" not in svg
    assert 'fill="#9e9e9e"' in svg and 'fill="#43a047"' in svg
    assert bar_chart([]) == '<p class="muted">—</p>'
