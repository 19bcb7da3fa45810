"""A sample selling livestream: deterministic comments, as JSON lines of `Comment`.

    .venv/bin/python benchmarks/sample_live.py --comments 3000 --customers 400 --out live.jsonl

`chotdon demo` replays it; benchmarks and tests import `generate` from here.

The same arguments always give the same comments (a seeded `random.Random`, no clock, no set
order). The catalogue is a shop configuration (the sample shop config/shops/demo.toml by
default: A12 with 40 in stock, B3, MP10, K2 with 10, V5 with 25). The mix, roughly:

- 50% chatter: praise, questions (some naming a code), greetings; with and without
  diacritics, with emoji;
- 35% orders in the many forms of COMMENT_SYNTAX.md (keywords or not, labelled or bare
  attributes, aliases, quantity words, quantity first, two products, a phone number in the
  order, glued `a12m do`), some needing a variant (`A12 M`), some with unknown codes (`Z99 2`);
- 5% phone numbers alone, in every spelling the spec allows; 5% cancels, with a code or of the
  whole draft; 3% customers re-typing their previous order word for word;
- and 1% of comments with no known commenter (user_id None), as Facebook sends them.

Customers comment on several platforms (Facebook, TikTok, Shopee, YouTube), some far more
than others. A12 and K2 are wanted by far more buyers than their stock, so stock races and
waitlists show; V5 is kept under its stock for contrast.

Tests and benchmarks import `generate` (comments) or `generate_samples` (comments with what
each was meant to be).
"""

from __future__ import annotations

import itertools
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import TypeVar

from config.loader import load_shop
from config.shop import Product, ShopConfig
from stream.messages import Comment

DEMO_SHOP = Path(str(files("config") / "shops" / "demo.toml"))
DEFAULT_START = datetime(2026, 1, 1, 13, 0, tzinfo=UTC)  # 20:00 in Vietnam

# --- what comments are, and how often --------------------------------------------------------
KINDS = {"chatter": 50, "order": 35, "phone": 5, "cancel": 5, "repeat": 3}
ANONYMOUS_SHARE = 0.01
PLATFORMS = {"facebook": 55, "tiktok": 25, "shopee": 12, "youtube": 8}
# How much each product is wanted (share of order items). V5 also has a demand budget.
DEMAND = {"A12": 30, "MP10": 24, "B3": 22, "K2": 16, "V5": 8}
BUDGET = {"V5": 0.8}  # share of its stock that may be asked for, at most
QUANTITIES = {1: 62, 2: 24, 3: 9, 5: 3, 10: 2}
ORDER_FORMS = {
    "standard": 52, "quantity_first": 8, "two_products": 8, "with_phone": 7, "glued": 4,
    "with_address": 5, "needs_variant": 9, "unknown_code": 7,
}  # fmt: skip
UNKNOWN_CODES = ("Z99", "A5", "A7", "B4", "D15", "MP1", "K20", "V6")  # none starts with x or c

# --- phrase tables ----------------------------------------------------------------------------
ORDER_WORDS = {"": 8, "chốt ": 6, "chot ": 4, "lấy ": 3, "lay ": 2, "đặt ": 1, "mua ": 1,
               "e chốt ": 1, "cho em ": 1}  # fmt: skip
SUFFIXES = {"": 10, " nha": 2, " nhé": 1, " ạ": 2, " shop ơi": 1, " nha shop": 1, " ❤️": 1,
            " 😍": 1, " luôn": 1}  # fmt: skip
CODE_FORMS = {"{code}": 6, "{lower}": 4, "{letters} {digits}": 1}
SIZE_FORMS = {"{v}": 5, "size {v}": 3, "sz {v}": 1, "{low}": 3, "size {low}": 2, "cỡ {v}": 1}
COLOR_FORMS = {"{v}": 5, "màu {v}": 3, "{ascii}": 3, "mau {ascii}": 2, "{alias}": 1}
QUANTITY_FORMS = {"{n}": 5, "x{n}": 2, "x {n}": 1, "sl {n}": 3, "sl:{n}": 1, "số lượng {n}": 1,
                  "{n} cái": 2, "{n}c": 1, "{n} chiếc": 1}  # fmt: skip
