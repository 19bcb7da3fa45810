"""Text normalisation: one canonical form before anything is matched (COMMENT_SYNTAX.md)."""

from __future__ import annotations

import re
import unicodedata

# Characters dropped outright, without leaving a separator, so that an emoji typed inside a
# code (`A1😍2`) does not split it: emoji and other symbols, their modifiers and joiners,
# quotes and brackets.
_DROP_CATEGORIES = frozenset({"So", "Sk", "Cs", "Co", "Me", "Ps", "Pe", "Pi", "Pf"})
_DROP_EXTRA = "\"'<>\u200d\u200c\u2060"


def _drop_ranges() -> str:
    ranges: list[tuple[int, int]] = []

    def add(code: int) -> None:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))

    for code in range(0x20000):  # symbols live in the first two planes
        char = chr(code)
        # variation selectors (FE00-FE0F) pick emoji presentation: part of the emoji
        if (
            unicodedata.category(char) in _DROP_CATEGORIES
            or char in _DROP_EXTRA
            or (0xFE00 <= code <= 0xFE0F)
        ):
            add(code)
    ranges.append((0xE0000, 0xE01EF))  # tag characters and variation selectors supplement
    return "".join(
        re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"
        for lo, hi in ranges
    )


_DROP_RE = re.compile(f"[{_drop_ranges()}]+")
_ASCII_DROP = str.maketrans("", "", "\"'`^()[]{}<>")


def _strip_table() -> dict[int, str]:
    """Letters with diacritics -> their base letter; `đ` -> `d` (Vietnamese convention)."""
    table: dict[int, str] = {ord("đ"): "d", ord("Đ"): "D"}
    for code in range(0xC0, 0x2000):
        decomposed = unicodedata.normalize("NFD", chr(code))
        base = decomposed[0]
        if len(decomposed) > 1 and base.isascii() and base.isalpha():
            table[code] = base
    for code in range(0x0300, 0x0370):  # stray combining marks (text that was not NFC)
        table[code] = ""
    return table


_STRIP = _strip_table()


def normalize(text: str) -> str:
    """NFC, lower case, emoji/quotes/brackets dropped. Idempotent."""
    if text.isascii():
        return text.translate(_ASCII_DROP).lower()
    text = _DROP_RE.sub("", unicodedata.normalize("NFC", text))
    return unicodedata.normalize("NFC", text.lower())


def strip_diacritics(text: str) -> str:
    """`Đỏ` -> `Do`, `chốt` -> `chot`: a word as typed without a Vietnamese keyboard."""
    return text.translate(_STRIP)
