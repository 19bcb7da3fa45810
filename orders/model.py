"""The order book's state: drafts, their lines, customers, and how a draft is shown as JSON.

The JSON shape of a draft is a contract (`chotdon drafts --json`, the draft-events, and the Redis
Function in lua/orderbook.lua, which must render byte-for-byte the same fields).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

DraftStatus = Literal["open", "cancelled", "finalised"]
# The parser's item statuses, and "custom": an ad-hoc line staff added (no code, no stock).
LineStatus = Literal["matched", "needs_variant", "unknown_code", "custom"]
CommandStatus = Literal["applied", "refused", "stale"]
# A refusal reason: (code of orders/reasons.py, the field at fault, the message's parameters).
ReasonTuple = tuple[str, str | None, dict[str, object]]
Json = dict[str, Any]
# The staff-set contact of a draft, in its JSON order (orders.commands.CONTACT_FIELDS).
CONTACT_KEYS = ("name", "phone", "address", "ward", "province", "note")


@dataclass(slots=True)
class Line:
    id: int  # stable within its draft, so a waiting request can name its line
    code: str | None  # None: a custom line
    name: str | None  # None: an unknown-code line
    attributes: dict[str, str]
    qty: int
    status: LineStatus
    unit_price: int | None
    comment_ids: list[str]
    reserved: int = 0
    waiting: int = 0  # units of this line still in its product's queue
    waitlist: int | None = None

    @property
    def known(self) -> bool:
        """A catalogue line (matched or needs_variant): it draws on its product's stock."""
        return self.status in ("matched", "needs_variant")

    def to_json(self) -> Json:
        return {
            "code": self.code,
            "name": self.name,
            "attributes": dict(self.attributes),
            "qty": self.qty,
            "reserved": self.reserved,
            "waitlist": self.waitlist,
            "status": self.status,
            "unit_price": self.unit_price,
            "comment_ids": list(self.comment_ids),
        }


@dataclass(slots=True)
class CustomerFacts:
    platform: str
    user_id: str
    name: str | None = None
    phone: str | None = None

    def to_json(self) -> Json:
        return {"platform": self.platform, "user_id": self.user_id, "name": self.name,
                "phone": self.phone}  # fmt: skip

    def copy(self) -> CustomerFacts:
        return CustomerFacts(self.platform, self.user_id, self.name, self.phone)


@dataclass(slots=True)
class Customer:
    facts: CustomerFacts
    # The items of this customer's previous order comment, for the repeat rule; a cancel clears it.
    last_order: tuple[tuple[str, tuple[tuple[str, str], ...], int], ...] | None = None


@dataclass(slots=True)
class Draft:
    seq: int
    customer: CustomerFacts
    created_at: str
    updated_at: str
    status: DraftStatus = "open"
    lines: list[Line] = field(default_factory=list)
    history: list[Line] = field(default_factory=list)
    next_line_id: int = 1
    # What staff set (commands); comments never change these.
    contact: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(CONTACT_KEYS))
    staff: str | None = None  # the assignee
    action: str | None = None  # the last finalise action (create, save, cancel...)
    order_id: str | None = None
    finalised_at: str | None = None
    finalised_by: str | None = None

    def line(self, line_id: int) -> Line:
        for line in self.lines:
            if line.id == line_id:
                return line
        raise KeyError(line_id)

    def total(self) -> int:
        return sum(line.unit_price * line.reserved for line in self.lines
                   if line.unit_price is not None)  # fmt: skip

    def to_json(self, shop_id: str, livestream_id: str) -> Json:
        return {
            "shop_id": shop_id,
            "livestream_id": livestream_id,
            "seq": self.seq,
            "status": self.status,
            "customer": self.customer.to_json(),
            "lines": [line.to_json() for line in self.lines],
            "history": [line.to_json() for line in self.history],
            "total": self.total(),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "contact": {key: self.contact[key] for key in CONTACT_KEYS},
            "staff": self.staff,
            "action": self.action,
            "order_id": self.order_id,
            "finalised_at": self.finalised_at,
            "finalised_by": self.finalised_by,
        }


@dataclass(frozen=True, slots=True)
class DraftCommandResult:
    """What a staff command on a livestream draft did (DraftStore.apply_draft_command).

    `draft` is the addressed draft after the command (its current state when refused, stale or
    a duplicate; None when there is no such draft); `others` are the other drafts whose content
    the command changed (customers served by released units), by seq; `duplicate`: the command
    id was applied before, and this is its stored outcome (nothing changed now).
    """

    status: CommandStatus
    reasons: list[ReasonTuple]
    draft: Json | None
    others: list[Json]
    duplicate: bool = False


@dataclass(slots=True)
class Request:
    """Units a line waits for, in its product's FIFO queue."""

    user_id: str
    line_id: int
    units: int


def draft_version(draft: Json) -> str:
    """The version of a draft's content: the ETag of the API, `expect_version` of a command.

    The SHA-1 of its canonical JSON (sorted keys), leaving out each line's waitlist place: a
    place moving up because someone ahead left is not a change of the draft (it is shown by
    reads, never published), so it must not make a staff member's edit a conflict. The Lua
    function and the pure book render keys in other orders; the canonical form makes both, and
    a draft read back from a draft event, give the same version."""
    lines = [{k: v for k, v in line.items() if k != "waitlist"} for line in draft.get("lines", [])]
    canonical = orjson.dumps({**draft, "lines": lines}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha1(canonical, usedforsecurity=False).hexdigest()