QUANTITY_FIRST = ("lấy {n} cái {item}", "{n} cái {item}", "mua {n} {item}", "lay {n} {item}")
TWO_PRODUCT_JOINS = (", ", " + ", " và ", "\n", "; ")
ADDRESS_TAILS = (", ship q7 nha", ", giao giờ hành chính giúp em", " ship HN",
                 ", ship về Bình Thạnh HCM", " nhé, ship HN mấy ngày ạ?")  # fmt: skip
UNKNOWN_FORMS = ("{u} {n}", "chốt {u}", "lấy {u} {size}", "{u} x{n}", "chot {ul} sl {n}")

PRAISE = (
    "đẹp quá shop ơi 😍", "dep qua shop oi", "xinh xỉu 😍😍", "áo đẹp quá", "❤️❤️❤️",
    "shop dễ thương ghê", "hàng đẹp, chất vải mát", "ủng hộ shop nhiệt tình 💪",
    "mẫu này xinh ghê", "son lên màu đẹp quá", "quần jean form chuẩn luôn", "dep wa",
)  # fmt: skip
QUESTIONS = (
    "{code} còn size {size} không ạ?", "{lower} con size {low} ko a", "giá bn shop",
    "gia bao nhieu vay shop", "giá {code} bao nhiêu ạ?", "ship về Hà Nội bao lâu ạ",
    "ship ve hcm bao lau a", "có freeship không shop?", "cao 1m6 nặng 50kg mặc size gì ạ",
    "{code} có màu hồng không ạ?", "shop ở đâu vậy ạ", "sao đơn em bị hủy?",
    "có ship COD không shop", "ship q7 được không shop", "váy dài bao nhiêu ạ",
)  # fmt: skip
GREETINGS = (
    "chào shop", "hello mọi người", "em vào rồi nè", "xin chào từ Đà Nẵng 👋",
    "live hôm nay vui quá", "shop ơi đợi em với", "mới vào, shop đang bán gì vậy",
    "hóng deal 🔥", "chốt đơn nhanh thế",
)  # fmt: skip
CHATTER: dict[tuple[str, ...], int] = {PRAISE: 35, QUESTIONS: 45, GREETINGS: 20}
PHONE_SPELLINGS = ("{d}", "{a} {b} {c}", "{a}.{b}.{c}", "{a}-{b}-{c}", "+84 {a1} {b} {c}",
                   "+84{d9}", "84{d9}")  # fmt: skip
PHONE_ALONE = {"{phone}": 6, "sđt {phone}": 2, "sdt: {phone}": 1, "sđt em {phone} nha": 1,
               "số em {phone} ạ": 1}  # fmt: skip
CANCEL_WITH_CODE = ("hủy {code}", "huỷ {code}", "huy {lower}", "bỏ {code} nha shop",
                    "hủy {code} giúp em", "em hủy {code} nhé")  # fmt: skip
CANCEL_ALL = ("huỷ đơn giúp em", "hủy đơn", "huy don nha shop", "không lấy nữa",
              "em không lấy nữa ạ", "khong lay nua")  # fmt: skip
MOBILE_PREFIXES = (
    "032", "033", "034", "035", "036", "037", "038", "039", "056", "058", "070", "076", "077",
    "078", "079", "081", "082", "083", "084", "085", "086", "088", "089", "090", "091", "093",
    "094", "096", "097", "098",
)  # fmt: skip
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
          "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý")  # fmt: skip
MIDDLE = ("Thị", "Văn", "Minh", "Thu", "Ngọc", "Thanh", "Hoàng", "Quốc", "Bảo", "Kim")
GIVEN = ("Hoa", "Lan", "Mai", "Hương", "Trang", "Linh", "Anh", "Tuấn", "Hùng", "Dũng", "Nam",
         "Phương", "Thảo", "Hằng", "Yến", "Nhung", "Vy", "Nga", "Huyền", "Tâm")  # fmt: skip
NICK_TAILS = ("", "", " 🌸", " 💕", ".shop", " xinh", "99", " ✨")
CHANNEL_ID_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

T = TypeVar("T")


