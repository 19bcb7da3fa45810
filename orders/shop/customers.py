"""A shop's customers: one record per person, linked from their orders. Pure Python, no I/O.

    {"customer_id": "C-<n>", "shop_id", "name", "phones": [...],
     "platform_ids": ["<platform>:<user_id>", ...], "orders": [order ids], "returned": int,
     "blacklisted": bool, "blacklist_reason": str | None, "owner": str | None,
     "created_at", "updated_at"}

`owner` is the staff member in charge of the customer (người phụ trách, seed 004), or null.
Records stored before it existed lack it: read it with `owner_of`.

A person is found through an *index* of fields: `"<platform>:<user_id>"` for a platform account
and `"phone:<phone>"` for a phone number, each naming the customer id that owns it. An order's
customer is looked up by their platform account first, then by phone; without a match a new
record is created (on the customer's first order). A found customer gains any new phone or
platform account of the order. A field, once owned, keeps its owner: when a known account turns
up with a phone another customer owns, the phone joins this customer's `phones` but the index
still leads to the first owner (nothing already linked is silently re-attributed).

`returned` counts the customer's orders that sit in a status with `returned = true` (merged
originals excluded: their merged order counts). The *flags* of a customer,
{"returned": n, "blacklisted": bool}, are kept per owned index field so the comment path learns
them for a whole batch of commenters with one HMGET.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from orders.commands import aware_instant
from orders.model import Json

PHONE_PREFIX = "phone:"


def platform_field(platform: str, user_id: str) -> str:
    return f"{platform}:{user_id}"


def commenter_field(customer: Mapping[str, object]) -> str:
    """The index field of a draft's customer (`draft["customer"]`)."""
    return platform_field(str(customer["platform"]), str(customer["user_id"]))


def draft_warnings(draft: Json, flags: Mapping[str, Json]) -> list[Json]:
    """Warnings shown on a draft (bom hàng): the customer returned orders before, or is on
    the shop's blacklist. Their comments still make drafts: flagged, never dropped. `flags`
    are the shop's flags by index field (`ShopStore.customer_flags`)."""
    customer = draft["customer"]
    found = [flags.get(commenter_field(customer))]
    if customer.get("phone"):
        found.append(flags.get(phone_field(customer["phone"])))
    returned = max((f.get("returned", 0) for f in found if f), default=0)
    blacklisted = any(f.get("blacklisted") for f in found if f)
    warnings: list[Json] = []
    if returned:
        warnings.append({"code": "returned_orders", "count": returned,
                         "vi": f"Khách đã trả lại {returned} đơn (bom hàng)",
                         "en": f"The customer returned {returned} orders before"})  # fmt: skip
    if blacklisted:
        warnings.append({"code": "blacklisted", "vi": "Khách trong danh sách đen",
                         "en": "The customer is on the shop's blacklist"})  # fmt: skip
    return warnings


def phone_field(phone: str) -> str:
    return PHONE_PREFIX + phone


def lookup_fields(person: Json) -> list[str]:
    """The index fields that find a person ({platform, user_id, phone}), best first."""
    fields = []
    if person.get("platform") and person.get("user_id"):
        fields.append(platform_field(str(person["platform"]), str(person["user_id"])))
    if person.get("phone"):
        fields.append(phone_field(str(person["phone"])))
    return fields


def find_customer(person: Json, index: Mapping[str, str | None]) -> str | None:
    """The customer id of a person: by platform account first, then by phone."""
    for field in lookup_fields(person):
        owner = index.get(field)
        if owner:
            return owner
    return None


def customer_fields(customer: Json) -> list[str]:
    """Every index field of a customer (owned or not)."""
    return list(customer["platform_ids"]) + [phone_field(p) for p in customer["phones"]]


def new_customer(customer_id: str, shop_id: str, at: str) -> Json:
    return {
        "customer_id": customer_id,
        "shop_id": shop_id,
        "name": None,
        "phones": [],
        "platform_ids": [],
        "orders": [],
        "returned": 0,
        "blacklisted": False,
        "blacklist_reason": None,
        "owner": None,
        "created_at": at,
        "updated_at": at,
    }


def link_person(customer: Json, person: Json, at: str) -> Json:
    """The customer with the person's new phone, platform account and (non-empty) name."""
    linked = copy.deepcopy(customer)
    if person.get("platform") and person.get("user_id"):
        account = platform_field(str(person["platform"]), str(person["user_id"]))
        if account not in linked["platform_ids"]:
            linked["platform_ids"].append(account)
    phone = person.get("phone")
    if phone and phone not in linked["phones"]:
        linked["phones"].append(phone)
    if person.get("name"):
        linked["name"] = person["name"]
    linked["updated_at"] = at
    return linked


@dataclass(frozen=True, slots=True)
class Linked:
    """What linking an order to its customer gives."""

    customer: Json  # the record, with the order
    order: Json  # the order, with customer.customer_id
    created: bool  # a new record
    index: dict[str, str]  # index fields this record now owns that had no owner


