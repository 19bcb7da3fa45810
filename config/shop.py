"""The shop configuration: the contract of COMMENT_SYNTAX.md as a pydantic schema.

Every model forbids unknown keys, so a typo (`order_keyword`) is refused instead of silently
ignored. Values are normalised here once (NFC, trimmed) so the parser can trust them.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Literal

from pydantic import (
    BeforeValidator,
    Field,
    field_validator,
    model_validator,
)

from config.automation import AUTOMATION_STAFF, Messages, Rule, automation_problems
from config.base import ConfigProblems, Location, Strict, Word, nfc
from config.connectors import Connectors
from config.permissions import Permissions
from config.staff import Staff, unique_staff
from config.workflow import Workflow


def _text_value(value: object) -> object:
    """TOML lets a shop write `size = [28, 29]`; attribute values are text either way."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    return nfc(value)


AttributeValue = Annotated[str, BeforeValidator(_text_value), Field(min_length=1)]

_CODE_RE = re.compile(r"^[A-Za-z0-9]+$")


class ShopInfo(Strict):
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


class Syntax(Strict):
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


class Orders(Strict):
    repeat_comment: Literal["ignore", "add"] = "ignore"
    # Days a stopped livestream's drafts, dedupe set and command outcomes are kept in Redis
    # (`chotdon live stop` starts the count); then all of it expires at once.
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 30


class Product(Strict):
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


class ProductGroup(Strict):
    """A livestream's own product group (`chotdon live start --products GROUP.toml`)."""

    products: tuple[Product, ...]

    _check_codes = field_validator("products")(classmethod(lambda cls, v: _unique_codes(v)))


class ShopConfig(Strict):
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
    # Platform connectors (config/connectors.py): accounts, secrets by env var name, lives.
    connectors: Connectors = Connectors()
    # What sales staff may do in the dashboard and the API (config/permissions.py).
    permissions: Permissions = Permissions()

    _check_codes = field_validator("products")(classmethod(lambda cls, v: _unique_codes(v)))
    _check_staff = field_validator("staff")(classmethod(lambda cls, v: unique_staff(v)))

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
