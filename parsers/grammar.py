"""The comment grammar of COMMENT_SYNTAX.md, compiled once per shop configuration.

Reading a comment is three passes over a handful of tokens: normalise and cut out phone
numbers; turn tokens into lexemes (codes, numbers, known words and phrases); then read items
and intent from the lexemes. Everything a comment is matched against is prepared in
`compile_grammar`, so parsing is dictionary lookups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from config.shop import Product, ShopConfig
from parsers.lexicon import Bucket, Lexicon, Meaning, build_lexicon, value_key, word_matches
from parsers.models import Intent, ParsedItem, ParseResult
from parsers.normalize import normalize, strip_diacritics
from parsers.phones import cut_phones

# PLACE: a code-shaped address (`q7`, `p12`), a product only right after an order word.
CODE, SHAPE, NUMBER, WORD, MEASURE, OTHER, PLACE = range(7)

# A grouped money amount (`2.500k`, `150.000đ`, `1,5tr`) is one token and never a quantity.
_TOKEN_RE = re.compile(
    r"(?P<money>\d{1,3}(?:[.,]\d{3})+(?:[.,]\d+)?(?:k|đ|d|tr|vnd|vnđ)?(?![^\W_])"
    r"|\d+[.,]\d+(?:k|đ|d|tr|vnd|vnđ)(?![^\W_]))"
    r"|(?P<word>[^\W_]+)"
)
# A number with a money or measure suffix: `150k`, `200đ`, `1tr`, `50kg`, `1m6`.
_MEASURE_RE = re.compile(r"\d+(?:k|đ|d|tr|kg|g|gr|cm|mm|ml|m\d+|vnd|vnđ)")
_RUNS_RE = re.compile(r"\d+|\D+")
_HAS_DIGIT_RE = re.compile(r"\d")
_JOINABLE_SEPARATORS = (" ", "-")
# The largest number the grammar reads as a quantity has nine digits (999,999,999): more than
# any livestream sells, within what every consumer of a parse result can hold (the order book's
# MAX_COUNT, Lua's doubles, 32-bit integers). A longer run of digits is not a number at all, and
# is never converted: `int()` refuses more than 4,300 digits, and a comment must never stop the
# parser.
MAX_NUMBER_DIGITS = 9
WORDS_KEPT = 10_000  # typed words whose lexicon lookup a grammar keeps (see Grammar._lookup)


class Lexeme:
    """One unit of meaning in a comment; `chunk` changes at every punctuation mark."""

    __slots__ = (
        "chunk", "diacritics", "glued", "kind", "length", "meaning", "number", "product", "text",
    )  # fmt: skip

    def __init__(self, kind: int, text: str, chunk: int) -> None:
        self.kind = kind
        self.text = text
        self.chunk = chunk
        self.number = 0
        self.product: Product | None = None
        self.meaning: Meaning | None = None
        self.diacritics = False
        self.length = 1  # words of the phrase this lexeme stands for
        self.glued = False  # typed joined to the previous lexeme (`2x`, `x2`, `a12m`)


@dataclass(slots=True)
class _Item:
    product: Product | None
    code: str
    qty: int = 1
    qty_strength: int = 0  # 0 default, 1 bare number, 2 number with a quantity word
    attributes: dict[str, str] | None = None

    def result(self) -> ParsedItem:
        if self.product is None:
            return ParsedItem(self.code, self.qty, {}, "unknown_code")
        given = self.attributes or {}
        ordered = {name: given[name] for name in self.product.attributes if name in given}
        complete = len(ordered) == len(self.product.attributes)
        return ParsedItem(self.code, self.qty, ordered, "matched" if complete else "needs_variant")


class Grammar:
    """A shop's syntax, ready to read comments. Build with `compile_grammar`."""

    def __init__(self, shop: ShopConfig) -> None:
        syntax = shop.syntax
        self.shop = shop
        self.max_quantity = syntax.max_quantity
        self.require_keyword = syntax.require_keyword
        self.codes: dict[str, Product] = {p.code.lower(): p for p in shop.products}
        # digit/letter runs of the longest code: a split never tries a longer candidate, so a
        # glued token of a thousand runs (`a1a1a1…`) costs a thousand lookups, not a billion
        self.code_runs = max((len(_RUNS_RE.findall(code)) for code in self.codes), default=0)
        self.code_shape = re.compile(syntax.code_pattern, re.IGNORECASE)
        self.symbol_markers = tuple(
            normalize(m) for m in syntax.question_markers if not any(c.isalnum() for c in m)
        )
        labels = [(attribute, attribute) for p in shop.products for attribute in p.attributes]
        labels += [
            (label, attribute)
            for attribute, words in syntax.attribute_labels.items()
            for label in words
        ]
        self.lexicon: Lexicon = build_lexicon(shop, labels)
        self._lookups: dict[str, tuple[Bucket | None, bool]] = {}
        # product code -> attribute -> canonical key -> configured spelling
        self.allowed: dict[str, dict[str, dict[str, str]]] = {
            p.code: {
                name: {value_key(value): value for value in values}
                for name, values in p.attributes.items()
            }
            for p in shop.products
        }
        self.numeric_values = frozenset(
            value for p in shop.products for vs in p.attributes.values() for value in vs
            if value.isdigit()
        )  # fmt: skip

    # -- public -------------------------------------------------------------------------

    def parse(self, text: str, comment_id: str = "") -> ParseResult:
        normalized = normalize(text)
        phone: str | None = None
        if _HAS_DIGIT_RE.search(normalized):
            normalized, phone = cut_phones(normalized)
        question = any(marker in normalized for marker in self.symbol_markers)
        lexemes = self._lex(normalized)
        items, order_kw, cancel_from, question_word = self._read(lexemes)
        question = (question or question_word) and not order_kw
        intent: Intent
        if cancel_from is not None and not (question and not items):
            intent = "cancel"
            # `A12 M đỏ, hủy MP10`: what follows the cancel word is what to cancel
            if cancel_from < len(items):
                items = items[cancel_from:]
        elif items and not question and (order_kw or not self.require_keyword):
            intent = "order"
        else:
            return ParseResult(comment_id, "none", phone, [])
        return ParseResult(comment_id, intent, phone, [item.result() for item in items])

    # -- lexing -------------------------------------------------------------------------

    def _lex(self, text: str) -> list[Lexeme]:
        raw: list[tuple[str, str, int, bool]] = []  # text, separator before, chunk, money
        chunk = 0
        # one C-level split gives [separator, money, word, separator, money, word, ..., tail]
        parts = _TOKEN_RE.split(text)
        for at in range(0, len(parts) - 1, 3):
            separator = parts[at]
            if separator and (separator != " " and (not separator.isspace() or "\n" in separator)):
                chunk += 1
            money = parts[at + 1]
            if money is None:
                raw.append((parts[at + 2], separator, chunk, False))
            else:
                raw.append((money, separator, chunk, True))

        lexemes: list[Lexeme] = []
        index = 0
        while index < len(raw):
            token, separator, chunk, money = raw[index]
            index += 1
            if money:
                lexemes.append(Lexeme(MEASURE, token, chunk))
            elif token in self.codes:
                lexemes.append(self._code(token, chunk))
            elif token.isdigit():
                self._number_or_joined_code(lexemes, token, separator, chunk)
            elif token.isalpha():
                index = self._words(lexemes, raw, index - 1)
            else:
                lexemes.extend(self._mixed(token, chunk))
        return lexemes

    def _code(self, token: str, chunk: int) -> Lexeme:
        lexeme = Lexeme(CODE, token, chunk)
        lexeme.product = self.codes[token]
        return lexeme

    def _number(self, token: str, chunk: int) -> Lexeme:
        lexeme = Lexeme(NUMBER, token, chunk)
        short = len(token) <= MAX_NUMBER_DIGITS and token.isascii()  # nearly all: no call
        lexeme.number = int(token) if short else _number_value(token)
        return lexeme

    def _number_or_joined_code(
        self, lexemes: list[Lexeme], token: str, separator: str, chunk: int
    ) -> None:
        # `a 12`, `a-12` -> A12 when the joined form is a configured code
        if lexemes and separator in _JOINABLE_SEPARATORS:
            previous = lexemes[-1]
            joined = previous.text + token
            if previous.length == 1 and previous.text.isalpha() and joined in self.codes:
                lexemes[-1] = self._code(joined, previous.chunk)
                return
        lexemes.append(self._number(token, chunk))

    def _lookup(self, word: str) -> tuple[Bucket | None, bool]:
        """The lexicon's bucket for a typed word, and whether it was typed with diacritics.

        The comments of a live repeat a few hundred words, so each lookup is kept; the kept
        ones are forgotten at WORDS_KEPT, so a flood of distinct words cannot grow them.
        """
        found = self._lookups.get(word)
        if found is None:
            stripped = strip_diacritics(word)
            found = (self.lexicon.bucket(word, stripped), word != stripped)
            if len(self._lookups) >= WORDS_KEPT:
                self._lookups.clear()
            self._lookups[word] = found
        return found

    def _meaning(self, word: str) -> tuple[Meaning | None, bool]:
        bucket, diacritics = self._lookup(word)
        return (bucket.single if bucket else None), diacritics

    def _words(self, lexemes: list[Lexeme], raw: list[tuple[str, str, int, bool]], at: int) -> int:
        """Lex the word at `raw[at]`, as the longest configured phrase starting there."""
        word, _, chunk, _ = raw[at]
        bucket, diacritics = self._lookup(word)
        if bucket is None:
            lexemes.append(self._shape_or_other(word, chunk))
            return at + 1
        best: Meaning | None = None
        best_length = 0
        for phrase in bucket.phrases:
            length = len(phrase.words)
            if length < best_length:
                break
            if at + length > len(raw) or not self._phrase_at(raw, at, phrase.words, chunk):
                continue
            best = phrase.meaning if best is None else best.merge(phrase.meaning)
            best_length = length
        if best is None:
            best, best_length = bucket.single, 1
        if best is None:
            lexemes.append(self._shape_or_other(word, chunk))
            return at + 1
        lexeme = Lexeme(WORD, word, chunk)
        lexeme.meaning = best
        lexeme.length = best_length
        lexeme.diacritics = diacritics
        lexemes.append(lexeme)
        return at + best_length

    @staticmethod
    def _phrase_at(
        raw: list[tuple[str, str, int, bool]],
        at: int,
        words: tuple[tuple[str, str], ...],
        chunk: int,
    ) -> bool:
        for offset in range(1, len(words)):
            typed, _, typed_chunk, _ = raw[at + offset]
            if typed_chunk != chunk or not word_matches(typed, strip_diacritics(typed),
                                                        words[offset]):  # fmt: skip
                return False
        return True

    def _shape_or_other(self, token: str, chunk: int) -> Lexeme:
        if self.code_shape.fullmatch(token):
            return Lexeme(PLACE if self._is_address(token) else SHAPE, token, chunk)
        return Lexeme(OTHER, token, chunk)

    def _is_address(self, token: str) -> bool:
        """`q7`, `p12`: a district or ward written like a code is an address, not a product."""
        letters = token.rstrip("0123456789")
        meaning, _ = self._meaning(letters) if letters != token else (None, False)
        return meaning is not None and meaning.address

    def _mixed(self, token: str, chunk: int) -> list[Lexeme]:
        """A token where digits meet letters: a measure, split into code/quantity, or one token."""
        meaning, _ = self._meaning(token)
        if meaning is not None:  # a configured word with digits, such as a value `2xl`
            lexeme = Lexeme(WORD, token, chunk)
            lexeme.meaning = meaning
            return [lexeme]
        if _MEASURE_RE.fullmatch(token):
            return [Lexeme(MEASURE, token, chunk)]
        split = self._split(_RUNS_RE.findall(token), chunk)
        if split is not None:
            return split
        return [self._shape_or_other(token, chunk)]

    def _split(self, runs: list[str], chunk: int) -> list[Lexeme] | None:
        """Split at digit/letter boundaries when that makes a configured code or a quantity."""
        out: list[Lexeme] = []
        made = False
        at = 0
        while at < len(runs):
            for end in range(min(len(runs), at + self.code_runs), at, -1):
                candidate = "".join(runs[at:end])
                if candidate in self.codes:
                    out.append(self._code(candidate, chunk))
                    made = True
                    at = end
                    break
            else:
                run = runs[at]
                following = runs[at + 1] if at + 1 < len(runs) else None
                if run.isdigit():
                    out.append(self._number(run, chunk))
                    if following is not None and self._is_quantity_word(following):
                        out.append(self._word(following, chunk))
                        made = True
                        at += 1
                elif following is not None and following.isdigit() and self._is_quantity_word(run):
                    out.append(self._word(run, chunk))
                    out.append(self._number(following, chunk))
                    made = True
                    at += 1
                else:
                    meaning, diacritics = self._meaning(run)
                    lexeme = Lexeme(WORD if meaning else OTHER, run, chunk)
                    lexeme.meaning, lexeme.diacritics = meaning, diacritics
                    out.append(lexeme)
                at += 1
        if not made:
            return None
        for piece in out[1:]:
            piece.glued = True
        return out

    def _is_quantity_word(self, run: str) -> bool:
        meaning, _ = self._meaning(run)
        return meaning is not None and meaning.quantity

    def _word(self, word: str, chunk: int) -> Lexeme:
        lexeme = Lexeme(WORD, word, chunk)
        lexeme.meaning, lexeme.diacritics = self._meaning(word)
        return lexeme

    # -- reading ------------------------------------------------------------------------

    def _read(self, lexemes: list[Lexeme]) -> tuple[list[_Item], bool, int | None, bool]:
        """Items, order keyword seen, where a clear cancel starts (item index), question."""
        items: list[_Item] = []
        current: _Item | None = None
        before_first = _Item(None, "")  # holds a quantity typed before the first code
        order_kw = question = False
        cancel_from: int | None = None
        count = len(lexemes)
        at = 0
        while at < count:
            lexeme = lexemes[at]
            kind = lexeme.kind
            following = lexemes[at + 1] if at + 1 < count else None
            target = current if current is not None else before_first
            if kind == CODE:
                current = self._start(items, lexeme.product, lexeme.text, before_first)
            elif kind in (SHAPE, PLACE):
                if self._has_evidence(lexemes, at):
                    current = self._start(items, None, lexeme.text, before_first)
            elif kind == NUMBER:
                if self._after_address_word(lexemes, at) or self._measure_follows(lexemes, at):
                    pass
                elif self._quantity_word_follows(lexemes, at, current):
                    self._quantity(target, lexeme.number, forced=True)
                    at += 1
                elif current is None or not self._fill_number(current, lexeme.text):
                    self._quantity(target, lexeme.number, forced=False)
            elif kind == WORD:
                meaning = lexeme.meaning
                assert meaning is not None
                if (
                    meaning.quantity
                    and not (meaning.cancel or meaning.order)
                    and following is not None
                    and following.kind == NUMBER
                ):
                    # `sl 2`; but `bo 2 A12` is the cancel word `bỏ`: a word that is both a
                    # keyword and a quantity word is the quantity only after its number
                    self._quantity(target, following.number, forced=True)
                    at += 1
                elif meaning.labels and following is not None and self._is_labelled(following):
                    if current is not None:
                        self._fill_labelled(current, meaning.labels, following)
                    at += 1
                else:
                    if meaning.values and current is not None:
                        self._fill_values(current, meaning.values)
                    order_kw = order_kw or meaning.order
                    question = question or meaning.question
                    if meaning.cancel and cancel_from is None and self._clear_cancel(lexemes, at):
                        cancel_from = len(items)
            at += 1
        return items, order_kw, cancel_from, question

    def _quantity_word_follows(self, lexemes: list[Lexeme], at: int, item: _Item | None) -> bool:
        """Whether the quantity word after the number at `at` belongs to it (`2 cái`, `2x`).

        Between two numbers (`B3 30 x 2`, `B3 2 cái 30`) the word goes with the number that
        is not an allowed value of the product, and is typed joined to the one it belongs to
        (`B3 2x 30`, `B3 30 x2`); otherwise it reads forward, as `sl 2` does.
        """
        if at + 1 >= len(lexemes):
            return False
        word = lexemes[at + 1]
        if word.kind != WORD or word.chunk != lexemes[at].chunk or word.meaning is None:
            return False
        if not word.meaning.quantity:
            return False
        if word.glued:
            return True
        following = lexemes[at + 2] if at + 2 < len(lexemes) else None
        if following is None or following.kind != NUMBER or following.number < 0:
            return True  # a number the grammar cannot read (`٣`, ten digits) claims no word
        if following.glued:
            return False
        first_is_value = self._allowed_number(item, lexemes[at].text)
        second_is_value = self._allowed_number(item, following.text)
        return second_is_value and not first_is_value

    def _allowed_number(self, item: _Item | None, text: str) -> bool:
        if item is None or item.product is None:
            return False
        filled = item.attributes or {}
        return any(
            name not in filled and text in allowed
            for name, allowed in self.allowed[item.product.code].items()
        )

    @staticmethod
    def _measure_follows(lexemes: list[Lexeme], at: int) -> bool:
        """`2 ngày`, `150 nghìn`: a number with a unit is a measure, not a quantity. A word
        that is also an attribute value (`m` for size M) still leaves the number alone."""
        if at + 1 >= len(lexemes):
            return False
        word = lexemes[at + 1]
        meaning = word.meaning
        return (
            word.kind == WORD
            and meaning is not None
            and meaning.measure
            and not meaning.values
            and not meaning.quantity
        )

    @staticmethod
    def _after_address_word(lexemes: list[Lexeme], at: int) -> bool:
        if at == 0:
            return False
        before = lexemes[at - 1]
        return before.kind == WORD and before.meaning is not None and before.meaning.address

    @staticmethod
    def _start(items: list[_Item], product: Product | None, text: str, before: _Item) -> _Item:
        code = product.code if product is not None else text.upper()
        item = _Item(product, code)
        if not items and before.qty_strength:
            item.qty, item.qty_strength = before.qty, before.qty_strength
        items.append(item)
        return item

    def _quantity(self, item: _Item, number: int, *, forced: bool) -> None:
        if forced:
            strength = 2 if number >= 1 else 0
        else:
            strength = 1 if 1 <= number <= self.max_quantity else 0
        if strength > item.qty_strength:  # the first quantity counts; a worded one beats a bare
            item.qty, item.qty_strength = number, strength

    def _fill_number(self, item: _Item, text: str) -> bool:
        """A bare number that is an allowed value of an unfilled attribute is that value."""
        if item.product is None:
            return False
        filled = item.attributes or {}
        for name, allowed in self.allowed[item.product.code].items():
            if name not in filled and text in allowed:
                self._set(item, name, allowed[text])
                return True
        return False

    def _fill_values(self, item: _Item, keys: frozenset[str]) -> None:
        if item.product is None:
            return
        filled = item.attributes or {}
        for name, allowed in self.allowed[item.product.code].items():
            if name in filled:
                continue
            for key in keys:
                if key in allowed:
                    self._set(item, name, allowed[key])
                    return

    def _is_labelled(self, lexeme: Lexeme) -> bool:
        if lexeme.kind == NUMBER:
            return True
        return lexeme.kind == WORD and lexeme.meaning is not None and lexeme.meaning.is_value

    def _fill_labelled(self, item: _Item, labels: frozenset[str], value: Lexeme) -> None:
        if item.product is None:
            return
        keys = {value.text} if value.kind == NUMBER else (value.meaning.values if value.meaning
                                                           else frozenset())  # fmt: skip
        filled = item.attributes or {}
        for name, allowed in self.allowed[item.product.code].items():
            if name in labels and name not in filled:
                for key in keys:
                    if key in allowed:
                        self._set(item, name, allowed[key])
                        return

    @staticmethod
    def _set(item: _Item, name: str, value: str) -> None:
        if item.attributes is None:
            item.attributes = {}
        item.attributes[name] = value

    def _has_evidence(self, lexemes: list[Lexeme], at: int) -> bool:
        """A code-shaped token is an item only with evidence of its own (COMMENT_SYNTAX.md).

        A code-shaped address (`ship q7`) is a product only right after an order word
        (`chốt Q7`): shops do sell `Q7`, customers do live in district 7.
        """
        if lexemes[at].kind == PLACE:
            return _keyword_before(lexemes, at, order_only=True)
        after = at + 1
        while after < len(lexemes) and _only_label(lexemes[after]):
            after += 1
        if after < len(lexemes):
            following = lexemes[after]
            if following.kind == NUMBER and (
                1 <= following.number <= self.max_quantity or following.text in self.numeric_values
            ):
                return True
            if following.kind == WORD and following.meaning is not None:
                meaning = following.meaning
                if meaning.is_value:
                    return True
                if meaning.quantity and after + 1 < len(lexemes):
                    return lexemes[after + 1].kind == NUMBER
        return _keyword_before(lexemes, at, order_only=False)

    def _clear_cancel(self, lexemes: list[Lexeme], at: int) -> bool:
        """Destructive intent needs clear words (COMMENT_SYNTAX.md, "Intent").

        A cancel word is clear when it names what to cancel: an item or `đơn` after it, across
        what may stand between a keyword and its item (`hủy mã Z9`, `hủy cho e sl 10 AB5`) and
        across an order word, which then names what is withdrawn (`hủy chốt K2 x1`). Typed
        with its diacritics and naming nothing, it is clear when nothing but politeness or
        order words follow it (`hủy nha shop`, `hủy chốt nhé`). `bỏ` and `huy` are everyday
        words (`bỏ rác vào`, `anh Huy ơi`), so typed without diacritics a single cancel word
        needs its item or `đơn` right after it (code markers aside), or, when it leads the
        comment, after order words and a quantity (`huy chot K2`, `huy 2 cai A12`; `anh Huy
        chốt đơn A12` is an order). A negation right before it (`đừng hủy`) is never a cancel.
        """
        lexeme = lexemes[at]
        before = lexemes[at - 1].meaning if at > 0 else None
        if before is not None and before.negation:
            return False
        if lexeme.length > 1:
            return True
        count = len(lexemes)
        if lexeme.diacritics:
            passable = _between_cancel_and_item
        elif _leads_comment(lexemes, at):
            passable = _between_bare_cancel_and_item
        else:
            passable = _is_code_marker
        after = at + 1
        while after < count and not self._names_what(lexemes, after) and passable(lexemes[after]):
            after += 1
        if after < count and self._names_what(lexemes, after):
            return True
        if not lexeme.diacritics:
            return False
        # an index loop, not a slice: a comment of many cancel words stays linear
        for rest in range(at + 1, count):
            if not (_is_particle(lexemes[rest]) or _is_order_word(lexemes[rest])):
                return False
        return True

    def _names_what(self, lexemes: list[Lexeme], at: int) -> bool:
        """An item (a code, or a code-shaped token that becomes one) or `đơn`."""
        lexeme = lexemes[at]
        if lexeme.kind == CODE:
            return True
        if lexeme.kind in (SHAPE, PLACE):
            return self._has_evidence(lexemes, at)
        return lexeme.meaning is not None and lexeme.meaning.order_noun


