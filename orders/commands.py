"""Staff commands (`chotdon.order-commands`) and their outcomes (`chotdon.command-outcomes`).

One pydantic model per command, told apart by `type`. Every command carries a `command_id`: the
store records the outcome under it, so a command delivered twice acts once and answers the same
outcome again. The Kafka key is `Command.key`: the livestream id or the conversation id, so the
commands of one livestream (or chat) are applied in the order staff sent them.

A draft is addressed by `livestream_id` + `seq` (a livestream draft) or by `conversation_id` (the
chat order in progress in that conversation). A line is addressed by its 1-based position in the
draft's `lines`, as `chotdon drafts` shows it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


DraftCommand = Annotated[
    SetCustomer | PickProduct | ChooseVariant | SetQuantity | RemoveLine | AddLine
    | AddCustomLine | Assign | Finalise,
    Field(discriminator="type"),
]  # fmt: skip
Command = Annotated[
    SetCustomer | PickProduct | ChooseVariant | SetQuantity | RemoveLine | AddLine
    | AddCustomLine | Assign | Finalise | ChatStart | ChatDiscard | ChangeStatus | Merge
    | Blacklist,
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
