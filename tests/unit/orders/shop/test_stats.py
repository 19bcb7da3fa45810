"""`chotdon stats`: figures by status, livestream, staff and Vietnamese day, over order JSON."""

from __future__ import annotations

from typing import Any

import pytest

from config.workflow import Status, Workflow
from orders.shop.stats import Bucket, StatusStats, order_stats


def order(
    order_id: str,
    total: int,
    status: str,
    *,
    live: str | None = "live-1",
    chat: str | None = None,
    assigned: str | None = None,
    finalised_by: str | None = "lan",
    finalised_at: str = "2025-08-01T03:00:00Z",
    merged_into: str | None = None,
    updated_at: str | None = None,
) -> dict[str, Any]:
    return {
        "v": 1, "order_id": order_id, "shop_id": "shop-demo",
        "source": {"platform": "facebook", "page_id": None, "livestream_id": live,
                   "conversation_id": chat},
        "seq": 1, "customer": {"name": "Lan"},
        "lines": [{"code": "A12", "name": "Áo", "attributes": {}, "qty": 1, "unit_price": total,
                   "amount": total, "custom": False, "from_order": None}],
        "total": total, "staff": {"assigned": assigned, "finalised_by": finalised_by},
        "action": "create", "status": status, "merged_into": merged_into, "merged_from": [],
        "created_at": "2025-08-01T01:00:00Z", "finalised_at": finalised_at,
        "updated_at": updated_at or finalised_at, "history": [],
    }  # fmt: skip


ORDERS = [
    # live-1, 1 Aug in Vietnam
    order("live-1-1", 100_000, "new", assigned="minh"),
    order("live-1-2", 200_000, "shipped"),
    order("live-1-3", 50_000, "cancelled"),
    # merged away into live-1-9: skipped (their lines are in the merged order)
    order("live-1-4", 70_000, "new", merged_into="live-1-9"),
    order("live-2-1", 30_000, "new", live="live-2", merged_into="live-1-9"),
    order("live-1-9", 100_000, "confirmed", finalised_by="minh",
          finalised_at="2025-08-01T16:59:59Z"),  # 23:59:59 in Vietnam: still 1 Aug
    # 23:30Z on 1 Aug is 06:30 on 2 Aug in Vietnam
    order("live-2-2", 400_000, "returned", live="live-2", finalised_at="2025-08-01T23:30:00Z"),
    order("live-2-3", 10_000, "new", live="live-2", finalised_at="2025-08-01T17:00:00Z"),
    # a chat order
    order("chat-c1-1", 80_000, "shipped", live=None, chat="c1", finalised_by="minh",
          finalised_at="2025-08-02T10:00:00+07:00"),
    # a status the shop has since removed
    order("live-2-4", 60_000, "packed", live="live-2", finalised_by=None,
          finalised_at="2025-07-31T16:00:00Z"),
]  # fmt: skip


def test_by_status() -> None:
    stats = order_stats(ORDERS, Workflow())
    assert stats.statuses == (
        StatusStats("new", "Vừa tạo", True, orders=2, total=110_000, revenue=110_000),
        StatusStats("confirmed", "Đã chốt", True, orders=1, total=100_000, revenue=100_000),
        StatusStats("shipped", "Đã giao", True, orders=2, total=280_000, revenue=280_000),
        StatusStats("returned", "Bị trả lại", False, orders=1, total=400_000, revenue=0),
        StatusStats("cancelled", "Đã hủy", False, orders=1, total=50_000, revenue=0),
        StatusStats("packed", "?", False, orders=1, total=60_000, revenue=0),
    )


def test_overall() -> None:
    stats = order_stats(ORDERS, Workflow())
    assert (stats.orders, stats.total, stats.revenue, stats.merged) == (
        8, 1_000_000, 490_000, 2
    )  # fmt: skip


def test_by_livestream() -> None:
    assert order_stats(ORDERS, Workflow()).by_livestream == (
        Bucket("chat", orders=1, total=80_000, revenue=80_000),
        Bucket("live-1", orders=4, total=450_000, revenue=400_000),
        Bucket("live-2", orders=3, total=470_000, revenue=10_000),
    )


def test_by_staff_assigned_first_then_who_finalised() -> None:
    assert order_stats(ORDERS, Workflow()).by_staff == (
        Bucket("?", orders=1, total=60_000, revenue=0),
        Bucket("lan", orders=4, total=660_000, revenue=210_000),
        Bucket("minh", orders=3, total=280_000, revenue=280_000),
    )


