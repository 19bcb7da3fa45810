"""Orders made inside a conversation (seed 000 "Lên đơn trong cuộc trò chuyện", seed 002 Harapage):
a salesperson starts a chat order, picks catalogue products or types ad-hoc ones, fills in the
customer and finalises it. Pure Python, no I/O; the store (orders/shop/store/) keeps the drafts.

A chat draft:

    {"shop_id", "conversation_id", "page_id", "n",  # the conversation's order number 1, 2, 3...
     "website",  # the site whose chat widget started the conversation, or null (seed 004)
     "mode": "new_sale" | "upsell", "status": "open" | "finalised" | "discarded",
     "customer": {"platform", "user_id", "name", "phone"},  # who the conversation is with
     "contact": {"name", "phone", "address", "ward", "province", "note"},  # where it ships
     "lines": [{"code", "name", "attributes", "qty", "reserved", "waitlist", "status",
                "unit_price", "comment_ids"}],  # the livestream draft's line shape
     "history": [removed lines], "total", "staff",  # the salesperson it belongs to
     "action", "order_id", "created_at", "updated_at", "finalised_at", "finalised_by"}

Chat orders hold no stock: a livestream's stock counts belong to that livestream's drafts, and a
salesperson in a chat sells from the shop's catalogue with no live reservation. So every line has
`reserved` = `qty` and `waitlist` null, and the shop's own systems (POS, warehouse) decide when
the order arrives. Line status is "matched", "needs_variant" (an attribute still to choose) or
"custom" (an ad-hoc product that exists only in this order: code null, never in the catalogue).

Operations are dicts named by "op" (or "type", as the command models dump them):
add_line {code, attributes, qty}, add_custom_line {name, price, qty}, set_quantity {line, qty},
remove_line {line}, choose_variant {line, attributes}, pick_product {line, ...} (always refused:
a chat line is never an unknown code), set_customer {contact: {...}} (or the contact fields at
the top level; a None value is "not given"), assign {assignee}, and finalise {action}: "save"
keeps the draft open, "cancel" discards it, and create / deliver_now / send_to_store finalise
it into the order "<conversation>-<n>" (`chat_order`).
"""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Mapping
from typing import Any, Literal, cast

from config.shop import Product
from orders.commands import Reason
from orders.events import CREATING_ACTIONS, FINALISE_ACTIONS
from orders.model import Json
from orders.reasons import reason
from orders.shop.order import CONTACT_KEYS, OrderAction, order_from_draft, order_id_of

ChatMode = Literal["new_sale", "upsell"]


def new_chat_draft(
    *,
    shop_id: str,
    conversation_id: str,
    n: int,
    mode: ChatMode,
    platform: str,
    page_id: str | None,
    user_id: str | None,
    name: str | None,
    phone: str | None,
    staff: str,
    at: str,
    website: str | None = None,
) -> Json:
    """A chat order just started: the new-sale screen keeps the customer's name and phone."""
    return {
        "shop_id": shop_id,
        "conversation_id": conversation_id,
        "page_id": page_id,
        "n": n,
        "website": website,
        "mode": mode,
        "status": "open",
        "customer": {"platform": platform, "user_id": user_id, "name": name, "phone": phone},
        "contact": {key: None for key in CONTACT_KEYS} | {"name": name, "phone": phone},
        "lines": [],
        "history": [],
        "total": 0,
        "staff": staff,
        "action": None,
        "order_id": None,
        "created_at": at,
        "updated_at": at,
        "finalised_at": None,
        "finalised_by": None,
    }


def op_name(op: Mapping[str, Any]) -> str:
    name = op.get("op") or op.get("type")
    if not isinstance(name, str):
        raise ValueError(f"an operation names itself with 'op': {op!r}")
    return name


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


def canonical_attributes(
    product: Product, given: Mapping[str, str]
) -> tuple[dict[str, str], list[Reason]]:
    """The attributes in the product's own spelling (matched without regard to case), in the
    product's order, or the reasons some attribute or value does not exist."""
    names = {_fold(name): name for name in product.attributes}
    chosen: dict[str, str] = {}
    problems: list[Reason] = []
    for name, value in given.items():
        attribute = names.get(_fold(name))
        if attribute is None:
            problems.append(reason("unknown_attribute", "attributes", code=product.code,
                                   attribute=name))  # fmt: skip
            continue
        spelling = next((v for v in product.attributes[attribute] if _fold(v) == _fold(value)),
                        None)  # fmt: skip
        if spelling is None:
            problems.append(reason("unknown_attribute_value", "attributes", code=product.code,
                                   attribute=attribute, value=value))  # fmt: skip
            continue
        chosen[attribute] = spelling
    ordered = {name: chosen[name] for name in product.attributes if name in chosen}
    return ordered, problems


def _status(product: Product, attributes: Mapping[str, str]) -> str:
    return "matched" if all(name in attributes for name in product.attributes) else "needs_variant"


def _line(
    code: str | None, name: str, attributes: dict[str, str], qty: int, status: str, price: int
) -> Json:
    return {"code": code, "name": name, "attributes": attributes, "qty": qty, "reserved": qty,
            "waitlist": None, "status": status, "unit_price": price,
            "comment_ids": []}  # fmt: skip


def _product(products: Mapping[str, Product], code: str) -> Product | None:
    return products.get(code) or products.get(code.upper())


def _same_line(a: Json, b: Json) -> bool:
    custom = a["status"] == "custom" or b["status"] == "custom"
    return not custom and a["code"] == b["code"] and bool(a["attributes"] == b["attributes"])


