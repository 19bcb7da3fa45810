"""Every example of COMMENT_SYNTAX.md, as exact parse results.

The Examples table comes first, then every example given inline in the text, section by section,
each with the sentence of the spec it illustrates.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from parse_expect import (
    MATCHED,
    NEEDS,
    UNKNOWN,
    Expected,
    cancel,
    demo_shop,
    item,
    none,
    order,
    small_shop,
    with_syntax,
)

from parsers import compile_grammar
from parsers.normalize import normalize, strip_diacritics
from parsers.phones import find_phones

PHONE = "0912345678"


def check(grammar: Any, text: str, expected: Expected) -> None:
    result = grammar.parse(text, comment_id="spec")
    assert result.comment_id == "spec"
    assert result.to_dict() == {"comment_id": "spec", **expected}, text


# COMMENT_SYNTAX.md, "Examples"
EXAMPLES_TABLE: list[tuple[str, Expected]] = [
    ("A12 M đỏ 2", order(item("A12", 2, MATCHED, size="M", color="đỏ"))),
    ("chot a12 size l mau den", order(item("A12", 1, MATCHED, size="L", color="đen"))),
    ("lấy 2 cái MP10", order(item("MP10", 2, MATCHED))),
    ("B3 30 2", order(item("B3", 2, MATCHED, size="30"))),
    ("B3 29", order(item("B3", 1, MATCHED, size="29"))),
    ("B3 2", order(item("B3", 2, NEEDS))),
    ("A12 M 1, MP10 x3", order(item("A12", 1, NEEDS, size="M"), item("MP10", 3, MATCHED))),
    ("Z99 2", order(item("Z99", 2, UNKNOWN))),
    ("0912.345.678 chốt MP10", order(item("MP10", 1, MATCHED), phone=PHONE)),
    ("A12 còn size M không ạ?", none()),
    ("đẹp quá shop ơi 😍", none()),
    # items of a cancel get a status like order items (decision 5)
    ("hủy A12", cancel(item("A12", 1, NEEDS))),
    ("huỷ đơn giúp em", cancel()),
]


@pytest.mark.parametrize(("text", "expected"), EXAMPLES_TABLE)
def test_examples_table(grammar: Any, text: str, expected: Expected) -> None:
    check(grammar, text, expected)


# COMMENT_SYNTAX.md, "Normalisation": one (text, result) per inline example, with its sentence.
NORMALISATION: list[tuple[str, Expected]] = [
    # "Output keeps canonical spellings from the config."
    ("A12 m ĐỎ", order(item("A12", 1, MATCHED, size="M", color="đỏ"))),
    # "a word typed without any diacritics (`chot`, `huy`, `do`) matches a configured word by
    # its stripped form"
    ("chot A12 M do", order(item("A12", 1, MATCHED, size="M", color="đỏ"))),
    ("huy A12", cancel(item("A12", 1, NEEDS))),
    # "a word typed with diacritics matches only the same spelling (`bố` is not `bỏ`, ...)"
    ("bỏ A12", cancel(item("A12", 1, NEEDS))),
    ("bố A12", order(item("A12", 1, NEEDS))),
    # "... `có` is not `cỡ`": `cỡ` is a size label, so a labelled number is never a quantity
    # (decision 6); `có` labels nothing, so the number is the quantity.
    ("B3 cỡ 30", order(item("B3", 1, MATCHED, size="30"))),
    ("B3 cỡ 2", order(item("B3", 1, NEEDS))),
    ("B3 có 2", order(item("B3", 2, NEEDS))),
    ("A12 cỡ M màu đỏ", order(item("A12", 1, MATCHED, size="M", color="đỏ"))),
    # "Configured lists should hold both tone placements where both are in use (`hủy`, `huỷ`)."
    ("huỷ A12", cancel(item("A12", 1, NEEDS))),
    # "Where a stripped word matches several configured words (`bo`: `bỏ` and `bộ`), a quantity
    # word right after a number wins, otherwise the keyword."
    ("V5 M 2 bo", order(item("V5", 2, MATCHED, size="M"))),
    ("A12 M đỏ 2 bo", order(item("A12", 2, MATCHED, size="M", color="đỏ"))),
    ("bo A12", cancel(item("A12", 1, NEEDS))),
    # "Emoji, quotes and brackets are dropped, and each separates the tokens on either side as
    # a space does (`chốt❤️K2` reads as `chốt K2`, never `chốtk2`)."
    ('"A12" (M) [đỏ] 😍', order(item("A12", 1, MATCHED, size="M", color="đỏ"))),
    ("“MP10” x2 🔥🔥", order(item("MP10", 2, MATCHED))),
    ("chốt❤️K2", order(item("K2", 1, MATCHED))),
    ('chốt"K2"', order(item("K2", 1, MATCHED))),
    ("chốt(K2)x2", order(item("K2", 2, MATCHED))),
    ("A(12)", order(item("A12", 1, NEEDS))),  # as `a 12`: "written apart with one space"
    # "Every other punctuation mark and line break separates tokens (`, ; : + / _ - .`)"
    ("A12,M,đỏ,2", order(item("A12", 2, MATCHED, size="M", color="đỏ"))),
    ("A12;M;đỏ;2", order(item("A12", 2, MATCHED, size="M", color="đỏ"))),
    ("A12:M:đỏ:2", order(item("A12", 2, MATCHED, size="M", color="đỏ"))),
    ("A12+MP10", order(item("A12", 1, NEEDS), item("MP10", 1, MATCHED))),
    ("A12/M/đỏ/2", order(item("A12", 2, MATCHED, size="M", color="đỏ"))),
    ("A12_M_đỏ_2", order(item("A12", 2, MATCHED, size="M", color="đỏ"))),
    ("A12 - M - đỏ - 2", order(item("A12", 2, MATCHED, size="M", color="đỏ"))),
    ("A12.M.đỏ.2", order(item("A12", 2, MATCHED, size="M", color="đỏ"))),
    ("A12\nM\nđỏ\n2", order(item("A12", 2, MATCHED, size="M", color="đỏ"))),
    # "... except inside a phone number and inside a money amount such as `2.500k`."
    ("MP10 2.500k", order(item("MP10", 1, MATCHED))),
    ("MP10 0912.345.678", order(item("MP10", 1, MATCHED), phone=PHONE)),
    # "`a12m` -> `a12` `m`, `2c` -> `2` `c`; `a123` stays one token."
    ("a12m", order(item("A12", 1, NEEDS, size="M"))),
    ("a12m đỏ", order(item("A12", 1, MATCHED, size="M", color="đỏ"))),
    ("MP10 2c", order(item("MP10", 2, MATCHED))),
    ("a123", none()),
    ("a123 2", order(item("A123", 2, UNKNOWN))),
    # "Multi-word keywords and markers (`số lượng`, `không lấy`, `bao nhiêu`) match as phrases of
    # consecutive words, not across punctuation."
    ("MP10 số lượng 2", order(item("MP10", 2, MATCHED))),
    ("không lấy A12", cancel(item("A12", 1, NEEDS))),
    ("MP10 bao nhiêu", none()),
    ("không, lấy MP10", order(item("MP10", 1, MATCHED))),
    ("MP10 bao, nhiêu", order(item("MP10", 1, MATCHED))),
]


@pytest.mark.parametrize(("text", "expected"), NORMALISATION)
def test_normalisation_examples(grammar: Any, text: str, expected: Expected) -> None:
    check(grammar, text, expected)


def test_normalize_lowers_composes_and_drops_emoji_quotes_brackets() -> None:
    text = normalize('Chốt "A12" (M) 😍')
    assert text == normalize(text)
    assert "😍" not in text and '"' not in text and "(" not in text and ")" not in text
    assert "chốt" in text and "a12" in text and "m" in text
    assert normalize("Cho\u0302\u0301t") == "chốt"  # NFD input comes out NFC
    # each run of them, with the spaces around it, is one space: never a join
    assert normalize("chốt❤️K2") == "chốt k2"
    assert normalize("A12 😍 🔥 M") == "a12 m"
    assert normalize('chot"k2"') == normalize('chốt"k2"').replace("ố", "o") == "chot k2 "


def test_every_emoji_symbol_quote_and_bracket_separates_two_letters() -> None:
    # "Emoji, quotes and brackets are dropped, and each separates the tokens on either side as
    # a space does": every character of those Unicode categories (and the variation selectors
    # that give emoji their look), one by one, between two letters
    categories = {"So", "Sk", "Cs", "Co", "Me", "Ps", "Pe", "Pi", "Pf"}
    symbols = [
        chr(code)
        for code in [*range(0x20000), *range(0xE0000, 0xE01F0)]
        if unicodedata.category(chr(code)) in categories
        or 0xFE00 <= code <= 0xFE0F
        or code >= 0xE0000
    ]
    # (a few musical symbols decompose under NFC into a symbol and a combining mark: left out)
    symbols = [symbol for symbol in symbols if unicodedata.is_normalized("NFC", symbol)]
    assert len(symbols) > 9_000
    joined = [symbol for symbol in [*symbols, '"', "'", "<", ">"]
              if normalize(f"a{symbol}b") != "a b"]  # fmt: skip
    assert joined == [], [f"U+{ord(symbol):04X}" for symbol in joined[:20]]


def test_strip_diacritics_examples() -> None:
    assert strip_diacritics("đỏ") == "do"
    assert strip_diacritics("chốt") == "chot"
    assert strip_diacritics("hủy") == "huy"
    assert strip_diacritics("huỷ") == "huy"
    assert strip_diacritics("bỏ") == strip_diacritics("bộ") == strip_diacritics("bố") == "bo"
    assert strip_diacritics("cỡ") == strip_diacritics("có") == "co"
    assert strip_diacritics("số lượng") == "so luong"
    assert strip_diacritics("không lấy") == "khong lay"


# COMMENT_SYNTAX.md, "Phone numbers": "Digits may be grouped by spaces, dots or dashes
# (`0912 345 678`, `0912.345.678`, `+84 912 345 678`)", "or the same written `+84…` / `84…`".
PHONE_FORMS = [
    "0912345678",
    "0912 345 678",
    "0912.345.678",
    "0912-345-678",
    "+84 912 345 678",
    "+84912345678",
    "84912345678",
]


@pytest.mark.parametrize("form", PHONE_FORMS)
def test_phone_forms_are_found_and_normalised(form: str) -> None:
    assert find_phones(form) == [PHONE]
    assert find_phones(f"sdt em {form} nha") == [PHONE]


@pytest.mark.parametrize("form", PHONE_FORMS)
def test_phone_on_its_own_is_none_with_phone(grammar: Any, form: str) -> None:
    # "`none`: anything else (..., a phone number on its own). Such comments still report a
    # phone number if they hold one"
    check(grammar, form, none(phone=PHONE))


@pytest.mark.parametrize("form", PHONE_FORMS)
def test_phone_digits_are_never_quantities_or_codes(grammar: Any, form: str) -> None:
    # "Every valid number is removed before items are read, so its digits are never taken as
    # quantities or codes; the first one is reported, normalised to the ten-digit `0…` form."
    check(grammar, f"chốt MP10 {form}", order(item("MP10", 1, MATCHED), phone=PHONE))
    check(grammar, f"{form} chốt MP10", order(item("MP10", 1, MATCHED), phone=PHONE))
    check(
        grammar,
        f"A12 M đỏ {form} 2",
        order(item("A12", 2, MATCHED, size="M", color="đỏ"), phone=PHONE),
    )


def test_first_phone_is_reported() -> None:
    assert find_phones("0912345678 hoặc 0387 654 321") == [PHONE, "0387654321"]


def test_first_phone_is_reported_by_the_parser(grammar: Any) -> None:
    check(grammar, "MP10 0387654321, 0912345678", order(item("MP10"), phone="0387654321"))


@pytest.mark.parametrize(
    "text",
    ["0212345678", "0612345678", "091234567", "09123456789", "8491234567", "+8402345678"],
)
def test_not_a_mobile_number(text: str) -> None:
    # "ten digits `0[35789]xxxxxxxx`, or the same written `+84…` / `84…` (nine digits after 84)"
    assert find_phones(text) == []


# COMMENT_SYNTAX.md, "Items"
ITEMS: list[tuple[str, Expected]] = [
    # "A code is a configured product code, case-insensitive."
    ("mp10", order(item("MP10"))),
    ("a12 M ĐỎ", order(item("A12", 1, MATCHED, size="M", color="đỏ"))),
    # "Its letter part and digit part may be written apart with one space or dash (`a 12`,
    # `a-12` -> `A12`) when the joined form is a configured code."
    ("a 12", order(item("A12", 1, NEEDS))),
    ("a-12", order(item("A12", 1, NEEDS))),
    ("a 12 M đỏ", order(item("A12", 1, MATCHED, size="M", color="đỏ"))),
    ("a-12 m đỏ 2", order(item("A12", 2, MATCHED, size="M", color="đỏ"))),
    ("mp 10 x2", order(item("MP10", 2))),
    # "a value of one of the product's attributes, bare (`M`, `đỏ`, `do`) or labelled (`size M`,
    # `sz M`, `màu đỏ`, `mau do`), canonicalised through `[aliases]`"
    ("A12 M", order(item("A12", 1, NEEDS, size="M"))),
    ("A12 đỏ", order(item("A12", 1, NEEDS, color="đỏ"))),
    ("A12 do", order(item("A12", 1, NEEDS, color="đỏ"))),
    ("A12 size M", order(item("A12", 1, NEEDS, size="M"))),
    ("A12 sz M", order(item("A12", 1, NEEDS, size="M"))),
    ("A12 màu đỏ", order(item("A12", 1, NEEDS, color="đỏ"))),
    ("A12 mau do", order(item("A12", 1, NEEDS, color="đỏ"))),
    ("A12 M red", order(item("A12", 1, MATCHED, size="M", color="đỏ"))),
    ("A12 L dd", order(item("A12", 1, MATCHED, size="L", color="đỏ"))),
    ("A12 S black", order(item("A12", 1, MATCHED, size="S", color="đen"))),
    ("A12 XL white", order(item("A12", 1, MATCHED, size="XL", color="trắng"))),
    ("A12 XL tr", order(item("A12", 1, MATCHED, size="XL", color="trắng"))),
    # "a bare number that equals an allowed value ... not yet filled is that value (`B3 30` ->
    # size 30); any other number from 1 to `max_quantity` is the quantity (`B3 2` -> qty 2,
    # `B3 30 2` -> size 30, qty 2)"
    ("B3 30", order(item("B3", 1, MATCHED, size="30"))),
    ("B3 2", order(item("B3", 2, NEEDS))),
    ("B3 30 2", order(item("B3", 2, MATCHED, size="30"))),
    ("B3 2 30", order(item("B3", 2, MATCHED, size="30"))),
    ("MP10 50", order(item("MP10", 50))),
    ("MP10 51", order(item("MP10", 1))),
    # "a quantity may carry a quantity word before or after it: `sl 2`, `sl:2`, `số lượng 2`,
    # `x2`, `x 2`, `2x`, `2 cái`, `2c`, `2 bộ`."
    ("MP10 sl 2", order(item("MP10", 2))),
    ("MP10 sl:2", order(item("MP10", 2))),
    ("MP10 số lượng 2", order(item("MP10", 2))),
    ("MP10 x2", order(item("MP10", 2))),
    ("MP10 x 2", order(item("MP10", 2))),
    ("MP10 2x", order(item("MP10", 2))),
    ("MP10 2 cái", order(item("MP10", 2))),
    ("MP10 2c", order(item("MP10", 2))),
    ("V5 S 2 bộ", order(item("V5", 2, MATCHED, size="S"))),
    # "A number with a quantity word is always a quantity, even above `max_quantity`"
    ("MP10 x60", order(item("MP10", 60))),
    ("MP10 sl 100", order(item("MP10", 100))),
    ("MP10 60 cái", order(item("MP10", 60))),
    # "a quantity word joined to a number (`x5`, `c2`) is a quantity even though it has a code's
    # shape"
    ("MP10 x5", order(item("MP10", 5))),
    ("MP10 c2", order(item("MP10", 2))),
    ("Z99 x5", order(item("Z99", 5, UNKNOWN))),
    # "values of attributes the product does not have are ignored"
    ("MP10 đỏ 2", order(item("MP10", 2))),
    ("V5 đỏ M", order(item("V5", 1, MATCHED, size="M"))),
    # "when an attribute is given twice, the first value counts"
    ("A12 M L đỏ", order(item("A12", 1, MATCHED, size="M", color="đỏ"))),
    ("A12 đen đỏ size S", order(item("A12", 1, MATCHED, size="S", color="đen"))),
    # "numbers with a money or measure suffix (`150k`, `200đ`, `1tr`, `50kg`, `1m6`) are not
    # quantities"
    ("MP10 150k", order(item("MP10"))),
    ("MP10 20k", order(item("MP10"))),
    ("MP10 200đ", order(item("MP10"))),
    ("MP10 1tr", order(item("MP10"))),
    ("MP10 50kg", order(item("MP10"))),
    ("MP10 5kg", order(item("MP10"))),
    ("V5 1m6", order(item("V5", 1, NEEDS))),
    ("V5 M 1m6", order(item("V5", 1, MATCHED, size="M"))),
    # "A quantity that comes before the first code binds to the first code after it (`lấy 2 A12`,
    # `2 cái A12 M`); any other number binds to the code before it."
    ("lấy 2 A12", order(item("A12", 2, NEEDS))),
    ("2 cái A12 M", order(item("A12", 2, NEEDS, size="M"))),
    ("A12 M đỏ 2 MP10", order(item("A12", 2, MATCHED, size="M", color="đỏ"), item("MP10"))),
    # "Attribute values before the first code are ignored. Default quantity: 1."
    ("màu đỏ A12", order(item("A12", 1, NEEDS))),
    ("size M đỏ A12 2", order(item("A12", 2, NEEDS))),
    ("MP10", order(item("MP10"))),
    # "Items are reported in order of appearance; the same code twice gives two items"
    ("MP10 K2", order(item("MP10"), item("K2"))),
    ("K2 MP10", order(item("K2"), item("MP10"))),
    (
        "A12 M đỏ, A12 L đen 2",
        order(
            item("A12", 1, MATCHED, size="M", color="đỏ"),
            item("A12", 2, MATCHED, size="L", color="đen"),
        ),
    ),
    ("MP10 2, MP10 3", order(item("MP10", 2), item("MP10", 3))),
    # Item status: "`matched`: ... every attribute of the product is filled (or it has none)"
    ("K2", order(item("K2"))),
    ("V5 L", order(item("V5", 1, MATCHED, size="L"))),
    # "`needs_variant`: ... an attribute is missing, or a value given for one of its attributes
    # is not allowed for it (`A12 hồng`: ... the value is left out of `attributes`)"
    ("A12 hồng", order(item("A12", 1, NEEDS))),
    ("A12 M hồng", order(item("A12", 1, NEEDS, size="M"))),
    ("V5 XL", order(item("V5", 1, NEEDS))),
    # "`unknown_code`: a token of `code_pattern`'s shape that is not a configured code, with
    # evidence of its own ...: a quantity or an attribute value (of any product, or an alias)
    # right after it (labels aside), or an order or cancel keyword right before it. `code` is
    # the token as typed, upper-cased. Its quantity is read the same way."
    ("Z99 2", order(item("Z99", 2, UNKNOWN))),
    ("z99 2", order(item("Z99", 2, UNKNOWN))),
    ("Z99 x3", order(item("Z99", 3, UNKNOWN))),
    ("Z99 2 cái", order(item("Z99", 2, UNKNOWN))),
    ("Z99 đỏ", order(item("Z99", 1, UNKNOWN))),
    ("Z99 M", order(item("Z99", 1, UNKNOWN))),
    ("Z99 red", order(item("Z99", 1, UNKNOWN))),
    ("Z99 size M", order(item("Z99", 1, UNKNOWN))),
    ("Z99 màu đỏ 2", order(item("Z99", 2, UNKNOWN))),
    ("chốt Z99", order(item("Z99", 1, UNKNOWN))),
    ("chot z99", order(item("Z99", 1, UNKNOWN))),
    ("hủy Z99", cancel(item("Z99", 1, UNKNOWN))),
    # "A code-shaped token without such evidence is not an item, even in an order (`chốt A12 M
    # đỏ, ship q7 nha`: `q7` is a district)."
    ("Z99", none()),
    ("ship q7 nha", none()),
    ("chốt A12 M đỏ, ship q7 nha", order(item("A12", 1, MATCHED, size="M", color="đỏ"))),
]


@pytest.mark.parametrize(("text", "expected"), ITEMS)
def test_items_examples(grammar: Any, text: str, expected: Expected) -> None:
    check(grammar, text, expected)


def test_z99_30_is_unknown_code_with_size_evidence(grammar: Any) -> None:
    # `30` is an allowed value of a product (B3's size), so it is evidence of its own. Whether it
    # is then the quantity (an unknown code has no attributes to fill) the spec leaves open, so
    # only code, status and attributes are pinned here.
    result = grammar.parse("Z99 30", comment_id="x").to_dict()
    assert result["intent"] == "order"
    assert [(i["code"], i["status"], i["attributes"]) for i in result["items"]] == [
        ("Z99", UNKNOWN, {})
    ]


def test_longest_configured_code_wins() -> None:
    # "The longest configured code wins (`A12` before `A1`)."
    shop = small_shop(
        [
            {"code": "A1", "name": "Áo 1", "price": 1},
            {"code": "A12", "name": "Áo 12", "price": 1},
        ]
    )
    grammar = compile_grammar(shop)
    check(grammar, "A12", order(item("A12")))
    check(grammar, "a12 2", order(item("A12", 2)))
    check(grammar, "A1", order(item("A1")))
    check(grammar, "A1 2", order(item("A1", 2)))
    check(grammar, "a 12", order(item("A12")))
    check(grammar, "a-12 x3", order(item("A12", 3)))
    check(grammar, "A1 A12", order(item("A1"), item("A12")))
    check(grammar, "A12, A1 x2", order(item("A12"), item("A1", 2)))


# COMMENT_SYNTAX.md, "Intent"
INTENT: list[tuple[str, Expected]] = [
    # "`cancel`: a cancel keyword is present, and the comment is not a question without a code
    # (`sao đơn em bị hủy?` is a question)."
    ("sao đơn em bị hủy?", none()),
    # "Items then name what to cancel (configured codes and unknown codes alike); no items means
    # the customer's whole draft for this livestream."
    ("hủy A12 M đỏ", cancel(item("A12", 1, MATCHED, size="M", color="đỏ"))),
    ("hủy A12, MP10", cancel(item("A12", 1, NEEDS), item("MP10"))),
    ("hủy Z99 2", cancel(item("Z99", 2, UNKNOWN))),
    ("huỷ đơn giúp em", cancel()),
    ("hủy A12 được không ạ?", cancel(item("A12", 1, NEEDS))),
    # "A comment is a question when it contains a question marker and no order keyword
    # (`A12 còn size M không ạ?` is a question; `chốt A12 M đỏ nhé, ship HN mấy ngày ạ?` is an
    # order)."
    ("A12 còn size M không ạ?", none()),
    (
        "chốt A12 M đỏ nhé, ship HN mấy ngày ạ?",
        order(item("A12", 1, MATCHED, size="M", color="đỏ")),
    ),
    ("MP10 giá bao nhiêu", none()),
    ("MP10?", none()),
    ("lấy MP10, giá bao nhiêu?", order(item("MP10"))),
    # "`none`: anything else (chatter, questions, praise, a phone number on its own)."
    ("đẹp quá shop ơi 😍", none()),
    ("shop ơi live tới mấy giờ", none()),
    ("chốt", none()),
    ("0912345678", none(phone=PHONE)),
    ("đẹp quá, sdt em 0912 345 678", none(phone=PHONE)),
    ("A12 còn không shop, 0912345678", none(phone=PHONE)),
]


@pytest.mark.parametrize(("text", "expected"), INTENT)
def test_intent_examples(grammar: Any, text: str, expected: Expected) -> None:
    check(grammar, text, expected)


def test_require_keyword() -> None:
    # "With `require_keyword = true`, an order also needs an order keyword."
    grammar = compile_grammar(with_syntax(demo_shop(), require_keyword=True))
    check(grammar, "A12 M đỏ 2", none())
    check(grammar, "Z99 2", none())
    check(grammar, "MP10 0912345678", none(phone=PHONE))
    check(grammar, "chốt A12 M đỏ 2", order(item("A12", 2, MATCHED, size="M", color="đỏ")))
    check(grammar, "chot A12 M do 2", order(item("A12", 2, MATCHED, size="M", color="đỏ")))
    check(grammar, "lấy 2 cái MP10", order(item("MP10", 2)))
    # cancels are not orders: the keyword requirement does not apply to them
    check(grammar, "hủy A12", cancel(item("A12", 1, NEEDS)))
    check(grammar, "huỷ đơn giúp em", cancel())


def test_spec_result_example_shape(grammar: Any) -> None:
    # COMMENT_SYNTAX.md, "The parse result"
    result = grammar.parse("A12 size M đỏ 2 0912345678", comment_id="c1")
    assert result.to_dict() == {
        "comment_id": "c1",
        "intent": "order",
        "phone": "0912345678",
        "items": [
            {
                "code": "A12",
                "qty": 2,
                "attributes": {"size": "M", "color": "đỏ"},
                "status": "matched",
            }
        ],
    }