def link_order(
    order: Json,
    *,
    index: Mapping[str, str | None],
    customers: Mapping[str, Json],
    new_id: str,
    at: str,
) -> Linked:
    """Link an order to its customer (found through `index`, or a new record `new_id`).

    An order that already names its customer (a merged order) stays with that record when it is
    in `customers`. `index` holds at least the owners of `lookup_fields(order["customer"])`,
    `customers` at least the record found. The order is not counted into `returned` here:
    `returned_count` recomputes it from the statuses.
    """
    person = order["customer"]
    known = person.get("customer_id")
    found = known if known and known in customers else find_customer(person, index)
    created = found is None
    customer = new_customer(new_id, order["shop_id"], at) if found is None else customers[found]
    customer = link_person(customer, person, at)
    if order["order_id"] not in customer["orders"]:
        customer["orders"].append(order["order_id"])
    linked_order = copy.deepcopy(order)
    linked_order["customer"]["customer_id"] = customer["customer_id"]
    owned = {field: customer["customer_id"] for field in customer_fields(customer)
             if not index.get(field)}  # fmt: skip
    return Linked(customer, linked_order, created, owned)


def returned_count(
    order_ids: Iterable[str], statuses: Mapping[str, str | None], returned: frozenset[str]
) -> int:
    """How many of these orders sit in a returned status. `statuses` maps the ids of orders
    that count (not merged into another) to their status; an absent id counts nothing."""
    return sum(1 for oid in set(order_ids) if statuses.get(oid) in returned)


def flags(customer: Json) -> Json:
    """What the comment path learns of a commenter."""
    return {"returned": int(customer["returned"]), "blacklisted": bool(customer["blacklisted"])}


def owned_fields(customer: Json, index: Mapping[str, str | None]) -> list[str]:
    """The customer's fields whose index entry leads to it: the flags fields it keeps."""
    cid = customer["customer_id"]
    return [field for field in customer_fields(customer) if index.get(field) == cid]


def set_blacklist(customer: Json, blacklisted: bool, why: str | None, at: str) -> Json:
    changed = copy.deepcopy(customer)
    changed["blacklisted"] = blacklisted
    changed["blacklist_reason"] = why if blacklisted else None
    changed["updated_at"] = at
    return changed


def owner_of(customer: Json) -> str | None:
    owner = customer.get("owner")
    return None if owner is None else str(owner)


def set_owner(customer: Json, owner: str, at: str) -> Json:
    changed = copy.deepcopy(customer)
    changed["owner"] = owner
    changed["updated_at"] = at
    return changed


def owner_event(
    customer: Json,
    *,
    previous: str | None,
    order_id: str | None,
    staff: str,
    at: str,
    command_id: str,
) -> Json:
    """The "owner_assigned" message of `chotdon.order-events` (`order_id`: the order whose rule
    assigned the owner, or null; `from`: the previous owner, or null)."""
    return {"v": 1, "kind": "owner_assigned", "order_id": order_id,
            "shop_id": customer["shop_id"], "customer_id": customer["customer_id"],
            "from": previous, "owner": customer.get("owner"), "staff": staff, "at": at,
            "command_id": command_id}  # fmt: skip


# -- messaging state: what the shop may still send a person (Facebook's windows) --------------

REPLIED_KEPT = 500  # the comment ids privately replied to that a person's state keeps


def empty_inbox() -> Json:
    """{"last_inbound_at": when the person last wrote to the shop (ISO, or null),
    "conversation_id": their conversation (or null), "replied": [comment ids privately replied
    to, the latest REPLIED_KEPT]}"""
    return {"last_inbound_at": None, "conversation_id": None, "replied": []}


def note_inbound(state: Json | None, at: str, conversation_id: str | None) -> Json:
    """The state after the person wrote at `at` (ISO with offset): the latest time is kept, so
    a message delivered late or twice changes nothing; the conversation of the latest
    message is kept (an earlier one only fills a missing conversation)."""
    new = empty_inbox() | copy.deepcopy(state or {})
    moment = aware_instant(at)
    if moment is None:
        raise ValueError(f"{at!r} is not an ISO 8601 time with its offset")
    stored = new["last_inbound_at"]
    last = aware_instant(stored) if isinstance(stored, str) else None
    if last is None or moment >= last:
        new["last_inbound_at"] = at
        new["conversation_id"] = conversation_id or new["conversation_id"]
    elif new["conversation_id"] is None:
        new["conversation_id"] = conversation_id
    return new


def note_replied(state: Json | None, comment_id: str) -> Json:
    """The state after a private reply to `comment_id` (kept once, the latest REPLIED_KEPT)."""
    new = empty_inbox() | copy.deepcopy(state or {})
    replied = [c for c in new["replied"] if c != comment_id]
    new["replied"] = [*replied, comment_id][-REPLIED_KEPT:]
    return new


def customer_number(customer_id: str) -> int:
    """C-12 -> 12 (for sorting)."""
    _, _, number = customer_id.rpartition("-")
    return int(number) if number.isdigit() else 0


def sorted_customers(customers: Sequence[Json]) -> list[Json]:
    return sorted(customers, key=lambda c: (customer_number(c["customer_id"]), c["customer_id"]))
