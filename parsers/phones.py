"""Vietnamese mobile numbers in comments (COMMENT_SYNTAX.md, "Phone numbers")."""

from __future__ import annotations

import re

# 0 or (+)84, then a mobile prefix 3/5/7/8/9 and eight more digits, each digit optionally
# preceded by one space, dot or dash (`0912 345 678`, `0912.345.678`, `+84 912-345-678`).
# ASCII digits only: `\d` would also take other scripts' digits into the "normalised" number.
PHONE_RE = re.compile(r"(?<![0-9+])(?:\+84|84|0)[ .\-]?([35789](?:[ .\-]?[0-9]){8})(?![0-9])")
_SEPARATORS = str.maketrans("", "", " .-")


def _normalised(match: re.Match[str]) -> str:
    return "0" + match.group(1).translate(_SEPARATORS)


def find_phones(text: str) -> list[str]:
    """Every valid mobile number in `text`, in order, in the ten-digit `0…` form."""
    return [_normalised(match) for match in PHONE_RE.finditer(text)]


def cut_phones(text: str) -> tuple[str, str | None]:
    """`text` with every number replaced by a separator, and the first number (or None).

    The separator keeps a number from gluing its neighbours into one phrase or one code.
    """
    first: str | None = None

    def replace(match: re.Match[str]) -> str:
        nonlocal first
        if first is None:
            first = _normalised(match)
        return ","

    return PHONE_RE.sub(replace, text), first
