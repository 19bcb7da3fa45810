"""What the command agent asks the domain before it carries a staff command out.

The agent (stream/staff.py) reads and writes; the decisions are here, pure: who may act for a
shop, the store's op for a draft command (with the customer's details cleaned), what a finalise
must check against the draft it read and what it then asks the store, the order a finalised
draft becomes, and which of a shop transaction's orders are new.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from config.automation import AUTOMATION_STAFF
from config.shop import ShopConfig
from config.staff import group_members
from orders.checks.contact import normalise_contact
from orders.checks.finalise import effective_contact, finalise_problems
from orders.commands import CONTACT_FIELDS, Finalise, Reason, SetCustomer
from orders.events import CREATING_ACTIONS
from orders.model import Json, draft_version
from orders.reasons import reason
from orders.shop.order import order_from_draft, order_id_of

# A finalise re-validates when comments changed the draft between its read and its write; this
# many rounds in a row of changes mean something is wrong, not busy.
STALE_RETRIES = 20
_ADDRESS_FIELDS = {"v", "type", "command_id", "staff_id", "issued_at", "shop_id",
                   "livestream_id", "seq", "conversation_id", "expect_version"}  # fmt: skip


def staff_problems(shop: ShopConfig, command: Any) -> list[Reason]:
    """A shop that lists its staff accepts commands from them only (and assigns only them).
    The automation agent acts for the shop itself."""
    if not shop.staff:
        return []
    known = {person.id for person in shop.staff} | {AUTOMATION_STAFF}
    people = [("staff_id", command.staff_id)]
    for role in ("assignee", "owner"):
        if getattr(command, role, None) is not None:
            people.append((role, getattr(command, role)))
    return [reason("unknown_staff", field, staff=who) for field, who in people if who not in known]


def members(shop: ShopConfig, group: str | None) -> tuple[str, ...] | None:
    """The staff of a round-robin group, in the configuration's order; None: no such group."""
    return (group_members(shop.staff, group) or None) if group is not None else None


def draft_op(command: Any, **fields: Any) -> Json:
    """The store's op for a draft command, with `fields` added."""
    op: Json = {
        "type": command.type,
        "seq": command.seq,
        "at": command.issued_at,
        "staff": command.staff_id,
    }
    op.update(fields)
    return op


def command_op(command: Any) -> tuple[Json, list[Reason]]:
    """The store's op for a draft command; customer details are checked and normalised here
    (phone, province) so the stores keep only clean values."""
    if isinstance(command, SetCustomer):
        given = {f: getattr(command, f) for f in CONTACT_FIELDS if getattr(command, f) is not None}
        contact, problems = normalise_contact(given)
        return draft_op(command, contact=contact), problems
    return draft_op(command, **command.model_dump(exclude=_ADDRESS_FIELDS)), []


@dataclass(frozen=True, slots=True)
class FinaliseStep:
    """What a command checked on the draft it read does: refuse with these reasons (and show
    the draft), or send `op` to the store, which applies it only if the draft is still `raw`."""

    refused: list[Reason]
    draft: Json
    op: Json | None


def version_problems(command: Any, draft: Json) -> list[Reason]:
    """A command sent on a version of the draft that is no longer its version: two staff on
    one draft, and the second one's view is out of date."""
    expected = getattr(command, "expect_version", None)
    if expected is None or draft_version(draft) == expected:
        return []
    return [reason("draft_changed", "expect_version")]


def versioned_op(command: Any, op: Json, raw: bytes) -> FinaliseStep:
    """A draft command that names the version it was made on: refused when the draft read is
    another version, else the op with the exact bytes read as `expect`, so that a change
    between this read and the store's write is answered stale (and read again)."""
    draft: Json = orjson.loads(raw)
    problems = version_problems(command, draft)
    if problems:
        return FinaliseStep(problems, draft, None)
    return FinaliseStep([], draft, {**op, "expect": raw.decode()})


def finalise_step(command: Finalise, raw: bytes) -> FinaliseStep:
    """A creating finalise of an open draft must pass every finalise check; the op carries the
    exact bytes read (`expect`) so that a draft changed since is answered stale, not finalised
    unchecked."""
    draft: Json = orjson.loads(raw)
    creating = command.action in CREATING_ACTIONS
    problems = version_problems(command, draft)
    if not problems and creating and draft["status"] == "open":
        problems = finalise_problems(draft)
    if problems:
        return FinaliseStep(problems, draft, None)
    op = draft_op(
        command,
        action=command.action,
        expect=raw.decode(),
        order_id=order_id_of(command.livestream_id or "", command.seq or 0),
    )
    return FinaliseStep([], draft, op)


def creates_order(command: Finalise) -> bool:
    return command.action in CREATING_ACTIONS


def finalised_order(command: Finalise, shop: ShopConfig, draft: Json) -> Json:
    """The order a finalised livestream draft becomes, in the status its action starts in."""
    action = draft["action"]
    return order_from_draft(
        draft,
        contact=effective_contact(draft),
        order_id=draft["order_id"],
        source={
            "platform": draft["customer"]["platform"],
            "page_id": None,
            "livestream_id": draft["livestream_id"],
            "conversation_id": None,
        },
        action=action,
        status=shop.workflow.actions[action],
        staff=draft.get("finalised_by") or command.staff_id,
        at=draft.get("finalised_at") or command.issued_at,
        command_id=command.command_id,
    )


def is_new_order(order: Json, events: list[Json]) -> bool:
    """Orders go on `chotdon.orders` when they come to exist (finalised, or made by a merge);
    status changes are order events."""
    return any(
        e["order_id"] == order["order_id"]
        and e["kind"] in ("created", "merged")
        and e.get("from") is None
        for e in events
    )
