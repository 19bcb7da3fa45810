"""Text normalisation: one canonical form before anything is matched (COMMENT_SYNTAX.md)."""

from __future__ import annotations

import re
import unicodedata

# Emoji and other symbols, their modifiers, quotes and brackets: dropped, and each run of them
# separates the tokens on either side exactly as one space does (`chốt❤️K2` is `chốt K2`,
# `A1😍2` is `A1 2`), so an emoji never joins two words nor hides a keyword, a code or a number.
# A run takes one space on either side with it (`a 😍 12` is `a 12`, still A12): an emoji put
# next to a space changes nothing.
_DROP_CATEGORIES = frozenset({"So", "Sk", "Cs", "Co", "Me", "Ps", "Pe", "Pi", "Pf"})
_DROP_EXTRA = "\"'<>"
# Invisible joiners are not emoji: inside an emoji sequence (👨‍👩‍👧) they go with it, typed
# inside a word (copied text) they must not split it. Removed outright, before anything else.
_INVISIBLE_JOINERS = str.maketrans("", "", "\u200d\u200c\u2060")
# Where a run was, until its spaces are settled: a private-use character, itself dropped, so
# none is left in the text but the ones put there.
_RUN = "\ue000"


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


_DROP_RUNS_RE = re.compile(f"[{_drop_ranges()}]+")
# Every dropped character is one of these (a test checks it): all but ASCII letters and digits,
# Latin letters and combining marks. A small class the regex engine checks fast, where the
# dropped ones are hundreds of ranges: a comment without any (most) skips the slow scan.
MAYBE_DROPPED_RE = re.compile(
    "[\"'`^()\\[\\]{}<>\x80-\xbf\u0250-\u02ff\u0370-\u1dff\u1f00-\U0010ffff]"
)
_ASCII_RUN_MARKS = str.maketrans(dict.fromkeys("\"'`^()[]{}<>", _RUN))
_RUNS_RE = re.compile(f"{_RUN}+")


def _runs_to_spaces(text: str) -> str:
    """Each run (marked `_RUN`), with one space on either side, becomes one space. Plain
    string replacements: linear, and cheaper than a pattern looking around every space."""
    return _RUNS_RE.sub(" ", text.replace(" " + _RUN, _RUN).replace(_RUN + " ", _RUN))


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
        text = text.translate(_ASCII_RUN_MARKS)
        return (_runs_to_spaces(text) if _RUN in text else text).lower()
    text = unicodedata.normalize("NFC", text)
    if MAYBE_DROPPED_RE.search(text):
        if "\u200d" in text or "\u200c" in text or "\u2060" in text:
            text = text.translate(_INVISIBLE_JOINERS)
        text, runs = _DROP_RUNS_RE.subn(_RUN, text)
        if runs:
            text = _runs_to_spaces(text)
    return unicodedata.normalize("NFC", text.lower())


def strip_diacritics(text: str) -> str:
    """`Đỏ` -> `Do`, `chốt` -> `chot`: a word as typed without a Vietnamese keyboard."""
    return text.translate(_STRIP)