def _keyword_before(lexemes: list[Lexeme], at: int, *, order_only: bool) -> bool:
    """Whether an order (or cancel) word names the code-shaped token at `at`.

    Between the keyword and the code may stand code markers (`lấy mã Z9`), politeness words
    (`chốt cho em Z9`) and the quantity, which binds to that code (`lấy 2 cái Z9`,
    `hủy cho e sl 10 AB5`); a code-shaped address needs the order word right before it.
    """
    before = at - 1
    passable = _is_code_marker if order_only else _leads_to_item
    while before >= 0 and passable(lexemes[before]):
        before -= 1
    if before < 0 or lexemes[before].kind != WORD:
        return False
    keyword = lexemes[before].meaning
    if keyword is None:
        return False
    return keyword.order or (keyword.cancel and not order_only)


def _leads_to_item(lexeme: Lexeme) -> bool:
    """What may stand between a keyword and the item it names: code markers, politeness
    words (`cho em`, `giúp`), a quantity (`2`, `sl 10`, `2 cái`). Never a keyword itself."""
    if lexeme.kind == NUMBER:
        return True
    meaning = lexeme.meaning
    if lexeme.kind != WORD or meaning is None or meaning.order or meaning.cancel:
        return False
    return meaning.code_marker or meaning.particle or meaning.quantity