def fold(text: str) -> str:
    """Without diacritics, as people type in a hurry: `Đỏ` -> `Do`."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def pick(rng: random.Random, table: dict[T, int]) -> T:
    """One key of `table`, by weight."""
    return rng.choices(list(table), weights=list(table.values()))[0]


Items = tuple[tuple[str, int], ...]  # (code, quantity); quantity 0 in a cancel: all of it


@dataclass(frozen=True, slots=True)
class Sample:
    """A comment and what it was written to be: `kind` (a key of KINDS), `form` (for orders,
    a key of ORDER_FORMS, or "repeat") and the items it asks for or cancels."""

    comment: Comment
    kind: str
    form: str = ""
    items: Items = ()


@dataclass(slots=True)
class Customer:
    platform: str
    user_id: str | None
    name: str
    phone: str
    ordered: list[str] = field(default_factory=list)  # codes, in order
    last_order: str = ""  # the text of their previous order comment


class _Live:
    """The state of one generated livestream: its people, its catalogue, the demand so far."""

    def __init__(self, rng: random.Random, shop: ShopConfig, customers: int) -> None:
        self.rng = rng
        self.products = {product.code: product for product in shop.products}
        self.aliases = dict(shop.aliases)
        self.demand = {code: share for code, share in DEMAND.items() if code in self.products}
        self.demand = self.demand or dict.fromkeys(self.products, 1)  # another catalogue
        self.asked = dict.fromkeys(self.products, 0)  # units asked for so far
        self.customers = [self._customer(number) for number in range(customers)]
        # A few customers comment a lot, most a little.
        activity = [1 / (rank + 1) ** 0.7 for rank in range(customers)]
        rng.shuffle(activity)
        self.cumulative_activity = list(itertools.accumulate(activity))
        self.buyers: list[Customer] = []  # who has ordered, in the order they first did
        self.nobody = Customer("facebook", None, "", self._customer(-1).phone)

    # --- people
    def _customer(self, number: int) -> Customer:
        rng = self.rng
        platform = pick(rng, PLATFORMS)
        family, middle, given = rng.choice(FAMILY), rng.choice(MIDDLE), rng.choice(GIVEN)
        name = {
            "facebook": f"{family} {middle} {given}",
            "tiktok": f"{middle} {given}{rng.choice(NICK_TAILS)}",
            "shopee": f"{fold(given).lower()}.{fold(family).lower()}{rng.randint(80, 99)}",
            "youtube": f"{given} {family}",
        }[platform]
        if platform == "facebook" and rng.random() < 0.2:
            name = fold(name)
        user_id = {
            "facebook": f"1000{rng.randrange(10**11):011d}",
            "tiktok": f"69{rng.randrange(10**17):017d}",
            "shopee": str(800_000_000 + number),
            "youtube": "UC" + "".join(rng.choices(CHANNEL_ID_LETTERS, k=22)),
        }[platform]
        phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}"
        return Customer(platform, user_id, name, phone)

    def anyone(self) -> Customer:
        return self.rng.choices(self.customers, cum_weights=self.cumulative_activity)[0]

    def buyer(self) -> Customer:
        """Mostly someone who has ordered (phone numbers, cancels and repeats come from them)."""
        if self.buyers and self.rng.random() < 0.8:
            return self.rng.choice(self.buyers)
        return self.anyone()

    # --- products, and how people write them
    def product(self, qty: int = 0, *, with_attributes: bool = False) -> Product:
        """A product by demand; a product with a demand budget only while `qty` fits in it."""
        choices = {}
        for code, share in self.demand.items():
            product = self.products[code]
            if code in BUDGET and self.asked[code] + qty > BUDGET[code] * (product.stock or 0):
                continue
            if with_attributes and not product.attributes:
                continue
            choices[code] = share
        if not choices:  # a catalogue without products with attributes
            choices = self.demand
        return self.products[pick(self.rng, choices)]

    def code(self, product: Product) -> str:
        code = product.code
        letters = code.rstrip("0123456789")
        return pick(self.rng, CODE_FORMS).format(
            code=code, lower=code.lower(), letters=letters.lower(), digits=code[len(letters) :]
        )

    def value(self, attribute: str, value: str) -> str:
        forms = {"color": COLOR_FORMS, "size": SIZE_FORMS}.get(attribute, {"{v}": 1})
        aliases = self.aliases.get(value, ())
        form = pick(self.rng, forms)
        alias = self.rng.choice(aliases) if aliases else value
        return form.format(v=value, low=value.lower(), ascii=fold(value), alias=alias)

    def attributes(self, product: Product, *, drop_one: bool = False) -> list[str]:
        attributes = list(product.attributes.items())
        if drop_one and attributes:
            attributes.pop(self.rng.randrange(len(attributes)))
        return [self.value(name, self.rng.choice(values)) for name, values in attributes]

    def item(self, product: Product, qty: int, *, drop_one: bool = False) -> str:
        """`A12 size M đỏ x2`: the code, then attributes and quantity, mostly in that order."""
        parts = self.attributes(product, drop_one=drop_one)
        if qty > 1 or self.rng.random() < 0.1:
            parts.append(pick(self.rng, QUANTITY_FORMS).format(n=qty))
        if self.rng.random() < 0.2:
            self.rng.shuffle(parts)
        return " ".join([self.code(product), *parts])

    def phone(self, customer: Customer) -> str:
        """The customer's number in one of the spellings the spec allows."""
        d = customer.phone
        a, b, c = d[:4], d[4:7], d[7:]
        return self.rng.choice(PHONE_SPELLINGS).format(d=d, a=a, b=b, c=c, a1=a[1:], d9=d[1:])

    def phone_alone(self, customer: Customer) -> tuple[str, str, Items]:
        return pick(self.rng, PHONE_ALONE).format(phone=self.phone(customer)), "", ()

    # --- one comment of each kind: (text, form, items)
    def chatter(self) -> tuple[str, str, Items]:
        templates: tuple[str, ...] = pick(self.rng, CHATTER)
        template = self.rng.choice(templates)
        product = self.product(with_attributes=True)
        size = self.rng.choice(product.attributes.get("size", ("M",)))
        code = product.code
        return template.format(code=code, lower=code.lower(), size=size, low=size.lower()), "", ()

    def order(self, customer: Customer) -> tuple[str, str, Items]:
        rng = self.rng
        form = pick(rng, ORDER_FORMS)
        keyword, suffix = pick(rng, ORDER_WORDS), pick(rng, SUFFIXES)
        qty = self.quantity(at_least=2 if form in ("quantity_first", "unknown_code") else 1)
        product = self.product(qty, with_attributes=form in ("needs_variant", "glued"))
        items: Items = ((product.code, qty),)
        if form == "unknown_code":
            unknown, template = rng.choice(UNKNOWN_CODES), rng.choice(UNKNOWN_FORMS)
            size = rng.choice(("M", "L", "XL"))
            text = template.format(u=unknown, ul=unknown.lower(), n=qty, size=size)
            items = ((unknown, qty if "{n}" in template else 1),)
        elif form == "needs_variant":
            text = keyword + self.item(product, qty, drop_one=True) + suffix
        elif form == "quantity_first":
            code = product.code if rng.random() < 0.6 else product.code.lower()
            item = " ".join([code, *self.attributes(product)])
            text = rng.choice(QUANTITY_FIRST).format(n=qty, item=item)
        elif form == "two_products":
            other_qty = self.quantity()
            other = self.product(qty + other_qty)
            items = ((product.code, qty), (other.code, other_qty))
            joint = rng.choice(TWO_PRODUCT_JOINS)
            text = keyword + self.item(product, qty) + joint + self.item(other, other_qty) + suffix
        elif form == "with_phone":
            order = self.item(product, qty)
            if rng.random() < 0.5:
                text = f"{self.phone(customer)} {keyword or 'chốt '}{order}"
            else:
                text = f"{keyword}{order} sđt {self.phone(customer)}"
        elif form == "glued" and all(v.isalpha() for v in product.attributes.get("size", "1")):
            size = rng.choice(product.attributes["size"]).lower()  # a12m do: code and size glued
            colors = product.attributes.get("color", ())
            color = f" {fold(rng.choice(colors))}" if colors else ""
            text = f"{keyword}{product.code.lower()}{size}{color}" + (f" {qty}" if qty > 1 else "")
        elif form == "with_address":
            text = (keyword or "chốt ") + self.item(product, qty) + rng.choice(ADDRESS_TAILS)
        else:
            form = "standard"
            text = keyword + self.item(product, qty) + suffix
        for code, units in items:
            if code in self.asked:
                self.asked[code] += units
        if not customer.ordered and customer is not self.nobody:
            self.buyers.append(customer)
        customer.ordered.extend(code for code, _ in items)
        customer.last_order = text
        return text, form, items

    def quantity(self, at_least: int = 1) -> int:
        return max(at_least, pick(self.rng, QUANTITIES))

    def cancel(self, customer: Customer) -> tuple[str, str, Items]:
        if customer.ordered and self.rng.random() < 0.5:
            code = self.rng.choice(customer.ordered)
            template = self.rng.choice(CANCEL_WITH_CODE)
            return template.format(code=code, lower=code.lower()), "", ((code, 0),)
        customer.last_order = ""  # a cancel of the draft clears the memory of the last order
        return self.rng.choice(CANCEL_ALL), "", ()


