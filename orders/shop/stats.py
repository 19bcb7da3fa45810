"""Order counts, sales and revenue by status, livestream, staff and day (`chotdon stats`).

Pure: it reads order JSON (v1, orders/shop/order.py) and the shop's workflow. Seed 003: the
status of an order decides whether it counts as revenue; `total` (doanh số) counts every order,
`revenue` (doanh thu) only those whose status has `revenue = true`.

- An order merged into another (`merged_into` set) is skipped: its lines live on in the merged one.
- An order given twice (a topic read with redeliveries) counts once, as its latest version (the
  greatest `updated_at`; on a tie, the later one given).
- An order whose status the shop has since removed counts under its key, named "?", no revenue.
- Livestream: `source.livestream_id`, "chat" for conversation orders. Staff: `staff.assigned`,
  else `staff.finalised_by`. Day: the local date (UTC+`tz_offset_hours`) of `finalised_at`
  (`created_at` when it has none). Whatever is missing is "?".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from config.workflow import Workflow
from orders.model import Json

UNKNOWN = "?"
CHAT = "chat"


@dataclass(frozen=True, slots=True)
class StatusStats:
    key: str
    name: str  # "?" for a status no longer in the workflow
    counts_revenue: bool  # the status's revenue flag
    orders: int
    total: int
    revenue: int  # `total` when the status counts as revenue, else 0

    def to_json(self) -> Json:
        return {"key": self.key, "name": self.name, "counts_revenue": self.counts_revenue,
                "orders": self.orders, "total": self.total, "revenue": self.revenue}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str
    orders: int
    total: int
    revenue: int

    def to_json(self, label: str) -> Json:
        return {label: self.key, "orders": self.orders, "total": self.total,
                "revenue": self.revenue}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Stats:
    statuses: tuple[StatusStats, ...]  # the workflow's, in its order (zeros included), then gone
    by_livestream: tuple[Bucket, ...]  # sorted by key
    by_staff: tuple[Bucket, ...]  # sorted by key
    by_day: tuple[Bucket, ...]  # by date, "YYYY-MM-DD"
    orders: int
    total: int
    revenue: int
    merged: int  # orders skipped because they were merged into another

    def to_json(self) -> Json:
        return {
            "statuses": [row.to_json() for row in self.statuses],
            "by_livestream": [row.to_json("livestream") for row in self.by_livestream],
            "by_staff": [row.to_json("staff") for row in self.by_staff],
            "by_day": [row.to_json("day") for row in self.by_day],
            "orders": self.orders,
            "total": self.total,
            "revenue": self.revenue,
            "merged": self.merged,
        }


class _Tally:
    __slots__ = ("orders", "revenue", "total")

    def __init__(self) -> None:
        self.orders = 0
        self.total = 0
        self.revenue = 0

    def add(self, total: int, revenue: bool) -> None:
        self.orders += 1
        self.total += total
        self.revenue += total if revenue else 0


_NEVER = datetime.min.replace(tzinfo=UTC)


def _moment(stamp: Any) -> datetime:
    """An ISO 8601 time (UTC when it names no zone); a missing or unreadable one is the earliest."""
    if not isinstance(stamp, str):
        return _NEVER
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return _NEVER
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _local_day(stamp: Any, zone: timezone) -> str:
    moment = _moment(stamp)
    if moment == _NEVER:
        return UNKNOWN
    return moment.astimezone(zone).date().isoformat()


def _latest(orders: Iterable[Json]) -> tuple[list[Json], int]:
    """The latest version of each order, in first-seen order, and how many were merged away."""
    latest: dict[str, Json] = {}
    anonymous: list[Json] = []
    for order in orders:
        order_id = order.get("order_id")
        if not isinstance(order_id, str):
            anonymous.append(order)
            continue
        seen = latest.get(order_id)
        if seen is None or _moment(order.get("updated_at")) >= _moment(seen.get("updated_at")):
            latest[order_id] = order
    everything = [*latest.values(), *anonymous]
    live = [order for order in everything if not order.get("merged_into")]
    return live, len(everything) - len(live)


def _buckets(tallies: dict[str, _Tally]) -> tuple[Bucket, ...]:
    return tuple(Bucket(key, t.orders, t.total, t.revenue) for key, t in sorted(tallies.items()))


def order_stats(orders: Iterable[Json], workflow: Workflow, tz_offset_hours: int = 7) -> Stats:
    """The shop's figures over `orders` (order JSON v1), by the statuses of `workflow`."""
    zone = timezone(timedelta(hours=tz_offset_hours))
    statuses = {status.key: status for status in workflow.statuses}
    by_status: dict[str, _Tally] = {key: _Tally() for key in statuses}
    by_livestream: dict[str, _Tally] = {}
    by_staff: dict[str, _Tally] = {}
    by_day: dict[str, _Tally] = {}
    overall = _Tally()

    live, merged = _latest(orders)
    for order in live:
        key = str(order.get("status") or UNKNOWN)
        status = statuses.get(key)
        revenue = status is not None and status.revenue
        total = order.get("total")
        amount = total if isinstance(total, int) else 0
        source = order.get("source") or {}
        livestream = source.get("livestream_id") or (CHAT if source.get("conversation_id")
                                                     else UNKNOWN)  # fmt: skip
        staff = order.get("staff") or {}
        who = staff.get("assigned") or staff.get("finalised_by") or UNKNOWN
        day = _local_day(order.get("finalised_at") or order.get("created_at"), zone)
        for tallies, bucket in ((by_status, key), (by_livestream, str(livestream)),
                                (by_staff, str(who)), (by_day, day)):  # fmt: skip
            tallies.setdefault(bucket, _Tally()).add(amount, revenue)
        overall.add(amount, revenue)

    rows = []
    gone = sorted(key for key in by_status if key not in statuses)
    for key in [*statuses, *gone]:
        tally, status = by_status[key], statuses.get(key)
        counts = status is not None and status.revenue
        rows.append(StatusStats(key=key, name=status.name if status else UNKNOWN,
                                counts_revenue=counts, orders=tally.orders, total=tally.total,
                                revenue=tally.revenue))  # fmt: skip
    return Stats(
        statuses=tuple(rows),
        by_livestream=_buckets(by_livestream),
        by_staff=_buckets(by_staff),
        by_day=_buckets(by_day),
        orders=overall.orders,
        total=overall.total,
        revenue=overall.revenue,
        merged=merged,
    )
