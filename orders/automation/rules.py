"""Automation rules at work: which rules an event matches, and the actions they plan. Pure Python.

The rules are the shop's `[[rules]]` (config/automation.py, checked when the shop loads). For one
event the caller builds its `Facts` (`order_facts`, `draft_facts`), and `planned_actions` lists
what the matching rules do, rule by rule in the shop's order, action by action.

Rules act through commands, never directly: each planned action becomes a staff command whose
`staff_id` is `AUTOMATION_STAFF` and whose `command_id` is the planned action's. That id is a hash
of (shop, rule name, event key, action index), so an event delivered twice plans the same command
ids and the store, which records every command id, acts once.

Rules never trigger each other: an event produced by an automation command (`is_automation`) is
not evaluated again. A rule that sets a status therefore fires no status_changed rule, and no
chain of rules can loop.

A group assignee (`{ group = "sales" }`) is resolved when the command is sent, round-robin among
`group_members` by a per-shop, per-group turn counter: `round_robin(members, turn)`. The executor
advances the counter in the same step that records the command id, so a redelivered event does
not skip anyone's turn.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from config.automation import (
    AUTOMATION_STAFF,
    SUBJECT,
    Action,
    Condition,
    Rule,
    SubjectKind,
    Trigger,
)
from config.staff import group_members
from orders.model import Json

__all__ = [
    "AUTOMATION_PREFIX",
    "AUTOMATION_STAFF",
    "Facts",
    "PlannedAction",
    "command_id",
    "customer_history",
    "draft_facts",
    "group_members",
    "holds",
    "is_automation",
    "matching",
    "order_facts",
    "planned_actions",
    "round_robin",
]

AUTOMATION_PREFIX = "auto-"  # every automation command id starts with it
_SOURCE_KEYS = ("platform", "page_id", "livestream_id", "conversation_id", "website")


@dataclass(frozen=True, slots=True)
class Facts:
    """What rules may look at in one event.

    `source`: {platform, page_id, livestream_id, conversation_id, website} (None when unknown);
    `codes`: the product codes of the subject's lines; `status`: the order's status (None for a
    draft); `new_customer`: the customer had no order before this one; `returned`: how many of
    the customer's orders were returned; `from_status` / `to_status`: the move of a
    status_changed event; `event_key`: names the event uniquely and stably (the same event
    delivered twice has the same key); `line`: the promoted line of a waitlist_promoted event.
    """

    trigger: Trigger
    shop_id: str
    kind: SubjectKind
    subject: Json = field(compare=False, repr=False)
    source: Mapping[str, str | None]
    total: int
    codes: frozenset[str]
    tags: frozenset[str]
    status: str | None
    new_customer: bool
    returned: int
    event_key: str
    from_status: str | None = None
    to_status: str | None = None
    line: Json | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if SUBJECT[self.trigger] != self.kind:
            raise ValueError(f"a {self.trigger} event is about a {SUBJECT[self.trigger]}, "
                             f"not a {self.kind}")  # fmt: skip


@dataclass(frozen=True, slots=True)
class PlannedAction:
    """One action a matching rule takes, as the command `command_id` (staff AUTOMATION_STAFF)."""

    rule: str
    index: int  # the action's place in the rule's `do`
    action: Action
    command_id: str


# -- facts of an event ---------------------------------------------------------------------------


def customer_history(customer: Json | None, order_id: str | None = None) -> tuple[bool, int]:
    """(new_customer, returned) from a customer record (orders/shop/customers.py), or None when the
    person has none yet. New: no order other than `order_id` (the event's own order)."""
    if customer is None:
        return True, 0
    earlier = [oid for oid in customer.get("orders") or [] if oid != order_id]
    return not earlier, int(customer.get("returned") or 0)


def _codes(subject: Json) -> frozenset[str]:
    return frozenset(str(line["code"]).upper() for line in subject.get("lines") or []
                     if line.get("code"))  # fmt: skip


def _total(subject: Json) -> int:
    total = subject.get("total")
    return total if isinstance(total, int) else 0


def order_facts(
    trigger: Trigger,
    order: Json,
    *,
    new_customer: bool,
    returned: int,
    from_status: str | None = None,
    to_status: str | None = None,
    change_id: str | None = None,
) -> Facts:
    """The facts of an order event (order JSON v1, orders/shop/order.py), after the event.

    order_created: the key is `order_created:<order_id>`. status_changed: the move and the id of
    the command that made it default to the order's last history entry; the key is
    `status_changed:<order_id>:<command id>` (one bulk command moves many orders: the order id
    tells them apart). Tags are the order's `tags` (added by rules), when it has any.
    """
    order_id = str(order["order_id"])
    if trigger == "order_created":
        key = f"order_created:{order_id}"
    elif trigger == "status_changed":
        last = (order.get("history") or [{}])[-1]
        from_status = from_status if from_status is not None else last.get("from")
        to_status = to_status if to_status is not None else last.get("to", order.get("status"))
        change_id = change_id if change_id is not None else last.get("command_id")
        if not change_id:
            raise ValueError(f"order {order_id}: no command id names this status change")
        key = f"status_changed:{order_id}:{change_id}"
    else:
        raise ValueError(f"{trigger} is not an order event")
    source = order.get("source") or {}
    return Facts(
        trigger=trigger,
        shop_id=str(order["shop_id"]),
        kind="order",
        subject=order,
        source={k: (str(source[k]) if source.get(k) is not None else None) for k in _SOURCE_KEYS},
        total=_total(order),
        codes=_codes(order),
        tags=frozenset(str(tag) for tag in order.get("tags") or []),
        status=order.get("status"),
        new_customer=new_customer,
        returned=returned,
        event_key=key,
        from_status=from_status,
        to_status=to_status,
    )


def _draft_ref(draft: Json) -> str:
    """A draft's stable name: `<livestream>:<seq>`, or `chat:<conversation>:<n>`."""
    if draft.get("conversation_id") is not None:
        return f"chat:{draft['conversation_id']}:{draft['n']}"
    return f"{draft['livestream_id']}:{draft['seq']}"


def draft_facts(
    trigger: Trigger,
    draft: Json,
    *,
    new_customer: bool,
    returned: int,
    line: Json | None = None,
    cause: str | None = None,
) -> Facts:
    """The facts of a draft event (livestream draft, orders/model.py, or chat draft).

    Source: the platform is the customer's; a chat draft has its page and conversation (and its
    website, when the chat began in a website's widget).
    Keys: `draft_created:<draft>` and `customer_flagged:<draft>` (once per draft);
    `waitlist_promoted:<draft>:<line>:<cause>`, where `line` is the promoted line and `cause`
    the id of what released the units (a comment or a command), so each promotion is its own.
    """
    ref = _draft_ref(draft)
    if trigger in ("draft_created", "customer_flagged"):
        key = f"{trigger}:{ref}"
    elif trigger == "waitlist_promoted":
        if line is None or not cause:
            raise ValueError("a waitlist promotion names its line and its cause")
        attributes = ",".join(f"{k}={v}" for k, v in sorted((line.get("attributes") or {}).items()))
        key = f"waitlist_promoted:{ref}:{line.get('code')}[{attributes}]:{cause}"
    else:
        raise ValueError(f"{trigger} is not a draft event")
    customer = draft.get("customer") or {}
    source = {
        "platform": customer.get("platform"),
        "page_id": draft.get("page_id"),
        "livestream_id": draft.get("livestream_id"),
        "conversation_id": draft.get("conversation_id"),
        "website": draft.get("website"),  # a chat started from a website's widget
    }
    return Facts(
        trigger=trigger,
        shop_id=str(draft["shop_id"]),
        kind="draft",
        subject=draft,
        source={k: (str(v) if v is not None else None) for k, v in source.items()},
        total=_total(draft),
        codes=_codes(draft),
        tags=frozenset(),
        status=None,
        new_customer=new_customer,
        returned=returned,
        event_key=key,
        line=line,
    )


# -- evaluation ----------------------------------------------------------------------------------


def _one_of(value: str | None, allowed: Sequence[str] | None, *, fold: bool = False) -> bool:
    if allowed is None:
        return True
    if value is None:
        return False
    return (value.lower() if fold else value) in allowed


def holds(condition: Condition, facts: Facts) -> bool:
    """Whether every key of the condition holds for these facts (nested any / all included)."""
    source = facts.source
    checks = (
        _one_of(source.get("platform"), condition.platform, fold=True),
        _one_of(source.get("page_id"), condition.page),
        _one_of(source.get("livestream_id"), condition.livestream),
        _one_of(source.get("conversation_id"), condition.conversation),
        _one_of(source.get("website"), condition.website),
        condition.total_min is None or facts.total >= condition.total_min,
        condition.total_max is None or facts.total <= condition.total_max,
        condition.codes is None or not facts.codes.isdisjoint(condition.codes),
        condition.tags is None or facts.tags.issuperset(condition.tags),
        _one_of(facts.status, condition.status),
        condition.new_customer is None or facts.new_customer == condition.new_customer,
        condition.returned_min is None or facts.returned >= condition.returned_min,
    )
    if not all(checks):
        return False
    if condition.any is not None and not any(holds(c, facts) for c in condition.any):
        return False
    return condition.all is None or all(holds(c, facts) for c in condition.all)


def _applies(rule: Rule, facts: Facts) -> bool:
    if rule.on != facts.trigger:
        return False
    if rule.from_status is not None and rule.from_status != facts.from_status:
        return False
    if rule.to_status is not None and rule.to_status != facts.to_status:
        return False
    return holds(rule.when, facts)


def matching(rules: Sequence[Rule], facts: Facts) -> list[Rule]:
    """The rules this event sets off, in the shop's order."""
    return [rule for rule in rules if _applies(rule, facts)]


def command_id(shop_id: str, rule: str, event_key: str, index: int) -> str:
    """The id of the command for action `index` of `rule` on one event: the same inputs always
    give the same id (`auto-` and 32 hex digits)."""
    # JSON keeps the parts apart whatever they contain (a rule name may hold any character)
    blob = json.dumps([shop_id, rule, event_key, index], ensure_ascii=False).encode()
    return AUTOMATION_PREFIX + hashlib.sha256(blob).hexdigest()[:32]


def planned_actions(rules: Sequence[Rule], facts: Facts) -> list[PlannedAction]:
    """What the matching rules do on this event, rule by rule, each action with its command id."""
    return [
        PlannedAction(rule.name, index, action,
                      command_id(facts.shop_id, rule.name, facts.event_key, index))
        for rule in matching(rules, facts)
        for index, action in enumerate(rule.do)
    ]  # fmt: skip


def round_robin(members: Sequence[str], turn: int) -> str:
    """The member whose turn it is (`turn` counts the group's assignments so far, from 0)."""
    if not members:
        raise ValueError("the group has no members")
    return members[turn % len(members)]


def is_automation(event: Mapping[str, Any]) -> bool:
    """Whether an event (an order event, a command, an outcome, a history entry) came from an
    automation command: such events are not evaluated again, so rules never trigger each other."""
    if event.get("staff_id") == AUTOMATION_STAFF or event.get("staff") == AUTOMATION_STAFF:
        return True
    command = event.get("command_id")
    return isinstance(command, str) and command.startswith(AUTOMATION_PREFIX)
