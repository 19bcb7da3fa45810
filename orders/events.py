"""What the order book consumes: one parsed comment with where it came from, and the op of a staff
command on a livestream draft (the JSON `chotdon_command` reads; see orders/README.md)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from parsers.models import ParsedItem

Intent = Literal["order", "cancel", "none"]

_INTENTS = frozenset({"order", "cancel", "none"})
_STATUSES = frozenset({"matched", "needs_variant", "unknown_code"})
_CONTROL = re.compile(r"[\x00-\x1f]")


class InvalidEvent(ValueError):
    """An event the order book refuses; nothing of its batch has been applied."""


@dataclass(frozen=True, slots=True)
class CommentEvent:
    comment_id: str
    offset: int  # Kafka offset of the record in its partition
    platform: str
    user_id: str | None  # None: the platform hid the commenter -> an unattributed comment
    user_name: str
    created_at: str  # ISO 8601 with zone, the comment's time
    intent: Intent
    phone: str | None
    items: tuple[ParsedItem, ...]
    partition: int = 0  # Kafka partition of the record: offsets are per partition


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_word(value: object) -> bool:
    """Codes and attributes: the store builds its keys with control characters as separators."""
    return isinstance(value, str) and value != "" and not _CONTROL.search(value)


def _item_problem(item: object) -> str | None:
    if not isinstance(item, ParsedItem):
        return "an item is not a ParsedItem"
    if not _is_word(item.code):
        return "an item code is empty or has control characters"
    if not _is_int(item.qty) or item.qty < 1:
        return f"item {item.code!r} has quantity {item.qty!r}"
    if item.status not in _STATUSES:
        return f"item {item.code!r} has status {item.status!r}"
    attributes = item.attributes
    if not isinstance(attributes, dict) or not all(
        _is_word(k) and _is_word(v) for k, v in attributes.items()
    ):
        return f"item {item.code!r} has attributes that are not plain text"
    return None


def _event_problem(event: CommentEvent) -> str | None:
    # One `if` per rule, the message built only for a fault: this runs for every comment.
    if not isinstance(event.comment_id, str) or event.comment_id == "":
        return "no comment id"
    if not _is_int(event.offset):
        return "offset is not an integer"
    if not isinstance(event.platform, str):
        return "platform is not text"
    if event.user_id is not None and (not isinstance(event.user_id, str) or event.user_id == ""):
        return "user id is empty"
    if not isinstance(event.user_name, str):
        return "user name is not text"
    if not isinstance(event.created_at, str) or event.created_at == "":
        return "no created_at"
    if event.intent not in _INTENTS:
        return f"unknown intent {event.intent!r}"
    if event.phone is not None and not isinstance(event.phone, str):
        return "phone is not text"
    if not isinstance(event.items, tuple):
        return "items is not a tuple"
    if not _is_int(event.partition) or event.partition < 0:
        return "partition is not a natural number"
    for item in event.items:
        item_problem = _item_problem(item)
        if item_problem:
            return item_problem
    return None


def validate_events(events: Sequence[CommentEvent]) -> None:
    """Refuse the whole batch on the first malformed event, before anything is applied."""
    for index, event in enumerate(events):
        problem = _event_problem(event)
        if problem:
            raise InvalidEvent(f"event {index} ({getattr(event, 'comment_id', '?')!r}): {problem}")


# -- staff commands on livestream drafts ---------------------------------------------------------


class InvalidCommand(ValueError):
    """A staff command's op the order book refuses to read: nothing is applied or recorded.

    (A well-formed op that breaks a rule is *refused* with reasons instead.)"""


OP_TYPES = frozenset({"set_customer", "pick_product", "choose_variant", "set_quantity",
                      "remove_line", "add_line", "add_custom_line", "assign",
                      "finalise"})  # fmt: skip
FINALISE_ACTIONS = frozenset({"create", "deliver_now", "send_to_store", "save", "cancel"})
# Actions that make an order; save and cancel do not.
CREATING_ACTIONS = frozenset({"create", "deliver_now", "send_to_store"})
LINE_OPS = frozenset({"pick_product", "choose_variant", "set_quantity", "remove_line"})
CONTACT_KEYS = frozenset({"name", "phone", "address", "ward", "province", "note"})
MAX_COUNT = 1_000_000_000  # seq, line, qty: positive integers up to this
MAX_PRICE = 10**12


def _is_count(value: object) -> bool:
    return _is_int(value) and 1 <= value <= MAX_COUNT  # type: ignore[operator]


def _is_text(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _attributes_problem(value: object) -> str | None:
    if not isinstance(value, dict):
        return "attributes are not an object"
    if not all(_is_word(k) and _is_word(v) for k, v in value.items()):
        return "attributes are not plain text"
    return None


def _op_fields_problem(kind: str, op: dict[str, object]) -> str | None:
    if kind in LINE_OPS and not _is_count(op.get("line")):
        return "line is not a positive integer"
    if kind in ("pick_product", "add_line") and not _is_word(op.get("code")):
        return "code is empty or has control characters"
    if kind in ("pick_product", "choose_variant", "add_line"):
        problem = _attributes_problem(op.get("attributes"))
        if problem:
            return problem
    if kind in ("set_quantity", "add_line", "add_custom_line") and not _is_count(op.get("qty")):
        return "qty is not a positive integer"
    if kind == "set_customer":
        contact = op.get("contact")
        if not isinstance(contact, dict) or not all(
            k in CONTACT_KEYS and (v is None or isinstance(v, str)) for k, v in contact.items()
        ):
            return "contact is not an object of contact fields (text or null)"
    elif kind == "add_custom_line":
        price = op.get("price")
        if not _is_text(op.get("name")):
            return "name is empty"
        if not _is_int(price) or not 0 <= price <= MAX_PRICE:  # type: ignore[operator]
            return "price is not a natural number"
    elif kind == "assign":
        if op.get("assignee") is not None and not _is_text(op.get("assignee")):
            return "assignee is empty"
    elif kind == "finalise":
        action, order_id = op.get("action"), op.get("order_id")
        if action not in FINALISE_ACTIONS:
            return "unknown action"
        if not isinstance(op.get("expect"), str):
            return "expect is not text"
        if action in CREATING_ACTIONS and not _is_text(order_id):
            return "no order_id"
        if order_id is not None and not isinstance(order_id, str):
            return "order_id is not text"
    return None


def op_problem(command_id: object, op: object) -> str | None:
    """What is wrong with a command's op (the shape lua/orderbook.lua reads), or None."""
    if not _is_text(command_id):
        return "no command id"
    if not isinstance(op, dict):
        return "the op is not an object"
    kind = op.get("type")
    if kind not in OP_TYPES:
        return f"unknown type {kind!r}"
    if not _is_count(op.get("seq")):
        return "seq is not a positive integer"
    if not _is_text(op.get("at")):
        return "no at"
    if not _is_text(op.get("staff")):
        return "no staff"
    if op.get("expect") is not None and not isinstance(op.get("expect"), str):
        return "expect is not text"
    return _op_fields_problem(str(kind), op)


def validate_op(command_id: object, op: object) -> None:
    problem = op_problem(command_id, op)
    if problem:
        raise InvalidCommand(f"command {command_id!r}: {problem}")
