"""The shop configuration: the contract of COMMENT_SYNTAX.md as a pydantic schema.

Every model forbids unknown keys, so a typo (`order_keyword`) is refused instead of silently
ignored. Values are normalised here once (NFC, trimmed) so the parser can trust them.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from config.automation import (
    AUTOMATION_STAFF,
    Location,
    Messages,
    Rule,
    automation_problems,
    repeated,
)


def _nfc(value: object) -> object:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    return value


def _text_value(value: object) -> object:
    """TOML lets a shop write `size = [28, 29]`; attribute values are text either way."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    return _nfc(value)


Word = Annotated[str, BeforeValidator(_nfc), Field(min_length=1)]
AttributeValue = Annotated[str, BeforeValidator(_text_value), Field(min_length=1)]

_CODE_RE = re.compile(r"^[A-Za-z0-9]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ShopInfo(_Strict):
    id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")]
    name: Word
    currency: Word = "VND"


DEFAULT_ORDER_KEYWORDS = ("chốt", "lấy", "đặt", "mua")
DEFAULT_CANCEL_KEYWORDS = ("hủy", "huỷ", "bỏ", "không lấy")
DEFAULT_QUANTITY_WORDS = ("sl", "số lượng", "x", "cái", "c", "chiếc", "bộ", "đôi", "hộp")
DEFAULT_QUESTION_MARKERS = (
    "?", "bao nhiêu", "giá", "còn không", "còn ko", "còn k", "có không", "có ko",
    "không ạ", "ko ạ", "ntn", "sao",
)  # fmt: skip
DEFAULT_CODE_PATTERN = "[A-Za-z]{1,4}[0-9]{1,4}"
# Extension: words naming an attribute before its value (`size M`, `màu đỏ`). Each attribute's
# own name is always a label too.
DEFAULT_ATTRIBUTE_LABELS: dict[str, tuple[str, ...]] = {
    "size": ("size", "sz", "sai", "cỡ"),
    "color": ("màu", "color"),
}
# Extension: words that may stand between an order keyword and a code (`lấy mã B3`).
DEFAULT_CODE_MARKERS = ("mã", "code", "sp")
# Extension: politeness words that may follow a bare cancel word (`hủy nha shop`, `huỷ giúp em`)
# or stand between a keyword and the item it names (`chốt cho em Z9`, `hủy cho e AB5`).
# A bare cancel word followed by anything else (`bỏ rác vào`) is an ordinary verb, not a cancel.
DEFAULT_PARTICLES = (
    "nha", "nhé", "nhe", "nhá", "nhen", "ạ", "à", "a", "ah", "ha", "shop", "sốp", "giúp", "giùm",
    "dùm", "hộ", "cho", "em", "e", "mình", "với", "vs", "ơi", "luôn", "nữa", "đơn", "hàng", "này",
    "đó",
)  # fmt: skip


# Extension: words that introduce part of an address; a number right after one is a house,
# district or ward number, never a quantity (`ship về quận 7`, `Q.7`, `số 12 Nguyễn Trãi`).
DEFAULT_ADDRESS_WORDS = (
    "quận", "q", "phường", "p", "số", "ngõ", "ngách", "hẻm", "kiệt", "đường", "tầng", "lầu",
    "phòng", "tổ", "ấp", "khu", "block", "lô", "căn", "km",
)  # fmt: skip


# Extension: words that, after a number, make it a measure rather than a quantity
# (`ship 2 ngày`, `150 nghìn`, `cao 1 mét 6`, `nặng 50 ký`).
DEFAULT_MEASURE_WORDS = (
    "ngày", "hôm", "tuần", "tháng", "năm", "tiếng", "giờ", "phút", "giây", "tuổi", "ký", "kí",
    "kg", "cân", "cm", "mét", "m", "lần", "km", "nghìn", "ngàn", "triệu", "tr", "k", "đồng",
    "đ", "vnd", "củ", "lít",
)  # fmt: skip

# Extension: words that negate a cancel word right after them (`đừng hủy đơn em nha`).
DEFAULT_NEGATIONS = ("đừng", "không", "ko", "k", "chưa", "khỏi")


class Syntax(_Strict):
    order_keywords: tuple[Word, ...] = DEFAULT_ORDER_KEYWORDS
    require_keyword: bool = False
    cancel_keywords: tuple[Word, ...] = DEFAULT_CANCEL_KEYWORDS
    quantity_words: tuple[Word, ...] = DEFAULT_QUANTITY_WORDS
    question_markers: tuple[Word, ...] = DEFAULT_QUESTION_MARKERS
    code_pattern: str = DEFAULT_CODE_PATTERN
    max_quantity: Annotated[int, Field(ge=1, le=100_000)] = 50
    attribute_labels: dict[str, tuple[Word, ...]] = Field(
        default_factory=lambda: dict(DEFAULT_ATTRIBUTE_LABELS)
    )
    code_markers: tuple[Word, ...] = DEFAULT_CODE_MARKERS
    particles: tuple[Word, ...] = DEFAULT_PARTICLES
    address_words: tuple[Word, ...] = DEFAULT_ADDRESS_WORDS
    negations: tuple[Word, ...] = DEFAULT_NEGATIONS
    measure_words: tuple[Word, ...] = DEFAULT_MEASURE_WORDS

    @field_validator("code_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class Orders(_Strict):
    repeat_comment: Literal["ignore", "add"] = "ignore"


class Product(_Strict):
    code: Annotated[str, Field(min_length=1, max_length=16)]
    name: Word
    price: Annotated[int, Field(ge=0)]
    stock: Annotated[int, Field(ge=0)] | None = None
    attributes: dict[Word, tuple[AttributeValue, ...]] = Field(default_factory=dict)

    @field_validator("code")
    @classmethod
    def _code_is_alphanumeric(cls, value: str) -> str:
        if not _CODE_RE.match(value):
            raise ValueError("a product code is letters and digits only (like A12 or MP10)")
        return value.upper()

    @field_validator("attributes")
    @classmethod
    def _values_are_unique(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for attribute, values in value.items():
            if not values:
                raise ValueError(f"attribute {attribute!r} lists no values")
            seen: set[str] = set()
            for item in values:
                if item.casefold() in seen:
                    raise ValueError(f"attribute {attribute!r} lists {item!r} twice")
                seen.add(item.casefold())
        return value


def _unique_codes(products: tuple[Product, ...]) -> tuple[Product, ...]:
    seen: set[str] = set()
    for product in products:
        if product.code in seen:
            raise ValueError(f"product code {product.code!r} appears twice")
        seen.add(product.code)
    return products


class ProductGroup(_Strict):
    """A livestream's own product group (`chotdon live start --products GROUP.toml`)."""

    products: tuple[Product, ...]

    _check_codes = field_validator("products")(classmethod(lambda cls, v: _unique_codes(v)))


_KEY_RE = r"^[a-z][a-z0-9_]*$"
StatusKey = Annotated[str, Field(min_length=1, max_length=32, pattern=_KEY_RE)]
FinaliseAction = Literal["create", "deliver_now", "send_to_store"]


class ConfigProblems(ValueError):
    """Several faults one validator found, each at its own place inside the value it checked.

    pydantic reports a validator's error at the validated value; `config.loader` appends each
    problem's location to that, so a person reads `workflow.statuses[2].to: ...` rather than one
    long message at `workflow`. Raised outside the loader it reads as the same list, one a line.
    """

    def __init__(self, problems: list[tuple[Location, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{_location(at)}: {why}" if at else why
                                    for at, why in problems))  # fmt: skip


def _location(at: Location) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in at).lstrip(".")


class Status(_Strict):
    """One order status of the shop's workflow (seed 003: a name, a colour, revenue or not)."""

    key: StatusKey  # stable: orders store the key, so a shop can rename a status freely
    name: Word
    color: Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$")] = "#9e9e9e"
    revenue: bool = False  # counts towards revenue in `chotdon stats`
    returned: bool = False  # an order here counts as returned for its customer (bom hàng)
    to: tuple[StatusKey, ...] = ()  # the statuses an order may move to from this one


DEFAULT_STATUSES = (
    Status(key="new", name="Vừa tạo", color="#1e88e5", revenue=True, to=("confirmed", "cancelled")),
    Status(key="confirmed", name="Đã chốt", color="#8e24aa", revenue=True,
           to=("shipped", "cancelled")),
    Status(key="shipped", name="Đã giao", color="#43a047", revenue=True, to=("returned",)),
    Status(key="returned", name="Bị trả lại", color="#e53935", returned=True),
    Status(key="cancelled", name="Đã hủy", color="#757575"),
)  # fmt: skip


DEFAULT_ACTIONS: dict[FinaliseAction, str] = {
    "create": "new", "deliver_now": "shipped", "send_to_store": "new",
}  # fmt: skip


class Workflow(_Strict):
    """Order statuses and their moves, checked as a whole when the shop's file is loaded.

    `actions` always holds all three finalise actions: a shop's `[workflow.actions]` replaces
    the defaults it names and keeps the others, which must then name statuses of its workflow.
    """

    statuses: tuple[Status, ...] = DEFAULT_STATUSES
    # the status an order gets when staff finalise a draft with each action (seed 001)
    actions: dict[FinaliseAction, StatusKey] = Field(default_factory=lambda: dict(DEFAULT_ACTIONS))

    @field_validator("actions", mode="before")
    @classmethod
    def _keep_default_actions(cls, value: object) -> object:
        if isinstance(value, dict):
            return {**DEFAULT_ACTIONS, **value}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Workflow:
        problems = workflow_problems(self)
        if problems:
            raise ConfigProblems(problems)
        return self

    def status(self, key: str) -> Status | None:
        """The status with this key, or None (an order may keep a key the shop removed)."""
        for status in self.statuses:
            if status.key == key:
                return status
        return None


def workflow_problems(workflow: Workflow) -> list[tuple[Location, str]]:
    """Every structural fault of a workflow, each with its place inside the workflow.

    Unique keys; every `to` and every action names a status; every status can be reached from
    the status of some finalise action. Reachability is judged only once the actions are
    right: a renamed status that the actions still miss would otherwise be reported twice.
    """
    if not workflow.statuses:
        return [(("statuses",), "a workflow needs at least one status")]
    problems: list[tuple[Location, str]] = []
    first: dict[str, int] = {}
    for index, status in enumerate(workflow.statuses):
        if status.key in first:
            where = f"statuses[{first[status.key]}]"
            problems.append(
                (("statuses", index, "key"), f"status {status.key!r} is already defined at {where}")
            )
        else:
            first[status.key] = index
    for index, status in enumerate(workflow.statuses):
        for target in status.to:
            if target not in first:
                why = f"status {status.key!r} moves to {target!r}, which is not a status"
                problems.append((("statuses", index, "to"), why))
    bad_actions = [(action, key) for action, key in workflow.actions.items() if key not in first]
    for action, key in bad_actions:
        why = (f"finalise action {action!r} gives status {key!r}, which is not a status "
               f"(set workflow.actions.{action})")  # fmt: skip
        problems.append((("actions", action), why))
    if not bad_actions:
        moves = {status.key: status.to for status in workflow.statuses}
        reached: set[str] = set()
        queue = list(workflow.actions.values())
        while queue:
            key = queue.pop()
            if key not in reached and key in moves:
                reached.add(key)
                queue.extend(moves[key])
        for index, status in enumerate(workflow.statuses):
            if status.key not in reached and first[status.key] == index:
                why = (f"status {status.key!r} cannot be reached: no finalise action gives it "
                       f"and no reachable status moves to it")  # fmt: skip
                problems.append((("statuses", index), why))
    return problems


class Staff(_Strict):
    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
    name: Word
    # Teams this person belongs to; a rule may assign round-robin in one (`{ group = "sales" }`).
    groups: tuple[Word, ...] = ()


def _unique_staff(staff: tuple[Staff, ...]) -> tuple[Staff, ...]:
    """Staff ids are unique, ignoring case."""
    problems = repeated([person.id for person in staff], "staff id", "staff", "id")
    if problems:
        raise ConfigProblems(problems)
    return staff


class ShopConfig(_Strict):
    shop: ShopInfo
    syntax: Syntax = Syntax()
    orders: Orders = Orders()
    workflow: Workflow = Workflow()
    # Who may act; empty: any staff id is accepted (a shop that has not listed its people yet).
    staff: tuple[Staff, ...] = ()
    aliases: dict[Word, tuple[Word, ...]] = Field(default_factory=dict)
    products: tuple[Product, ...] = ()
    # Automation (config/automation.py): checked against the workflow, staff and templates.
    rules: tuple[Rule, ...] = ()
    messages: Messages = Messages()

    _check_codes = field_validator("products")(classmethod(lambda cls, v: _unique_codes(v)))
    _check_staff = field_validator("staff")(classmethod(lambda cls, v: _unique_staff(v)))

    @model_validator(mode="after")
    def _automation_works(self) -> ShopConfig:
        """Rules that cannot work in this shop are refused when it is loaded (each at its place:
        `rules[1].do[0].assign_owner: unknown staff 'x'`)."""
        problems: list[tuple[Location, str]] = [
            (("staff", index, "id"), f"staff id {person.id!r} is reserved for automation rules")
            for index, person in enumerate(self.staff)
            if person.id.casefold() == AUTOMATION_STAFF
        ]
        problems += automation_problems(self.rules, self.messages, self.workflow, self.staff)
        if problems:
            raise ConfigProblems(problems)
        return self

    @field_validator("aliases")
    @classmethod
    def _aliases_are_unambiguous(
        cls, aliases: dict[str, tuple[str, ...]]
    ) -> dict[str, tuple[str, ...]]:
        owner: dict[str, str] = {}
        for canonical, spellings in aliases.items():
            for spelling in spellings:
                key = spelling.casefold()
                if key in owner and owner[key] != canonical:
                    raise ValueError(
                        f"alias {spelling!r} is given for both {owner[key]!r} and {canonical!r}"
                    )
                owner[key] = canonical
        return aliases

    def with_products(self, group: ProductGroup) -> ShopConfig:
        """This shop with a livestream's product group in place of its own products."""
        return self.model_copy(update={"products": group.products})


@functools.lru_cache(maxsize=128)
def shop_config_from_json(raw: bytes | str) -> ShopConfig:
    """A stored shop configuration, parsed once per distinct text: every staff command reads
    its shop's, and parsing a whole catalogue again each time cost ~15 % of a command's CPU
    (benchmarks/command_bench.py). The model is frozen, so sharing one instance is safe."""
    return ShopConfig.model_validate_json(raw)