def _between_cancel_and_item(lexeme: Lexeme) -> bool:
    """`hủy chốt K2`, `hủy cho e sl 10 AB5`: an order word names what is withdrawn."""
    return _leads_to_item(lexeme) or _is_order_word(lexeme)


def _between_bare_cancel_and_item(lexeme: Lexeme) -> bool:
    """`huy chot K2`, `huy 2 cai A12`; politeness words stay out: `Huy ơi, A12 còn không?`
    talks to Huy."""
    return _is_order_word(lexeme) or _is_quantity(lexeme) or _is_code_marker(lexeme)


def _leads_comment(lexemes: list[Lexeme], at: int) -> bool:
    """Nothing but politeness words before `at` (`em huy chot K2`, `shop ơi huy chot K2`)."""
    before = at - 1
    while before >= 0 and _is_particle(lexemes[before]):  # backwards: stops at the first word
        before -= 1
    return before < 0


def _is_quantity(lexeme: Lexeme) -> bool:
    """A number, or a quantity word that is not also a keyword (`bo`: `bỏ` and `bộ`)."""
    if lexeme.kind == NUMBER:
        return True
    meaning = lexeme.meaning
    return (
        lexeme.kind == WORD
        and meaning is not None
        and meaning.quantity
        and not (meaning.order or meaning.cancel)
    )


