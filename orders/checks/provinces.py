"""Vietnam's provinces: the 34 in force since 1 July 2025, and the 63 names customers still type.

The lists and the old-to-new mapping are the data files of the `vietnamadminunits` package
(`data/parser_from_2025.json`, `data/parser_legacy.json`, `data/converter_2025.json`), read once,
on first use. Only its data is used: its fuzzy address parser guesses (it reads "Quảng Bình" as
Hà Nội), and a province on an order must be what the customer wrote or nothing.

A typed province is normalised (NFC, accents dropped, `đ` -> `d`, lowercase, a leading "tỉnh",
"thành phố", "tp" or "tp." dropped, spaces and punctuation dropped) and looked up exactly: first
among the keywords of the 34 provinces, then among those of the 63 old ones, which resolve to the
province they became part of. "Quảng Bình" is the province of Quảng Trị today.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import re
import unicodedata
from dataclasses import dataclass, replace
from functools import cache
from importlib.resources.abc import Traversable
from typing import Any

_PACKAGE = "vietnamadminunits"
_PREFIXES = (("tinh",), ("thanh", "pho"), ("tp",), ("t", "p"))  # "tp." and "t.p." split on dots
_WORD_RE = re.compile(r"[a-z0-9]+")

# Names people use that are in neither list: (normalised spelling, the old official name it
# stands for or None, key of the province in force). Sài Gòn and its abbreviations, Bà Rịa - Vũng
# Tàu's, Thừa Thiên Huế (the city of Huế since January 2025), Hà Tây (part of Hà Nội since 2008),
# common misspellings of Đắk Lắk and Bắc Kạn.
_EXTRA: tuple[tuple[str, str | None, str], ...] = (
    ("saigon", None, "thanhphohochiminh"),
    ("sg", None, "thanhphohochiminh"),
    ("hcmc", None, "thanhphohochiminh"),
    ("brvt", "Tỉnh Bà Rịa - Vũng Tàu", "thanhphohochiminh"),
    ("thuathienhue", "Tỉnh Thừa Thiên Huế", "thanhphohue"),
    ("hatay", "Tỉnh Hà Tây", "thanhphohanoi"),
    ("daclac", None, "tinhdaklak"),
    ("baccan", "Tỉnh Bắc Kạn", "tinhthainguyen"),
)


@dataclass(frozen=True, slots=True)
class Province:
    code: str  # the official two-digit code of the province in force ("01" Hà Nội)
    name: str  # its official name, "Thành phố Hà Nội"
    short_name: str  # "Hà Nội"
    typed: str  # what was resolved, as typed (trimmed); the official name for `provinces()`
    legacy_name: str | None = None  # the old province's official name, when that was typed


@dataclass(frozen=True, slots=True)
class _Tables:
    provinces: tuple[Province, ...]
    by_keyword: dict[str, Province]  # normalised keyword of a province in force
    by_old_keyword: dict[str, Province]  # normalised keyword of an old province, with legacy_name


def normalise_name(text: str) -> str:
    """`text` as a lookup key: no accents, `đ` as `d`, lowercase, no prefix, letters and digits."""
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFC", text).casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).replace("đ", "d")
    words = _WORD_RE.findall(plain)
    for prefix in _PREFIXES:
        if tuple(words[: len(prefix)]) == prefix and len(words) > len(prefix):
            words = words[len(prefix) :]
            break
    return "".join(words)


def _data_file(name: str) -> Traversable:
    # The package's __init__ imports its parsers (about half a second, and pandas-sized
    # dependencies); a module made from its spec, never executed, is enough to find its files.
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None:
        raise ModuleNotFoundError(f"the {_PACKAGE} package is not installed", name=_PACKAGE)
    package = importlib.util.module_from_spec(spec)
    return importlib.resources.files(package).joinpath("data", name)


def _provinces_of(name: str) -> dict[str, Any]:
    table: dict[str, Any] = json.loads(_data_file(name).read_bytes())["DICT_PROVINCE"]
    return table


@cache
def _tables() -> _Tables:
    new = _provinces_of("parser_from_2025.json")
    old = _provinces_of("parser_legacy.json")
    merged_into: dict[str, list[str]] = json.loads(_data_file("converter_2025.json").read_bytes())[
        "DICT_PROVINCE"
    ]

    current: dict[str, Province] = {}
    by_keyword: dict[str, Province] = {}
    for key, entry in new.items():
        province = Province(
            code=entry["provinceCode"],
            name=entry["province"],
            short_name=entry["provinceShort"],
            typed=entry["province"],
        )
        current[key] = province
        for keyword in (key, *entry["provinceKeywords"]):
            by_keyword[normalise_name(keyword)] = province

    by_old_keyword: dict[str, Province] = {}
    for new_key, old_keys in merged_into.items():
        for old_key in old_keys:
            entry = old[old_key]
            province = replace(current[new_key], legacy_name=entry["province"])
            for keyword in (old_key, *entry["provinceKeywords"]):
                by_old_keyword[normalise_name(keyword)] = province

    for spelling, legacy_name, new_key in _EXTRA:
        if legacy_name is None:
            by_keyword.setdefault(spelling, current[new_key])
        else:
            by_old_keyword.setdefault(spelling, replace(current[new_key], legacy_name=legacy_name))

    if len(current) != 34 or len({p.name for p in by_old_keyword.values()}) != 34:
        raise RuntimeError(f"{_PACKAGE}'s data no longer lists 34 provinces")
    ordered = tuple(sorted(current.values(), key=lambda p: p.code))
    return _Tables(ordered, by_keyword, by_old_keyword)


def provinces() -> list[Province]:
    """The 34 provinces in force, by code."""
    return list(_tables().provinces)


def resolve_province(text: str) -> Province | None:
    """The province in force that `text` names (an old province name gives the one it joined)."""
    typed = unicodedata.normalize("NFC", text).strip()
    key = normalise_name(typed)
    if not key:
        return None
    tables = _tables()
    # "tphcm": the "tp" prefix glued to the name
    keys = (key, key[2:]) if key.startswith("tp") and len(key) > 2 else (key,)
    for table in (tables.by_keyword, tables.by_old_keyword):
        for candidate in keys:
            if candidate in table:
                return replace(table[candidate], typed=typed)
    return None
