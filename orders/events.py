"""What the order book consumes: one parsed comment, with where it came from."""

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
    checks = (
        (isinstance(event.comment_id, str) and event.comment_id != "", "no comment id"),
        (_is_int(event.offset), "offset is not an integer"),
        (isinstance(event.platform, str), "platform is not text"),
        (event.user_id is None or (isinstance(event.user_id, str) and event.user_id != ""),
         "user id is empty"),
        (isinstance(event.user_name, str), "user name is not text"),
        (isinstance(event.created_at, str) and event.created_at != "", "no created_at"),
        (event.intent in _INTENTS, f"unknown intent {event.intent!r}"),
        (event.phone is None or isinstance(event.phone, str), "phone is not text"),
        (isinstance(event.items, tuple), "items is not a tuple"),
        (_is_int(event.partition) and event.partition >= 0, "partition is not a natural number"),
    )  # fmt: skip
    for ok, problem in checks:
        if not ok:
            return problem
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