def _is_particle(lexeme: Lexeme) -> bool:
    return lexeme.kind == WORD and lexeme.meaning is not None and lexeme.meaning.particle


def _is_order_word(lexeme: Lexeme) -> bool:
    return lexeme.kind == WORD and lexeme.meaning is not None and lexeme.meaning.order


def _number_value(digits: str) -> int:
    """The value of a run of digits, or -1 (never a quantity) when it has other scripts'
    digits (`٣`, `５`) or more than MAX_NUMBER_DIGITS of them, leading zeros aside."""
    significant = digits.lstrip("0")
    if not digits.isascii() or len(significant) > MAX_NUMBER_DIGITS:
        return -1
    return int(significant) if significant else 0


def _only_label(lexeme: Lexeme) -> bool:
    meaning = lexeme.meaning
    return lexeme.kind == WORD and meaning is not None and bool(meaning.labels) and not (
        meaning.values or meaning.quantity)  # fmt: skip


def _is_code_marker(lexeme: Lexeme) -> bool:
    return lexeme.kind == WORD and lexeme.meaning is not None and lexeme.meaning.code_marker


def compile_grammar(shop: ShopConfig) -> Grammar:
    """Prepare a shop's syntax once; then `grammar.parse(text, comment_id)` per comment."""
    return Grammar(shop)