def generate_samples(
    comments: int = 3000,
    customers: int = 400,
    *,
    livestream_id: str = "live-demo",
    shop_id: str = "shop-demo",
    seed: int = 2026,
    rate: float = 10.0,
    start: datetime = DEFAULT_START,
    shop: ShopConfig | None = None,
) -> list[Sample]:
    """`comments` comments of `customers` people, about `rate` a second from `start`."""
    if comments < 0 or customers < 1 or rate <= 0:
        raise ValueError("need comments >= 0, customers >= 1 and rate > 0")
    rng = random.Random(seed)
    live = _Live(rng, shop or load_shop(DEMO_SHOP), customers)
    samples: list[Sample] = []
    elapsed_ms = 0
    for number in range(comments):
        elapsed_ms += max(1, round(rng.expovariate(rate) * 1000))  # strictly increasing
        kind = pick(rng, KINDS)
        customer = live.anyone() if kind in ("chatter", "order") else live.buyer()
        if kind == "repeat" and not customer.last_order:
            kind = "order"
        if kind in ("chatter", "order") and rng.random() < ANONYMOUS_SHARE:
            customer = live.nobody  # Facebook did not say who wrote it
        items: Items = ()
        if kind == "repeat":
            text, form = customer.last_order, "repeat"
        elif kind == "phone":
            text, form, items = live.phone_alone(customer)
        elif kind == "cancel":
            text, form, items = live.cancel(customer)
        elif kind == "order":
            text, form, items = live.order(customer)
        else:
            text, form, items = live.chatter()
        comment = Comment(
            id=_comment_id(customer.platform, number),
            platform=customer.platform,
            shop_id=shop_id,
            livestream_id=livestream_id,
            user_id=customer.user_id,
            user_name=customer.name,
            text=text,
            created_at=start + timedelta(milliseconds=elapsed_ms),
        )
        samples.append(Sample(comment, kind, form, items))
    return samples


def _comment_id(platform: str, number: int) -> str:
    """Ids shaped like each platform's, unique in the livestream."""
    return {
        "facebook": f"100000000000900_{100000000001000 + number}",
        "tiktok": str(7412345678901230000 + number),
        "shopee": str(900000000000 + number),
        "youtube": f"LCC.sample-{number:07d}",
    }.get(platform, f"{platform}-{number}")


def generate(
    comments: int = 3000,
    customers: int = 400,
    *,
    livestream_id: str = "live-demo",
    shop_id: str = "shop-demo",
    seed: int = 2026,
    rate: float = 10.0,
    start: datetime = DEFAULT_START,
    shop: ShopConfig | None = None,
) -> list[Comment]:
    """The comments of `generate_samples`, without what they were meant to be."""
    samples = generate_samples(
        comments, customers, livestream_id=livestream_id, shop_id=shop_id, seed=seed,
        rate=rate, start=start, shop=shop,
    )  # fmt: skip
    return [sample.comment for sample in samples]