def test_by_vietnamese_day() -> None:
    assert order_stats(ORDERS, Workflow()).by_day == (
        Bucket("2025-07-31", orders=1, total=60_000, revenue=0),  # 16:00Z + 7h = 23:00
        Bucket("2025-08-01", orders=4, total=450_000, revenue=400_000),
        Bucket("2025-08-02", orders=3, total=490_000, revenue=90_000),
    )


def test_another_time_zone() -> None:
    days = order_stats(ORDERS, Workflow(), tz_offset_hours=0).by_day
    assert [(b.key, b.orders) for b in days] == [("2025-07-31", 1), ("2025-08-01", 6),
                                                 ("2025-08-02", 1)]  # fmt: skip


def test_the_shops_workflow_decides_revenue_and_names() -> None:
    workflow = Workflow(
        statuses=(
            Status(key="new", name="Mới", to=("shipped",)),  # no revenue until shipped
            Status(key="shipped", name="Đã giao", revenue=True),
        ),
        actions={"create": "new", "deliver_now": "shipped", "send_to_store": "new"},
    )
    stats = order_stats(ORDERS, workflow)
    assert [(s.key, s.name, s.orders, s.revenue) for s in stats.statuses] == [
        ("new", "Mới", 2, 0),
        ("shipped", "Đã giao", 2, 280_000),
        ("cancelled", "?", 1, 0),
        ("confirmed", "?", 1, 0),
        ("packed", "?", 1, 0),
        ("returned", "?", 1, 0),
    ]
    assert stats.revenue == 280_000


def test_an_order_given_twice_counts_once_as_its_latest_version() -> None:
    first = order("live-1-1", 100_000, "new", updated_at="2025-08-01T03:00:00Z")
    later = order("live-1-1", 100_000, "cancelled", updated_at="2025-08-01T05:00:00+00:00")
    for given in ([first, later], [later, first]):
        stats = order_stats(given, Workflow())
        assert stats.orders == 1
        assert [s.key for s in stats.statuses if s.orders] == ["cancelled"]
        assert stats.revenue == 0


def test_a_merge_seen_after_the_original_skips_it() -> None:
    before = order("live-1-4", 70_000, "new", updated_at="2025-08-01T03:00:00Z")
    merged = order("live-1-4", 70_000, "new", merged_into="live-1-9",
                   updated_at="2025-08-01T04:00:00Z")  # fmt: skip
    stats = order_stats([before, merged], Workflow())
    assert (stats.orders, stats.merged) == (0, 1)


def test_no_orders() -> None:
    stats = order_stats([], Workflow())
    assert (stats.orders, stats.total, stats.revenue, stats.merged) == (0, 0, 0, 0)
    assert [s.orders for s in stats.statuses] == [0, 0, 0, 0, 0]
    assert stats.by_livestream == stats.by_staff == stats.by_day == ()


@pytest.mark.parametrize("stamp", [None, "", "yesterday"])
def test_an_unreadable_time_is_day_unknown(stamp: str | None) -> None:
    odd = order("live-1-1", 5, "new")
    odd["finalised_at"] = stamp
    odd["created_at"] = None
    assert [b.key for b in order_stats([odd], Workflow()).by_day] == ["?"]


def test_created_at_stands_in_for_a_missing_finalised_at() -> None:
    odd = order("live-1-1", 5, "new")
    odd["finalised_at"] = None
    odd["created_at"] = "2025-08-01T18:00:00Z"
    assert [b.key for b in order_stats([odd], Workflow()).by_day] == ["2025-08-02"]


def test_to_json() -> None:
    data = order_stats(ORDERS[:2], Workflow()).to_json()
    assert data["statuses"][0] == {"key": "new", "name": "Vừa tạo", "counts_revenue": True,
                                   "orders": 1, "total": 100_000, "revenue": 100_000}  # fmt: skip
    assert data["by_livestream"] == [{"livestream": "live-1", "orders": 2, "total": 300_000,
                                      "revenue": 300_000}]  # fmt: skip
    assert data["by_staff"] == [
        {"staff": "lan", "orders": 1, "total": 200_000, "revenue": 200_000},
        {"staff": "minh", "orders": 1, "total": 100_000, "revenue": 100_000},
    ]
    assert data["by_day"] == [{"day": "2025-08-01", "orders": 2, "total": 300_000,
                               "revenue": 300_000}]  # fmt: skip
    assert {k: v for k, v in data.items() if not isinstance(v, list)} == {
        "orders": 2, "total": 300_000, "revenue": 300_000, "merged": 0
    }  # fmt: skip


def test_stats_are_frozen() -> None:
    stats = order_stats([], Workflow())
    with pytest.raises(AttributeError):
        stats.orders = 3  # type: ignore[misc]
