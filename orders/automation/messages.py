"""Messages to a customer's inbox: rendering a shop's templates, and when a platform allows them.

Pure Python, no I/O. An order summary goes to the customer's inbox, never the comment thread
(seed 002): `window_problem` / `message_channel` say whether the platform lets us write now, and
through which channel.

Templates (`[messages]` of the shop, config/automation.py) use Python's `{field}` syntax; a
literal brace is `{{` or `}}`. The fields (`config.automation.TEMPLATE_FIELDS`):

- `customer_name`: the contact's name, else the platform's name, else "bạn";
- `order_id`: the order id (orders only);
- `seq`: the livestream's STT, or the chat order's number;
- `lines`: one line per order line, `- {name} {attributes} x{qty}: {amount}`, the attribute
  values joined by ", " (`- Áo thun cotton M, đỏ x2: 318.000đ`); for a draft, the units
  reserved (lines with none reserved, and unknown codes, are left out);
- `total`: in đồng, `159.000đ`;
- `status_name`: the order's status as the shop names it (orders only);
- `shop_name`, `livestream_id` (empty for chat orders);
- `code`, `product_name`, `qty`: the promoted line and the units it now holds
  (waitlist_promoted only).

Messaging windows (what each platform allows a page to send; ../shared/NOTES.md):

- facebook: a *private reply* to a comment, once per comment, within 7 days of the comment; any
  other *message* only within 24 hours of the customer's last message to the page. When both are
  open, a message is used (it keeps the comment's one private reply for later).
- tiktok, shopee: a message within 24 hours of the customer's last message; no private reply to
  a comment. This is our assumption (both limit what a shop may send unprompted; neither
  documents a comment-to-inbox reply for live comments): revisit with their API terms.
- youtube: no private messages at all (`no_inbox`).
- any other platform: `unknown_platform`; we do not guess.

Windows are strict: a message exactly 24 h after the customer's last one, or a private reply
exactly 7 days after the comment, is refused. The send itself takes time and the platform's clock
decides; at the boundary we would race it. A time in the future (clock skew) counts as now.
"""

from __future__ import annotations

import string
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from config.automation import TEMPLATE_FIELDS, template_fields
from orders.model import Json

__all__ = [
    "MESSAGE_WINDOW",
    "PRIVATE_REPLY_WINDOW",
    "TEMPLATE_FIELDS",
    "Channel",
    "message_channel",
    "message_values",
    "render",
    "template_fields",
    "vnd",
    "window_problem",
]

MESSAGE_WINDOW = timedelta(hours=24)
PRIVATE_REPLY_WINDOW = timedelta(days=7)
NO_NAME = "bạn"  # "you": what a message calls a customer whose name nobody knows
_MESSAGE_PLATFORMS = frozenset({"facebook", "tiktok", "shopee"})
_PRIVATE_REPLY_PLATFORMS = frozenset({"facebook"})
_NO_INBOX_PLATFORMS = frozenset({"youtube"})


