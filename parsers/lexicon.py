"""The shop's vocabulary compiled into lookup tables, once per shop configuration.

A typed word matches a configured word by the rule of COMMENT_SYNTAX.md: typed with diacritics
it must be the same spelling; typed without any, it matches by the stripped form. So every
configured phrase is indexed twice, under its exact first word and under its stripped one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from config.shop import ShopConfig
from parsers.normalize import normalize, strip_diacritics

# Nouns for "the order" that make a bare cancel word clear (`huy don`).
ORDER_NOUNS = ("đơn",)


@dataclass(slots=True)
class Meaning:
    """Everything one word or phrase can stand for; context picks one later."""

    order: bool = False
    cancel: bool = False
    quantity: bool = False
    question: bool = False
    code_marker: bool = False
    order_noun: bool = False
    particle: bool = False
    address: bool = False
    negation: bool = False
    measure: bool = False
    labels: frozenset[str] = frozenset()  # attribute names this word labels (`màu` -> color)
    values: frozenset[str] = frozenset()  # canonical value keys this word can be (`do` -> đỏ)

    def merge(self, other: Meaning) -> Meaning:
        return Meaning(
            order=self.order or other.order,
            cancel=self.cancel or other.cancel,
            quantity=self.quantity or other.quantity,
            question=self.question or other.question,
            code_marker=self.code_marker or other.code_marker,
            order_noun=self.order_noun or other.order_noun,
            particle=self.particle or other.particle,
            address=self.address or other.address,
            negation=self.negation or other.negation,
            measure=self.measure or other.measure,
            labels=self.labels | other.labels,
            values=self.values | other.values,
        )

    @property
    def is_value(self) -> bool:
        return bool(self.values)


@dataclass(frozen=True, slots=True)
class Phrase:
    words: tuple[tuple[str, str], ...]  # (exact, stripped) per word
    meaning: Meaning


@dataclass(slots=True)
class Bucket:
    """What can start at one typed first word: longer phrases to verify, or the word alone."""

    phrases: list[Phrase] = field(default_factory=list)  # two words or more, longest first
    single: Meaning | None = None


@dataclass(slots=True)
class Lexicon:
    exact: dict[str, Bucket] = field(default_factory=dict)
    stripped: dict[str, Bucket] = field(default_factory=dict)

    def add(self, text: str, meaning: Meaning) -> None:
        words = tuple((word, strip_diacritics(word)) for word in normalize(text).split())
        if not words:
            return
        for index, key in ((self.exact, words[0][0]), (self.stripped, words[0][1])):
            bucket = index.setdefault(key, Bucket())
            if len(words) == 1:
                # every single word filed under this key matches the same typed word, so
                # their meanings merge: `bo` is both `bỏ` (cancel) and `bộ` (quantity)
                bucket.single = meaning if bucket.single is None else bucket.single.merge(meaning)
            else:
                bucket.phrases.append(Phrase(words, meaning))
                bucket.phrases.sort(key=lambda p: -len(p.words))

    def bucket(self, word: str, stripped: str) -> Bucket | None:
        if word == stripped:
            return self.stripped.get(word)
        return self.exact.get(word)


def word_matches(typed: str, typed_stripped: str, configured: tuple[str, str]) -> bool:
    if typed == typed_stripped:
        return typed == configured[1]
    return typed == configured[0]


def value_key(value: str) -> str:
    return normalize(value)


def _add_all(lexicon: Lexicon, words: Iterable[str], meaning: Meaning) -> None:
    for word in words:
        lexicon.add(word, meaning)


def build_lexicon(shop: ShopConfig, label_words: Sequence[tuple[str, str]]) -> Lexicon:
    """All configured words and phrases of a shop. `label_words`: (label, attribute name)."""
    syntax = shop.syntax
    lexicon = Lexicon()
    _add_all(lexicon, syntax.order_keywords, Meaning(order=True))
    _add_all(lexicon, syntax.cancel_keywords, Meaning(cancel=True))
    _add_all(lexicon, syntax.quantity_words, Meaning(quantity=True))
    _add_all(lexicon, (m for m in syntax.question_markers if any(c.isalnum() for c in m)),
             Meaning(question=True))  # fmt: skip
    _add_all(lexicon, syntax.code_markers, Meaning(code_marker=True))
    _add_all(lexicon, ORDER_NOUNS, Meaning(order_noun=True))
    _add_all(lexicon, syntax.particles, Meaning(particle=True))
    _add_all(lexicon, syntax.address_words, Meaning(address=True))
    _add_all(lexicon, syntax.negations, Meaning(negation=True))
    _add_all(lexicon, syntax.measure_words, Meaning(measure=True))
    for label, attribute in label_words:
        lexicon.add(label, Meaning(labels=frozenset({attribute})))
    for product in shop.products:
        for values in product.attributes.values():
            for value in values:
                if not value.isdigit():  # numbers are read as numbers, then checked
                    lexicon.add(value, Meaning(values=frozenset({value_key(value)})))
    for canonical, spellings in shop.aliases.items():
        _add_all(lexicon, spellings, Meaning(values=frozenset({value_key(canonical)})))
    return lexicon
