"""What the dashboard and the API show, pure: filters, pages, and the board's view of a draft.

No I/O here: routes read from the stores, these decide what of it to show and how.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from orders.model import draft_version
from orders.shop.customers import draft_warnings

Json = dict[str, Any]
T = TypeVar("T")
ATTENTION_STATUSES = frozenset({"unknown_code", "needs_variant"})


def folded(text: str) -> str:
    """Lower case without diacritics, so `lan` finds `Lân` and `0912` finds `0912 345 678`."""
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"
    )
    return stripped.replace("đ", "d").replace("Đ", "D").casefold()


def needs_attention(draft: Json) -> bool:
    """An open draft staff must fix before it can be finalised: a line with a code the
    livestream does not sell, or without its variant."""
    return draft.get("status") == "open" and any(
        line.get("status") in ATTENTION_STATUSES for line in draft.get("lines", [])
    )


def _draft_text(draft: Json) -> str:
    customer = draft.get("customer") or {}
    contact = draft.get("contact") or {}
    parts = [customer.get("name"), customer.get("phone"), customer.get("user_id"),
             contact.get("name"), contact.get("phone"), str(draft.get("seq"))]  # fmt: skip
    return folded(" ".join(p for p in parts if p))


def select_drafts(
    drafts: Sequence[Json],
    *,
    staff: str | None = None,
    seq: int | None = None,
    status: str | None = None,
    attention: bool = False,
    q: str | None = None,
) -> list[Json]:
    """The seeds' filters (staff, number, status), what needs fixing, and a search by name
    or phone."""
    needle = folded(q.strip()) if q and q.strip() else None
    return [
        draft
        for draft in drafts
        if (seq is None or draft["seq"] == seq)
        and (staff is None or draft.get("staff") == staff)
        and (status is None or draft["status"] == status)
        and (not attention or needs_attention(draft))
        and (needle is None or needle in _draft_text(draft))
    ]


def board_draft(draft: Json, flags: Mapping[str, Json]) -> Json:
    """A draft as the board shows it: its version (the ETag commands send back) and the
    customer's warnings (bom hàng, blacklist), as draft events carry them."""
    return {**draft, "version": draft_version(draft), "warnings": draft_warnings(draft, flags)}


def commenters(drafts: Sequence[Json]) -> tuple[list[str], list[str]]:
    """The index fields to read the flags of these drafts' customers with (one HMGET)."""
    users = sorted({f"{d['customer']['platform']}:{d['customer']['user_id']}" for d in drafts})
    phones = sorted({d["customer"]["phone"] for d in drafts if d["customer"].get("phone")})
    return users, phones


def page(items: Sequence[T], cursor: int, limit: int) -> tuple[list[T], int | None]:
    """One page of a list and the cursor of the next (None: this was the last)."""
    chosen = list(items[cursor : cursor + limit])
    after = cursor + len(chosen)
    return chosen, (after if after < len(items) else None)


def paged(items: Sequence[Any], cursor: int, limit: int, **extra: Any) -> Json:
    chosen, next_cursor = page(items, cursor, limit)
    return {"items": chosen, "total": len(items), "next_cursor": next_cursor, **extra}


def select_orders(orders: Sequence[Json], q: str | None) -> list[Json]:
    if not q or not q.strip():
        return list(orders)
    needle = folded(q.strip())
    return [order for order in orders if needle in _order_text(order)]


def _order_text(order: Json) -> str:
    customer = order.get("customer") or {}
    parts = [order.get("order_id"), customer.get("name"), customer.get("phone"),
             customer.get("province")]  # fmt: skip
    return folded(" ".join(str(p) for p in parts if p))


def select_customers(
    customers: Sequence[Json], q: str | None, blacklisted: bool | None = None
) -> list[Json]:
    needle = folded(q.strip()) if q and q.strip() else None
    out = []
    for customer in customers:
        if blacklisted is not None and bool(customer.get("blacklisted")) != blacklisted:
            continue
        text = folded(" ".join([customer.get("name") or "", *customer.get("phones", []),
                                customer.get("customer_id", "")]))  # fmt: skip
        if needle is None or needle in text:
            out.append(customer)
    return out