def vnd(amount: int) -> str:
    """Vietnamese đồng: `vnd(159000) == "159.000đ"` (dots group thousands)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,}".replace(",", ".") + "đ"


def render(template: str, values: Mapping[str, str]) -> str:
    """The template with its fields filled; ValueError naming a field `values` lacks."""
    missing = sorted(template_fields(template) - values.keys())
    if missing:
        raise ValueError(f"no value for {{{missing[0]}}}")
    return string.Formatter().vformat(template, (), dict(values))


def _line_text(name: str, attributes: Mapping[str, Any], qty: int, amount: int) -> str:
    values = ", ".join(str(value) for value in attributes.values())
    middle = f" {values}" if values else ""
    return f"- {name}{middle} x{qty}: {vnd(amount)}"


def _lines(subject: Json, is_order: bool) -> str:
    rows = []
    for line in subject.get("lines") or []:
        name, price = line.get("name"), line.get("unit_price")
        if name is None or price is None:  # an unknown code: nothing to sell yet
            continue
        if is_order:
            qty, amount = int(line["qty"]), int(line["amount"])
        else:
            qty = int(line.get("reserved", line.get("qty", 0)))
            amount = qty * int(price)
            if qty <= 0:
                continue
        rows.append(_line_text(str(name), line.get("attributes") or {}, qty, amount))
    return "\n".join(rows)


def _customer_name(subject: Json) -> str:
    for part in ("contact", "customer"):
        name = (subject.get(part) or {}).get("name")
        if name:
            return str(name)
    return NO_NAME


def message_values(
    order_or_draft: Json,
    shop_name: str,
    status_name: str | None = None,
    line: Json | None = None,
) -> dict[str, str]:
    """The template fields of an order (JSON v1) or a draft (livestream or chat).

    `status_name` names the order's status (orders.shop.workflow.status_name); without it the status
    key stands in. `line` is the promoted line of a waitlist promotion: only with it are `code`,
    `product_name` and `qty` given. A draft has an empty `order_id` and `status_name` (rules never
    send those on a draft: config.automation refuses it when the shop loads).
    """
    subject = order_or_draft
    is_order = "source" in subject
    source = subject.get("source") or {}
    seq = subject.get("seq") if subject.get("seq") is not None else subject.get("n")
    total = subject.get("total")
    values = {
        "customer_name": _customer_name(subject),
        "order_id": str(subject.get("order_id") or ""),
        "seq": "" if seq is None else str(seq),
        "lines": _lines(subject, is_order),
        "total": vnd(int(total) if isinstance(total, int) else 0),
        "status_name": status_name or (str(subject.get("status") or "") if is_order else ""),
        "shop_name": shop_name,
        "livestream_id": str(source.get("livestream_id") or subject.get("livestream_id") or ""),
    }
    if line is not None:
        values["code"] = str(line.get("code") or "")
        values["product_name"] = str(line.get("name") or "")
        values["qty"] = str(line.get("reserved", line.get("qty", "")))
    return values


# -- messaging windows ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Channel:
    """How a message would reach the customer: a private reply to one comment, or a message."""

    kind: Literal["private_reply", "message"]
    comment_id: str | None = None  # the comment a private reply answers


WindowCode = Literal[
    "no_inbox", "unknown_platform", "window_closed", "comment_too_old", "already_replied"
]


def _since(now: datetime, then: datetime) -> timedelta:
    if now.tzinfo is None or then.tzinfo is None:
        raise ValueError("give times with their zone (aware datetimes)")
    return max(now - then, timedelta(0))


def message_channel(
    platform: str,
    now: datetime,
    *,
    comment_id: str | None = None,
    comment_at: datetime | None = None,
    replied_comment_ids: Collection[str] = (),
    last_inbound_at: datetime | None = None,
) -> Channel | tuple[WindowCode, str]:
    """The channel a message to this customer would use now, or (code, reason) when none is open.

    `comment_id` / `comment_at`: the customer's comment a private reply would answer (their
    order comment); `replied_comment_ids`: the comments already privately replied to;
    `last_inbound_at`: when the customer last wrote to the page (None: never).
    """
    if (comment_id is None) != (comment_at is None):
        raise ValueError("give comment_id and comment_at together")
    platform = platform.lower()
    if platform in _NO_INBOX_PLATFORMS:
        return "no_inbox", f"{platform} has no private messages: tell the customer another way"
    if platform not in _MESSAGE_PLATFORMS:
        return "unknown_platform", f"no messaging rules are known for platform {platform!r}"
    if last_inbound_at is not None and _since(now, last_inbound_at) < MESSAGE_WINDOW:
        return Channel("message")
    inbound = ("the customer has not written to the page" if last_inbound_at is None
               else "the customer's last message is 24 hours old or more")  # fmt: skip
    if platform in _PRIVATE_REPLY_PLATFORMS and comment_id is not None and comment_at is not None:
        if comment_id in replied_comment_ids:
            return "already_replied", (f"comment {comment_id} already had its one private reply, "
                                       f"and {inbound}")  # fmt: skip
        if _since(now, comment_at) >= PRIVATE_REPLY_WINDOW:
            return "comment_too_old", (f"comment {comment_id} is 7 days old or more, "
                                       f"and {inbound}")  # fmt: skip
        return Channel("private_reply", comment_id)
    return "window_closed", f"{inbound}: {platform} allows messages within 24 hours of it"


def window_problem(
    platform: str,
    now: datetime,
    *,
    comment_id: str | None = None,
    comment_at: datetime | None = None,
    replied_comment_ids: Collection[str] = (),
    last_inbound_at: datetime | None = None,
) -> tuple[str, str] | None:
    """(code, reason) when no message may be sent to the customer now, else None.

    Codes: no_inbox, unknown_platform, window_closed, comment_too_old, already_replied. See
    `message_channel` for the arguments and for the channel that would be used.
    """
    found = message_channel(platform, now, comment_id=comment_id, comment_at=comment_at,
                            replied_comment_ids=replied_comment_ids,
                            last_inbound_at=last_inbound_at)  # fmt: skip
    return None if isinstance(found, Channel) else found
