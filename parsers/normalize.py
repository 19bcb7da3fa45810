"""Text normalisation: one canonical form before anything is matched (COMMENT_SYNTAX.md)."""

from __future__ import annotations

import re
import unicodedata

# Emoji and other symbols, their modifiers, quotes and brackets: dropped, and each run of them
# separates the tokens on either side exactly as one space does (`chốt❤️K2` is `chốt K2`,
# `A1😍2` is `A1 2`), so an emoji never joins two words nor hides a keyword, a code or a number.
_DROP_CATEGORIES = frozenset({"So", "Sk", "Cs", "Co", "Me", "Ps", "Pe", "Pi", "Pf"})
_DROP_EXTRA = "\"'<>"
# Invisible joiners are not emoji: inside an emoji sequence (👨‍👩‍👧) they go with it, typed
# inside a word (copied text) they must not split it. Removed outright, before anything else.
_INVISIBLE_JOINERS = str.maketrans("", "", "\u200d\u200c\u2060")


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


def _separator_runs(characters: str) -> re.Pattern[str]:
    """A run of dropped characters with the spaces around it (one space replaces it all), so
    `a 😍 12` reads like `a 12`. The look-behind starts a run only at the first of several
    spaces: scanning stays linear on a comment of a million spaces."""
    return re.compile(f"(?<! ) *[{characters}](?:[{characters}]| )*")


_DROP_RE = _separator_runs(_drop_ranges())
_ASCII_DROP_RE = _separator_runs(re.escape("\"'`^()[]{}<>"))


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
    """NFC, lower case; emoji, quotes and brackets become separators. Idempotent."""
    if text.isascii():
        return _ASCII_DROP_RE.sub(" ", text).lower()
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE_JOINERS)
    text = _DROP_RE.sub(" ", text)
    return unicodedata.normalize("NFC", text.lower())


def strip_diacritics(text: str) -> str:
    """`Đỏ` -> `Do`, `chốt` -> `chot`: a word as typed without a Vietnamese keyboard."""
    return text.translate(_STRIP)
