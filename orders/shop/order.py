"""Finished orders: the order JSON (v1) of `chotdon.orders`, built from a draft, and merging.

Pure Python, no I/O. The JSON shape is a contract with every system downstream (shipping, POS,
CRM, analytics); `order_from_draft` and `merge_orders` are the only places that build it:

    {"v": 1, "order_id", "shop_id",
     "source": {"platform", "page_id", "livestream_id", "conversation_id",
                "website"},  # website: the site whose chat widget the order came from, or null
     "seq",  # the livestream's STT, or the conversation's order number n
     "customer": {"customer_id", "platform", "user_id", "name", "phone", "address", "ward",
                  "province", "note"},
     "lines": [{"code", "name", "attributes", "qty", "unit_price", "amount", "custom",
                "from_order"}],
     "total", "staff": {"assigned", "finalised_by"},
     "action",  # create | deliver_now | send_to_store
     "status",  # a status key of the shop's workflow
     "merged_into", "merged_from", "created_at", "finalised_at", "updated_at",
     "tags": [str],  # staff's or automation's labels, each once, in the order given
     "history": [{"at", "from", "to", "staff", "command_id"}]}

Times: `created_at` is when the order's story began (the draft's `created_at`: the customer's
first order comment, or the start of the chat order; for a merged order the earliest of its
originals), `finalised_at` when it became an order (finalising, or merging), `updated_at` its
last change. Order events (`chotdon.order-events`) are built by `order_event`. Orders stored
before `tags` and `source.website` existed lack them: read them with `order_tags` and `.get`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Literal

from config.workflow import Workflow
from orders.commands import Reason
from orders.model import Json
from orders.reasons import reason
from orders.shop.workflow import history_entry

OrderAction = Literal["create", "deliver_now", "send_to_store"]
EventKind = Literal["created", "status_changed", "merged", "assigned", "tagged"]
CONTACT_KEYS = ("name", "phone", "address", "ward", "province", "note")
_REQUIRED_CONTACT = ("name", "phone", "address", "province")
SOURCE_KEYS = ("platform", "page_id", "livestream_id", "conversation_id", "website")


def order_id_of(livestream_or_conversation: str, n: int) -> str:
    """ARCHITECTURE.md: `<livestream>-<seq>`, `<conversation>-<n>` for chat orders."""
    return f"{livestream_or_conversation}-{n}"


def livestream_of_order(order_id: str) -> str | None:
    """The livestream a `<livestream>-<seq>` id names (a chat's or a merge's names one that
    does not exist, which the caller finds out)."""
    livestream_id, _, seq = order_id.rpartition("-")
    return livestream_id if livestream_id and seq.isdigit() else None


def order_line(line: Json) -> Json:
    """One draft line as an order line: amount = qty x unit_price; ad-hoc lines have no code."""
    if line.get("unit_price") is None or line.get("name") is None:
        raise ValueError(f"line {line.get('code')!r} has no product: an unresolved line "
                         "cannot become part of an order")  # fmt: skip
    custom = line.get("status") == "custom"
    qty = int(line["qty"])
    unit_price = int(line["unit_price"])
    return {
        "code": None if custom else line.get("code"),
        "name": line["name"],
        "attributes": dict(line.get("attributes") or {}),
        "qty": qty,
        "unit_price": unit_price,
        "amount": qty * unit_price,
        "custom": custom,
        "from_order": None,
    }


def order_from_draft(
    draft: Json,
    *,
    contact: Json,
    order_id: str,
    source: Json,
    action: OrderAction,
    status: str,
    staff: str,
    at: str,
    command_id: str,
) -> Json:
    """The order a finalised draft (livestream or chat) becomes.

    `contact` is the effective contact (name, phone, address, ward, province, note); `staff`
    finalised it; `draft["staff"]` is the assigned salesperson. The draft's `lines` (not its
    history) become the order's lines. Raises ValueError for what validation must have refused
    before (a line without product, a contact without name, phone, address or province).
    """
    missing = [key for key in _REQUIRED_CONTACT if not contact.get(key)]
    if missing:
        raise ValueError(f"the contact lacks {', '.join(missing)}: validate before finalising")
    person = draft.get("customer") or {}
    lines = [order_line(line) for line in draft.get("lines", [])]
    seq = draft["seq"] if draft.get("seq") is not None else draft["n"]
    return {
        "v": 1,
        "order_id": order_id,
        "shop_id": draft["shop_id"],
        "source": {key: source.get(key) for key in SOURCE_KEYS},
        "seq": int(seq),
        "customer": {
            "customer_id": None,
            "platform": person.get("platform") or source.get("platform"),
            "user_id": person.get("user_id"),
            **{key: contact.get(key) for key in CONTACT_KEYS},
        },
        "lines": lines,
        "total": sum(line["amount"] for line in lines),
        "staff": {"assigned": draft.get("staff"), "finalised_by": staff},
        "action": action,
        "status": status,
        "merged_into": None,
        "merged_from": [],
        "created_at": draft.get("created_at") or at,
        "finalised_at": at,
        "updated_at": at,
        "tags": [],
        "history": [history_entry(at, None, status, staff, command_id)],
    }


def order_tags(order: Json) -> list[str]:
    return [str(tag) for tag in order.get("tags") or []]


def assign_order(order: Json, assignee: str, at: str) -> Json:
    """The order assigned to `assignee` (a copy; `order` is untouched)."""
    changed = copy.deepcopy(order)
    changed["staff"]["assigned"] = assignee
    changed["updated_at"] = at
    return changed


def tag_order(order: Json, tag: str, at: str) -> Json | None:
    """The order with `tag` added (a copy), or None when it has the tag already."""
    tags = order_tags(order)
    if tag in tags:
        return None
    changed = copy.deepcopy(order)
    changed["tags"] = [*tags, tag]
    changed["updated_at"] = at
    return changed


def order_event(
    kind: EventKind,
    order: Json,
    *,
    from_: str | None,
    to: str,
    staff: str,
    at: str,
    command_id: str,
) -> Json:
    """One message of `chotdon.order-events`. `from` and `to` are statuses, but for "assigned"
    (the previous assignee, or null, and the new one) and "tagged" (null, and the tag)."""
    return {"v": 1, "kind": kind, "order_id": order["order_id"], "shop_id": order["shop_id"],
            "from": from_, "to": to, "staff": staff, "at": at,
            "command_id": command_id}  # fmt: skip


def created_event(order: Json, command_id: str) -> Json:
    """The "created" event of a new order (by whoever finalised it, when it was finalised)."""
    return order_event("created", order, from_=None, to=order["status"],
                       staff=order["staff"]["finalised_by"], at=order["finalised_at"],
                       command_id=command_id)  # fmt: skip


# -- merging (Livestream Pro's gộp đơn) --------------------------------------------------------


def _one_customer(orders: Sequence[Json]) -> bool:
    """The orders are one person's when they link up by customer id or phone (transitively)."""
    parent = list(range(len(orders)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[tuple[str, str], int] = {}
    for i, order in enumerate(orders):
        person = order.get("customer") or {}
        for kind in ("customer_id", "phone"):
            value = person.get(kind)
            if not value:
                continue
            j = owner.setdefault((kind, str(value)), i)
            parent[root(i)] = root(j)
    return len({root(i) for i in range(len(orders))}) == 1


def merge_problems(
    orders: Sequence[Json], workflow: Workflow, *, missing: Sequence[str] = ()
) -> list[Reason]:
    """Why these orders cannot merge (every reason), or [] when they can.

    `orders` are the orders found, in the command's order; `missing` the ids not found. They must
    be at least two distinct orders, none merged already, one customer's (linked by customer id
    or phone), in one status, and that status must still allow moves (an order cancelled or
    returned is closed: nothing ships it any more).
    """
    problems = [reason("order_not_found", "order_ids", order_id=oid) for oid in missing]
    seen: set[str] = set()
    for order in orders:
        oid = order["order_id"]
        if oid in seen:
            problems.append(reason("duplicate_order_id", "order_ids", order_id=oid))
        seen.add(oid)
    if len(seen) + len(set(missing)) < 2:
        problems.append(reason("merge_needs_two", "order_ids"))
    for order in orders:
        if order.get("merged_into"):
            problems.append(reason("already_merged", "order_ids", order_id=order["order_id"],
                                   merged_into=order["merged_into"]))  # fmt: skip
    if len(orders) >= 2 and not _one_customer(orders):
        problems.append(reason("different_customers", "order_ids"))
    statuses = {order["status"] for order in orders}
    if len(statuses) > 1:
        problems.append(reason("different_statuses", "order_ids"))
    elif statuses:
        (key,) = statuses
        status = workflow.status(key)
        if status is None or not status.to:
            problems.append(reason("closed_status", "order_ids",
                                   status_name=status.name if status else key))  # fmt: skip
    return problems


def merge_orders(
    orders: Sequence[Json], merged_id: str, staff: str, at: str, command_id: str
) -> tuple[Json, list[Json]]:
    """One order for one shipment from several (checked by `merge_problems` first).

    The merged order keeps every line, each with `from_order` naming the order it came from (a
    line already merged keeps its first source), sums the totals, takes the source, seq and
    action of the first order, the customer and assigned staff of the latest finalised, the
    common status, and every tag of the orders (each once, in order). The originals are kept,
    unchanged but for `merged_into`, `updated_at` and a history entry whose from and to are
    their (unchanged) status.
    """
    if len(orders) < 2:
        raise ValueError("merging needs at least two orders")
    first = orders[0]
    latest = max(enumerate(orders), key=lambda pair: (pair[1]["finalised_at"], pair[0]))[1]
    status = first["status"]
    lines = []
    for order in orders:
        for line in order["lines"]:
            merged_line = dict(line, attributes=dict(line["attributes"]))
            merged_line["from_order"] = line.get("from_order") or order["order_id"]
            lines.append(merged_line)
    merged: Json = {
        "v": 1,
        "order_id": merged_id,
        "shop_id": first["shop_id"],
        "source": {key: first["source"].get(key) for key in SOURCE_KEYS},
        "seq": first["seq"],
        "customer": dict(latest["customer"]),
        "lines": lines,
        "total": sum(int(order["total"]) for order in orders),
        "staff": {"assigned": latest["staff"]["assigned"], "finalised_by": staff},
        "action": first["action"],
        "status": status,
        "merged_into": None,
        "merged_from": [order["order_id"] for order in orders],
        "created_at": min(order["created_at"] for order in orders),
        "finalised_at": at,
        "updated_at": at,
        "tags": list(dict.fromkeys(tag for order in orders for tag in order_tags(order))),
        "history": [history_entry(at, None, status, staff, command_id)],
    }
    originals = []
    for order in orders:
        original = copy.deepcopy(order)
        original["merged_into"] = merged_id
        original["updated_at"] = at
        original["history"].append(history_entry(at, status, status, staff, command_id))
        originals.append(original)
    return merged, originals
