"""Staff commands (`chotdon.order-commands`) and their outcomes (`chotdon.command-outcomes`).

One pydantic model per command, told apart by `type`. Every command carries a `command_id`: the
store records the outcome under it, so a command delivered twice acts once and answers the same
outcome again. The Kafka key is `Command.key`: the livestream id or the conversation id, so the
commands of one livestream (or chat) are applied in the order staff sent them (an order's
commands: its order id; a customer's: the shop id).

Automation (rules of the shop configuration) acts through these same commands, with staff_id
"automation" and a command id derived from the event that triggered it, so an event delivered
twice acts once.

A draft is addressed by `livestream_id` + `seq` (a livestream draft) or by `conversation_id` (the
chat order in progress in that conversation). A line is addressed by its 1-based position in the
draft's `lines`, as `chotdon drafts` shows it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Text = Annotated[str, Field(min_length=1, max_length=500)]
Id = Annotated[str, Field(min_length=1, max_length=200)]
Attributes = dict[Annotated[str, Field(min_length=1)], Annotated[str, Field(min_length=1)]]
Qty = Annotated[int, Field(ge=1, le=100_000)]
Position = Annotated[int, Field(ge=1)]
DraftAction = Literal["create", "deliver_now", "send_to_store", "save", "cancel"]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1
    command_id: Id
    staff_id: Id
    issued_at: Text  # ISO 8601; what the draft's and order's timestamps record


class _DraftCommand(_Command):
    shop_id: Id | None = None  # optional for a livestream draft: the livestream knows its shop
    livestream_id: Id | None = None
    seq: Annotated[int, Field(ge=1)] | None = None
    conversation_id: Id | None = None
    # The draft's version as the sender saw it (`orders.model.draft_version`, the API's ETag): a
    # livestream draft that changed since is refused with `draft_changed`, never overwritten.
    expect_version: Annotated[str, Field(pattern=r"^[0-9a-f]{40}$")] | None = None

    @model_validator(mode="after")
    def _one_address(self) -> _DraftCommand:
        by_live = self.livestream_id is not None and self.seq is not None
        by_chat = self.conversation_id is not None
        if by_live == by_chat or (by_chat and (self.livestream_id or self.seq)):
            raise ValueError("address a draft by livestream_id and seq, or by conversation_id")
        if by_chat and self.shop_id is None:
            raise ValueError("a chat draft needs its shop_id")
        return self

    @property
    def key(self) -> str:
        return self.livestream_id or self.conversation_id or ""


class SetCustomer(_DraftCommand):
    type: Literal["set_customer"] = "set_customer"
    name: Text | None = None
    phone: Text | None = None
    address: Text | None = None
    ward: Text | None = None
    province: Text | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _something(self) -> SetCustomer:
        if all(getattr(self, f) is None for f in CONTACT_FIELDS):
            raise ValueError("give at least one of: " + ", ".join(CONTACT_FIELDS))
        return self


CONTACT_FIELDS = ("name", "phone", "address", "ward", "province", "note")


class PickProduct(_DraftCommand):
    """Re-pick the product of an unknown-code line; the typed code stays in the history."""

    type: Literal["pick_product"] = "pick_product"
    line: Position
    code: Id
    attributes: Attributes = Field(default_factory=dict)


class ChooseVariant(_DraftCommand):
    type: Literal["choose_variant"] = "choose_variant"
    line: Position
    attributes: Attributes


class SetQuantity(_DraftCommand):
    type: Literal["set_quantity"] = "set_quantity"
    line: Position
    qty: Qty


class RemoveLine(_DraftCommand):
    type: Literal["remove_line"] = "remove_line"
    line: Position


class AddLine(_DraftCommand):
    """A catalogue product the customer asked for outside the comments (seed 001)."""

    type: Literal["add_line"] = "add_line"
    code: Id
    attributes: Attributes = Field(default_factory=dict)
    qty: Qty = 1


class AddCustomLine(_DraftCommand):
    """An ad-hoc product that exists only in this order, never in the catalogue (seed 002)."""

    type: Literal["add_custom_line"] = "add_custom_line"
    name: Text
    price: Annotated[int, Field(ge=0)]
    qty: Qty = 1


class Assign(_DraftCommand):
    type: Literal["assign"] = "assign"
    assignee: Id


class Finalise(_DraftCommand):
    type: Literal["finalise"] = "finalise"
    action: DraftAction


class ChatStart(_Command):
    """A salesperson starts an order inside a conversation (seed 000)."""

    type: Literal["chat_start"] = "chat_start"
    shop_id: Id
    conversation_id: Id
    platform: Id
    page_id: Id | None = None
    user_id: Id | None = None  # the customer's platform id in this conversation
    customer_name: Text | None = None
    customer_phone: Text | None = None
    mode: Literal["new_sale", "upsell"] = "new_sale"
    website: Text | None = None  # a chat started from this website's widget (seed 004)

    @property
    def key(self) -> str:
        return self.conversation_id


class ChatDiscard(_Command):
    type: Literal["chat_discard"] = "chat_discard"
    shop_id: Id
    conversation_id: Id

    @property
    def key(self) -> str:
        return self.conversation_id


class ChangeStatus(_Command):
    """One order (single) or many (bulk): all move, or none and every reason is listed."""

    type: Literal["change_status"] = "change_status"
    shop_id: Id | None = None  # optional: an order id names its livestream, hence its shop
    order_ids: Annotated[list[Id], Field(min_length=1, max_length=10_000)]
    to: Id

    @property
    def key(self) -> str:
        return self.order_ids[0]


class Merge(_Command):
    """Livestream Pro's gộp đơn: one customer's orders become one order for one shipment."""

    type: Literal["merge"] = "merge"
    shop_id: Id | None = None
    order_ids: Annotated[list[Id], Field(min_length=2, max_length=1000)]

    @property
    def key(self) -> str:
        return self.order_ids[0]


class Blacklist(_Command):
    """Flag (or unflag) a customer: their comments are marked, never dropped."""

    type: Literal["blacklist"] = "blacklist"
    shop_id: Id
    phone: Text | None = None
    platform: Id | None = None
    user_id: Id | None = None
    blacklisted: bool = True
    reason: Text | None = None

    @model_validator(mode="after")
    def _who(self) -> Blacklist:
        if self.phone is None and (self.platform is None or self.user_id is None):
            raise ValueError("name the customer by phone, or by platform and user_id")
        return self

    @property
    def key(self) -> str:
        return self.shop_id


def _person_problems(platform: str | None, user_id: str | None, phone: str | None) -> str | None:
    if (platform is None) != (user_id is None):
        return "a platform account needs both platform and user_id"
    if phone is None and platform is None:
        return "name the customer by phone, or by platform and user_id"
    return None


def _one_of(command: BaseModel, first: str, second: str) -> None:
    if (getattr(command, first) is None) == (getattr(command, second) is None):
        raise ValueError(f"give exactly one of {first} and {second}")


class AssignOwner(_Command):
    """Make a staff member the customer's owner (người phụ trách, seed 004): one named, or the
    next member of a group in turn (round-robin; the processor gives the store the group's
    members). The customer is the order's, else found by platform account, then phone; a person
    without a record yet gets one. `keep_existing`: a customer who has an owner keeps them."""

    type: Literal["assign_owner"] = "assign_owner"
    shop_id: Id
    order_id: Id | None = None
    platform: Id | None = None
    user_id: Id | None = None
    phone: Text | None = None
    owner: Id | None = None
    group: Id | None = None
    keep_existing: bool = False

    @model_validator(mode="after")
    def _who(self) -> AssignOwner:
        _one_of(self, "owner", "group")
        if self.order_id is None:
            problem = _person_problems(self.platform, self.user_id, self.phone)
            if problem:
                raise ValueError(f"{problem} (or by order_id)")
        elif (self.platform is None) != (self.user_id is None):
            raise ValueError("a platform account needs both platform and user_id")
        return self

    @property
    def key(self) -> str:
        return self.shop_id


class AssignOrder(_Command):
    """Assign a finished order to a salesperson: one named, or the next member of a group.
    `keep_existing`: an order that has an assignee keeps them."""

    type: Literal["assign_order"] = "assign_order"
    shop_id: Id | None = None  # optional: an order id names its livestream, hence its shop
    order_id: Id
    assignee: Id | None = None
    group: Id | None = None
    keep_existing: bool = False

    @model_validator(mode="after")
    def _one(self) -> AssignOrder:
        _one_of(self, "assignee", "group")
        return self

    @property
    def key(self) -> str:
        return self.order_id


class TagOrder(_Command):
    """Add a tag to a finished order (once: tagging again changes nothing)."""

    type: Literal["tag_order"] = "tag_order"
    shop_id: Id | None = None
    order_id: Id
    tag: Id

    @property
    def key(self) -> str:
        return self.order_id


class SendMessage(_Command):
    """Send the customer a message from a template: about an order, or about a livestream draft
    (`livestream_id` + `seq`; `line`, 1-based, for a waitlist promotion)."""

    type: Literal["send_message"] = "send_message"
    shop_id: Id
    template: Id
    order_id: Id | None = None
    livestream_id: Id | None = None
    seq: Annotated[int, Field(ge=1)] | None = None
    line: Position | None = None

    @model_validator(mode="after")
    def _about(self) -> SendMessage:
        by_draft = self.livestream_id is not None or self.seq is not None
        complete = self.livestream_id is not None and self.seq is not None
        if (self.order_id is not None) == by_draft or (by_draft and not complete):
            raise ValueError("a message is about an order_id, or a livestream_id and seq")
        return self

    @property
    def key(self) -> str:
        return self.order_id or self.livestream_id or ""


class InboundMessage(_Command):
    """The customer wrote to the shop's inbox at `at` (opens Facebook's 24-hour window)."""

    type: Literal["inbound_message"] = "inbound_message"
    shop_id: Id
    platform: Id
    user_id: Id
    conversation_id: Id | None = None
    at: Text  # ISO 8601 with its offset

    @field_validator("at")
    @classmethod
    def _aware(cls, value: str) -> str:
        if aware_instant(value) is None:
            raise ValueError("at must be an ISO 8601 time with its UTC offset")
        return value

    @property
    def key(self) -> str:
        return self.shop_id


def aware_instant(text: str) -> datetime | None:
    """An ISO 8601 time with its offset, or None when `text` is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