def draft_total(draft: Json) -> int:
    return sum(int(line["unit_price"]) * int(line["qty"]) for line in draft["lines"]
               if line.get("unit_price") is not None)  # fmt: skip


def _line_at(draft: Json, op: Mapping[str, Any]) -> tuple[int, list[Reason]]:
    position = op.get("line")
    if not isinstance(position, int) or not 1 <= position <= len(draft["lines"]):
        return -1, [reason("line_not_found", "line", line=position)]
    return position - 1, []


def apply_chat_op(
    draft: Json, op: Mapping[str, Any], products: Mapping[str, Product], *, staff: str, at: str
) -> tuple[Json, list[Reason]]:
    """The draft after one operation (a copy), or the draft unchanged and every reason why not.

    `products` is the shop's catalogue by code. A creating finalise marks the draft finalised
    with its order id; the store checks the draft before (`validate`) and builds the order with
    `chat_order`.
    """
    name = op_name(op)
    if draft["status"] != "open":
        return draft, [reason("draft_not_open", None, status=draft["status"])]
    new = copy.deepcopy(draft)
    lines: list[Json] = new["lines"]
    problems: list[Reason] = []
    if name == "add_line":
        code = str(op["code"])
        product = _product(products, code)
        if product is None:
            return draft, [reason("unknown_product", "code", code=code)]
        attributes, problems = canonical_attributes(product, op.get("attributes") or {})
        if problems:
            return draft, problems
        qty = int(op.get("qty", 1))
        line = _line(product.code, product.name, attributes, qty, _status(product, attributes),
                     product.price)  # fmt: skip
        same = next((other for other in lines if _same_line(other, line)), None)
        if same is None:
            lines.append(line)
        else:
            same["qty"] += qty
            same["reserved"] = same["qty"]
    elif name == "add_custom_line":
        qty = int(op.get("qty", 1))
        lines.append(_line(None, str(op["name"]), {}, qty, "custom", int(op["price"])))
    elif name in ("set_quantity", "remove_line", "choose_variant", "pick_product"):
        index, problems = _line_at(new, op)
        if problems:
            return draft, problems
        problems = _change_line(new, index, name, op, products)
        if problems:
            return draft, problems
    elif name == "set_customer":
        given = op.get("contact")
        if given is None:
            given = {key: op.get(key) for key in CONTACT_KEYS}
        for key in CONTACT_KEYS:
            if given.get(key) is not None:
                new["contact"][key] = given[key]
    elif name == "assign":
        new["staff"] = str(op["assignee"])
    elif name == "finalise":
        action = str(op["action"])
        if action not in FINALISE_ACTIONS:
            raise ValueError(f"unknown finalise action {action!r}")
        new["action"] = action
        if action == "cancel":
            new["status"] = "discarded"
        elif action in CREATING_ACTIONS:
            new["status"] = "finalised"
            new["order_id"] = order_id_of(new["conversation_id"], int(new["n"]))
            new["finalised_at"] = at
            new["finalised_by"] = staff
    else:
        raise ValueError(f"unknown chat operation {name!r}")
    new["total"] = draft_total(new)
    new["updated_at"] = at
    return new, []


def _change_line(
    draft: Json, index: int, name: str, op: Mapping[str, Any], products: Mapping[str, Product]
) -> list[Reason]:
    lines: list[Json] = draft["lines"]
    line = lines[index]
    position = index + 1
    if name == "set_quantity":
        line["qty"] = line["reserved"] = int(op["qty"])
        return []
    if name == "remove_line":
        draft["history"].append(lines.pop(index))
        return []
    if line["status"] == "custom":
        return [reason("custom_line", "line", line=position)]
    if name == "pick_product":
        return [reason("not_unknown_code_line", "line", line=position)]
    # choose_variant
    if line["status"] != "needs_variant":
        return [reason("not_needs_variant_line", "line", line=position)]
    product = _product(products, str(line["code"]))
    if product is None:
        return [reason("unknown_product", "line", code=line["code"])]
    chosen, problems = canonical_attributes(product, op.get("attributes") or {})
    if problems:
        return problems
    attributes = {**line["attributes"], **chosen}
    line["attributes"] = {k: attributes[k] for k in product.attributes if k in attributes}
    line["status"] = _status(product, line["attributes"])
    same = next((other for i, other in enumerate(lines) if i != index
                 and _same_line(other, line)), None)  # fmt: skip
    if same is not None:
        same["qty"] += line["qty"]
        same["reserved"] = same["qty"]
        lines.pop(index)
    return []


def discard_chat(draft: Json, at: str) -> Json:
    """A chat order given up (chat_discard, or the salesperson answering No on resume)."""
    new = copy.deepcopy(draft)
    new["status"] = "discarded"
    new["updated_at"] = at
    return new


def chat_source(draft: Json) -> Json:
    return {"platform": draft["customer"]["platform"], "page_id": draft.get("page_id"),
            "livestream_id": None, "conversation_id": draft["conversation_id"],
            "website": draft.get("website")}  # fmt: skip


def chat_order(draft: Json, *, status: str, command_id: str) -> Json:
    """The order of a chat draft finalised by `apply_chat_op` (action, order id, time, staff)."""
    if draft["status"] != "finalised":
        raise ValueError("only a finalised chat draft becomes an order")
    return order_from_draft(
        draft, contact=draft["contact"], order_id=draft["order_id"], source=chat_source(draft),
        action=cast(OrderAction, draft["action"]), status=status, staff=draft["finalised_by"],
        at=draft["finalised_at"], command_id=command_id,
    )  # fmt: skip
