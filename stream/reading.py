"""A livestream's grammar with the parses of the texts it has read kept.

A live's comments repeat: the same praise, questions and `chốt A12` from many viewers (72 % of
the bench's sample comments repeat an earlier text). A parse is a function of the text alone
(the grammar is fixed for its configuration version), so the worker reads each distinct text
once per grammar and gives every later comment a copy of that reading: what the parser would
have said, with the comment's own id, and items of its own (nobody downstream shares them).
"""

from __future__ import annotations

from parsers import Grammar, ParsedItem, ParseResult
from parsers.models import Intent, ItemStatus

# Distinct texts kept per grammar; past it the kept ones are forgotten. With LONGEST_KEPT, at
# most ~3 million characters per livestream the worker has a grammar for (typical comments are
# a tenth of that long), beside the grammar's own WORDS_KEPT word lookups.
TEXTS_KEPT = 10_000
LONGEST_KEPT = 300  # characters: longer texts are rare, seldom repeated, and not kept
# Only tuples and strings, so the garbage collector stops tracking what is kept (a kept dict
# per item made every collection walk ~100,000 more objects: ~4 µs per comment).
_Reading = tuple[
    Intent, str | None, tuple[tuple[str, int, tuple[tuple[str, str], ...], ItemStatus], ...]
]


class RememberingGrammar:
    """`parse` as the grammar's, each distinct text parsed once (module docstring)."""

    __slots__ = ("_kept", "grammar")

    def __init__(self, grammar: Grammar) -> None:
        self.grammar = grammar
        self._kept: dict[str, _Reading] = {}

    def parse(self, text: str, comment_id: str = "") -> ParseResult:
        kept = self._kept.get(text)
        if kept is None:
            result = self.grammar.parse(text, comment_id)
            if len(text) <= LONGEST_KEPT:
                if len(self._kept) >= TEXTS_KEPT:
                    self._kept.clear()  # a flood of distinct texts cannot grow it
                self._kept[text] = (
                    result.intent,
                    result.phone,
                    tuple(
                        (i.code, i.qty, tuple(i.attributes.items()), i.status) for i in result.items
                    ),
                )
            return result
        intent, phone, items = kept
        return ParseResult(
            comment_id,
            intent,
            phone,
            [ParsedItem(code, qty, dict(attrs), status) for code, qty, attrs, status in items],
        )
