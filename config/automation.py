"""Automation rules and message templates of a shop: the `[[rules]]` and `[messages]` schema.

A rule is Getfly's automation (seed 004) in a few lines of TOML: *on* an event, *when* its
condition holds, *do* its actions, in order. Orders from two sources given two owners:

    [[rules]]
    name = "Website dùng thử → Lan"
    on   = "order_created"
    when = { website = "https://www.getfly.vn/dang-ky-dung-thu-phan-mem.html" }
    do   = [{ assign_owner = "lan" }]

    [[rules]]
    name = "Fanpage Getfly → Minh"
    on   = "order_created"
    when = { website = "https://www.facebook.com/getfly" }
    do   = [{ assign_owner = "minh" }]

Triggers (`on`) and what they act on (their *subject*):
- `order_created` (an order): a draft was finalised into an order, or orders were merged;
- `status_changed` (an order): an order moved; `from` / `to` narrow it to one move;
- `draft_created` (a draft): a livestream draft got its number, or a chat order was started;
- `waitlist_promoted` (a draft): units a draft line waited for were reserved for it;
- `customer_flagged` (a draft): a draft's customer carries a flag (blacklisted, or with returned
  orders), raised once per draft. A flag is seen when the customer comments, that is on a draft;
  for orders, the `new_customer` and `returned_min` conditions of `order_created` say the same.

Conditions (`when`): every key given must hold; `any` = a list of conditions of which one must
hold, `all` = a list that must all hold (they nest). The source keys `platform`, `page`,
`livestream`, `conversation`, `website` each take a string or a list of strings, compared
exactly (platform names in lower case) with the subject's source; `total_min` / `total_max` in
đồng (inclusive); `codes`: some line has one of these product codes; `tags`: the order has all
of them; `status`: the order's status is this key or one of these keys; `new_customer`: the
customer had no order before this one; `returned_min`: the customer has at least this many
returned orders.

Actions (`do`), each exactly one key: `assign_owner` (the customer's owner, Getfly's "người
phụ trách khách hàng") or `assign_staff` (the draft's or order's salesperson), each a staff id or
`{ group = "sales" }` (round-robin among the staff of that group); `add_tag` (orders only);
`set_status` (orders only); `send_message` (a template of `[messages]`, to the customer's inbox,
never the comment thread: seed 002).

Pure: this module checks a rule set against the shop's statuses, staff and templates
(`automation_problems`, run by `config.shop.ShopConfig` when a shop is loaded); evaluation is
orders/automation/rules.py, rendering and messaging windows orders/automation/messages.py.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from config.base import ConfigProblems, Location, Strict, nfc, repeated
from config.staff import Staff, group_members
from config.workflow import Workflow

Trigger = Literal[
    "draft_created", "order_created", "status_changed", "waitlist_promoted", "customer_flagged"
]
SubjectKind = Literal["order", "draft"]
TRIGGERS: tuple[Trigger, ...] = (
    "draft_created", "order_created", "status_changed", "waitlist_promoted", "customer_flagged",
)  # fmt: skip
# What each trigger acts on. A draft is no order yet: it has no status and no tags.
SUBJECT: dict[Trigger, SubjectKind] = {
    "draft_created": "draft",
    "order_created": "order",
    "status_changed": "order",
    "waitlist_promoted": "draft",
    "customer_flagged": "draft",
}
# The staff id of the commands rules send (orders/automation/rules.py); no person of a shop
# may have it.
AUTOMATION_STAFF = "automation"
ACTION_KEYS = ("assign_owner", "assign_staff", "add_tag", "set_status", "send_message")
ORDER_ONLY_ACTIONS = ("add_tag", "set_status")

# -- message templates ---------------------------------------------------------------------------

# The fields a template may use, as `{name}`; orders/automation/messages.py fills them.
TEMPLATE_FIELDS: dict[str, str] = {
    "customer_name": "the customer's name (the contact's, else the platform's; 'bạn' if none)",
    "order_id": "the order id (orders only)",
    "seq": "the order's number: the livestream's STT, or the chat order's number",
    "lines": "one line per order line: '- {name} {attributes} x{qty}: {amount}'",
    "total": "the total in đồng, like 159.000đ",
    "status_name": "the order's status as the shop names it (orders only)",
    "shop_name": "the shop's name",
    "livestream_id": "the livestream the order came from (empty for chat orders)",
    "code": "the promoted line's product code (waitlist_promoted only)",
    "product_name": "the promoted line's product name (waitlist_promoted only)",
    "qty": "the units now reserved on the promoted line (waitlist_promoted only)",
}
ORDER_ONLY_FIELDS = frozenset({"order_id", "status_name"})
LINE_FIELDS = frozenset({"code", "product_name", "qty"})
BUILT_IN_TEMPLATES = ("order_confirmation", "waitlist_promotion", "shipping_notice")


def fields_for(trigger: Trigger) -> frozenset[str]:
    """The template fields an event of this trigger can fill."""
    fields = set(TEMPLATE_FIELDS)
    if SUBJECT[trigger] == "draft":
        fields -= ORDER_ONLY_FIELDS
    if trigger != "waitlist_promoted":
        fields -= LINE_FIELDS
    return frozenset(fields)


def template_fields(template: str) -> set[str]:
    """The field names a template uses (`{name}`); ValueError when it is not a valid template."""
    fields = set()
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if name == "" or not name.isidentifier():
            raise ValueError(f"{{{name}}} is not a field: write a field name, like {{order_id}} "
                             "(a literal brace is written {{ or }})")  # fmt: skip
        if spec or conversion:
            raise ValueError(f"{{{name}}} has a format: write just {{{name}}}")
        fields.add(name)
    return fields


def template_problem(template: str) -> str | None:
    """Why a template cannot be rendered, or None."""
    try:
        fields = template_fields(template)
    except ValueError as exc:
        return str(exc)
    unknown = sorted(fields - TEMPLATE_FIELDS.keys())
    if unknown:
        return (f"unknown field {{{unknown[0]}}} (fields: "
                + ", ".join(TEMPLATE_FIELDS) + ")")  # fmt: skip
    return None


# -- the schema ----------------------------------------------------------------------------------


def _one_or_many(normalise: str) -> BeforeValidator:
    """A string or a list of strings, as a tuple; normalised (NFC, trimmed, and cased)."""

    def convert(value: object) -> object:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            return value
        out: list[object] = []
        for item in items:
            item = nfc(item)
            if isinstance(item, str) and normalise == "lower":
                item = item.lower()
            elif isinstance(item, str) and normalise == "upper":
                item = item.upper()
            out.append(item)
        return tuple(out)

    return BeforeValidator(convert)


def _not_empty(value: tuple[object, ...]) -> tuple[object, ...]:
    # An after-validator, not min_length: pydantic would add "at least 1 item" to every list
    # whose items are refused.
    if not value:
        raise ValueError("give at least one")
    return value


NotEmpty = AfterValidator(_not_empty)
Text = Annotated[str, BeforeValidator(nfc), Field(min_length=1)]
# The same shapes as config.shop's status keys and staff ids.
Key = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
StaffId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Texts = Annotated[tuple[Text, ...], _one_or_many("none"), NotEmpty]
Platforms = Annotated[tuple[Text, ...], _one_or_many("lower"), NotEmpty]
Codes = Annotated[tuple[Text, ...], _one_or_many("upper"), NotEmpty]
Keys = Annotated[tuple[Key, ...], _one_or_many("none"), NotEmpty]
Money = Annotated[int, Field(ge=0)]


class Condition(Strict):
    """What must hold of an event for its rule to act; every key given must hold."""

    platform: Platforms | None = None
    page: Texts | None = None
    livestream: Texts | None = None
    conversation: Texts | None = None
    website: Texts | None = None
    total_min: Money | None = None
    total_max: Money | None = None
    codes: Codes | None = None
    tags: Texts | None = None
    status: Keys | None = None
    new_customer: bool | None = None
    returned_min: Annotated[int, Field(ge=0)] | None = None
    any: Annotated[tuple[Condition, ...], NotEmpty] | None = None
    all: Annotated[tuple[Condition, ...], NotEmpty] | None = None

    @model_validator(mode="after")
    def _possible(self) -> Condition:
        if (self.total_min is not None and self.total_max is not None
                and self.total_min > self.total_max):  # fmt: skip
            raise ValueError(f"total_min {self.total_min} is above total_max {self.total_max}: "
                             "no order can match")  # fmt: skip
        return self

    def walk(self, at: tuple[int | str, ...] = ()) -> list[tuple[tuple[int | str, ...], Condition]]:
        """This condition and every nested one, each with its place under this one."""
        found = [(at, self)]
        for key in ("any", "all"):
            for index, nested in enumerate(getattr(self, key) or ()):
                found += nested.walk((*at, key, index))
        return found


class Group(Strict):
    """Round-robin among the staff of a group (`Staff.groups`)."""

    group: Text


Assignee = StaffId | Group


class Action(Strict):
    """One thing a rule does: exactly one of the keys is given."""

    assign_owner: Assignee | None = None
    assign_staff: Assignee | None = None
    add_tag: Text | None = None
    set_status: Key | None = None
    send_message: Key | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Action:
        given = [key for key in ACTION_KEYS if getattr(self, key) is not None]
        if len(given) != 1:
            got = f" (got {', '.join(given)})" if given else ""
            raise ValueError(f"give exactly one of {', '.join(ACTION_KEYS)}{got}")
        return self

    @property
    def kind(self) -> str:
        """Which action this is: one of ACTION_KEYS."""
        return next(key for key in ACTION_KEYS if getattr(self, key) is not None)

    @property
    def value(self) -> str | Group:
        value: str | Group = getattr(self, self.kind)
        return value


class Rule(BaseModel):
    """On an event, when its condition holds, do its actions (in order)."""

    # `from` and `to` are Python keywords: the fields are from_status and to_status, read and
    # written as `from` and `to` (ShopConfig is stored as JSON and read back).
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True,
        serialize_by_alias=True,
    )  # fmt: skip

    name: Text
    on: Trigger
    from_status: Key | None = Field(default=None, alias="from")
    to_status: Key | None = Field(default=None, alias="to")
    when: Condition = Condition()
    do: Annotated[tuple[Action, ...], NotEmpty]

    @property
    def subject(self) -> SubjectKind:
        return SUBJECT[self.on]


class Messages(Strict):
    """The shop's message templates. A template left out is not sent (nothing is sent by default:
    a shop says what its customers receive)."""

    order_confirmation: Text | None = None
    waitlist_promotion: Text | None = None
    shipping_notice: Text | None = None
    templates: dict[Key, Text] = Field(default_factory=dict)  # more, by name

    @model_validator(mode="after")
    def _renderable(self) -> Messages:
        problems: list[tuple[Location, str]] = []
        for name in BUILT_IN_TEMPLATES:
            template = getattr(self, name)
            problem = template_problem(template) if template is not None else None
            if problem:
                problems.append(((name,), problem))
        for name, template in self.templates.items():
            if name in BUILT_IN_TEMPLATES:
                why = f"{name!r} is a built-in template: set it as messages.{name}"
                problems.append((("templates", name), why))
            problem = template_problem(template)
            if problem:
                problems.append((("templates", name), problem))
        if problems:
            raise ConfigProblems(problems)
        return self

    def template(self, name: str) -> str | None:
        """The text of a template, or None when the shop has not set it."""
        if name in BUILT_IN_TEMPLATES:
            text: str | None = getattr(self, name)
            return text
        return self.templates.get(name)

    def names(self) -> list[str]:
        """The templates the shop has set."""
        built_in = [name for name in BUILT_IN_TEMPLATES if getattr(self, name) is not None]
        return built_in + list(self.templates)


# -- checking a rule set against its shop --------------------------------------------------------


def _reachable_targets(rule: Rule, workflow: Workflow) -> set[str] | None:
    """The statuses an order this rule sees may move to, or None when any status may be seen."""
    seen: set[str] | None = None
    if rule.on == "order_created":
        seen = set(workflow.actions.values())
    if rule.to_status is not None:
        seen = {rule.to_status} if seen is None else seen & {rule.to_status}
    if rule.when.status is not None:
        seen = set(rule.when.status) if seen is None else seen & set(rule.when.status)
    if seen is None:
        return None
    return {target for key in seen if (status := workflow.status(key)) for target in status.to}


def _rule_problems(
    rule: Rule, workflow: Workflow, staff: Sequence[Staff], messages: Messages
) -> list[tuple[Location, str]]:
    problems: list[tuple[Location, str]] = []
    statuses = {status.key for status in workflow.statuses}
    draft = rule.subject == "draft"
    for key, moved in (("from", rule.from_status), ("to", rule.to_status)):
        if moved is None:
            continue
        if rule.on != "status_changed":
            problems.append(((key,), f"`{key}` narrows a status_changed rule only, not {rule.on}"))
        elif moved not in statuses:
            problems.append(((key,), f"unknown status {moved!r}"))
    for place, condition in rule.when.walk(("when",)):
        for status in condition.status or ():
            if draft:
                why = f"a {rule.on} rule acts on a draft, which has no status (orders only)"
                problems.append(((*place, "status"), why))
                break
            if status not in statuses:
                problems.append(((*place, "status"), f"unknown status {status!r}"))
        if draft and condition.tags is not None:
            why = f"a {rule.on} rule acts on a draft, which has no tags (orders only)"
            problems.append(((*place, "tags"), why))
    known_staff = {person.id for person in staff}
    for index, action in enumerate(rule.do):
        kind, value = action.kind, action.value
        at: Location = ("do", index, kind)
        if kind in ORDER_ONLY_ACTIONS and draft:
            why = f"{kind} acts on orders only; a {rule.on} rule acts on a draft"
            problems.append((at, why))
        elif kind in ("assign_owner", "assign_staff"):
            if isinstance(value, Group):
                if not group_members(staff, value.group):
                    problems.append(((*at, "group"), f"unknown group {value.group!r} "
                                     "(no staff member is in it)"))  # fmt: skip
            elif staff and value not in known_staff:
                problems.append((at, f"unknown staff {value!r}"))
        elif kind == "set_status":
            if value not in statuses:
                problems.append((at, f"unknown status {value!r}"))
            else:
                targets = _reachable_targets(rule, workflow)
                if targets is not None and value not in targets:
                    why = (f"no status this rule sees moves to {value!r}: the order would stay "
                           "where it is (see workflow.statuses[].to)")  # fmt: skip
                    problems.append((at, why))
        elif kind == "send_message":
            assert isinstance(value, str)
            template = messages.template(value)
            if template is None:
                known = ", ".join(messages.names()) or "none set"
                problems.append((at, f"unknown template {value!r} (templates: {known})"))
            else:
                missing = sorted(template_fields(template) - fields_for(rule.on))
                if missing:
                    why = (f"template {value!r} uses {{{missing[0]}}}, which {rule.on} events "
                           "do not have")  # fmt: skip
                    problems.append((at, why))
    return problems


def automation_problems(
    rules: Sequence[Rule], messages: Messages, workflow: Workflow, staff: Sequence[Staff]
) -> list[tuple[Location, str]]:
    """Every reason a rule set cannot work in its shop, each at its place under `rules`.

    Rule names are unique (ignoring case); every status named is the workflow's; every staff id
    is the shop's (when the shop lists staff; otherwise any id is accepted, as for commands),
    every group has a member; every template is set and uses only fields its trigger has;
    drafts get no status and no tags; `from` / `to` belong to status_changed rules.
    """
    problems = [
        (("rules", *at), why)
        for at, why in repeated([rule.name for rule in rules], "rule name", "rules", "name")
    ]
    for index, rule in enumerate(rules):
        problems += [(("rules", index, *at), why)
                     for at, why in _rule_problems(rule, workflow, staff, messages)]  # fmt: skip
    return problems