DraftCommand = Annotated[
    SetCustomer | PickProduct | ChooseVariant | SetQuantity | RemoveLine | AddLine
    | AddCustomLine | Assign | Finalise,
    Field(discriminator="type"),
]  # fmt: skip
Command = Annotated[
    SetCustomer | PickProduct | ChooseVariant | SetQuantity | RemoveLine | AddLine
    | AddCustomLine | Assign | Finalise | ChatStart | ChatDiscard | ChangeStatus | Merge
    | Blacklist | AssignOwner | AssignOrder | TagOrder | SendMessage | InboundMessage,
    Field(discriminator="type"),
]  # fmt: skip


class Reason(BaseModel):
    """Why a command was refused: a stable code for programs, a message for people."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str  # stable, snake_case: what a program matches on
    field: str | None = None  # the command or draft field at fault, when there is one
    vi: str
    en: str


class Outcome(BaseModel):
    """What a command did, on `chotdon.command-outcomes` keyed like the command."""

    model_config = ConfigDict(extra="forbid")

    v: Literal[1] = 1
    command_id: str
    type: str
    status: Literal["applied", "refused"]
    reasons: list[Reason] = Field(default_factory=list)
    # what the command produced or touched, as their JSON: the draft after the change, the
    # orders created or moved, a chat's previous orders for an upsell
    draft: dict[str, object] | None = None
    orders: list[dict[str, object]] = Field(default_factory=list)
    previous_orders: list[dict[str, object]] = Field(default_factory=list)
    customer: dict[str, object] | None = None  # the customer record a command changed
    message: dict[str, object] | None = None  # a customer message sent, or refused
