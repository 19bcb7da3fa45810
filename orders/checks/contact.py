"""A customer's delivery contact as staff type it (the `set_customer` command), made canonical.

Phone numbers are checked with `phonenumbers` (Google's libphonenumber metadata), which knows the
mobile prefixes Vietnamese carriers use today; a number is kept in the ten-digit `0…` form that
parsers/phones.py gives numbers found in comments. Provinces become the official name of the
province in force (orders/checks/provinces.py), an old province name included.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

from orders.checks.provinces import resolve_province
from orders.commands import CONTACT_FIELDS, Reason
from orders.reasons import reason

# What a typed number may hold besides digits: a leading + (maybe bracketed), spaces, dots,
# dashes, brackets.
# Anything else ("0912345678a", "call 0912…") is refused rather than silently dropped.
_PHONE_CHARS_RE = re.compile(r"^\(?\+?[0-9 .\-()]+$")
_MOBILE = phonenumbers.PhoneNumberType.MOBILE


# Pure and costly (libphonenumber parses with regexes), and a finalise asks three times for the
# same number: its check, the order it expects (stream/staff.py), the order.
@lru_cache(maxsize=4096)
def normalise_phone(text: str) -> str | None:
    """A Vietnamese mobile number in the ten-digit `0…` form, or None when `text` is not one.

    Accepts `0912345678`, `+84 912 345 678`, `84912345678`, `0912.345.678`, `(+84) 912-345-678`.
    """
    typed = unicodedata.normalize("NFKC", text).strip()  # NFKC: full-width digits become ASCII
    if not _PHONE_CHARS_RE.match(typed):
        return None
    digits = re.sub(r"[^0-9]", "", typed)
    if "+" in typed and not digits.startswith("84"):
        return None  # another country's number
    try:
        number = phonenumbers.parse(typed, "VN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 84 or not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) != _MOBILE:
        return None
    national = "0" + str(number.national_number)
    return national if len(national) == 10 else None


def clean_text(value: str) -> str:
    """NFC, trimmed, inner runs of whitespace as one space."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def normalise_contact(
    fields: dict[str, str | None],
) -> tuple[dict[str, str | None], list[Reason]]:
    """The given contact fields made canonical, and every reason a value is refused.

    Only the keys given (of name, phone, address, ward, province, note) are returned. A value
    that is None or blank stays None (the field is cleared). The note keeps its line breaks. A
    refused phone or province is returned as typed (trimmed), next to its reason.
    """
    result: dict[str, str | None] = {}
    problems: list[Reason] = []
    for key in CONTACT_FIELDS:
        if key not in fields:
            continue
        raw = fields[key]
        if raw is None:
            result[key] = None
            continue
        # a note keeps its line breaks; every other field is one line
        text = unicodedata.normalize("NFC", raw).strip() if key == "note" else clean_text(raw)
        if not text:
            result[key] = None
        elif key == "phone":
            phone = normalise_phone(text)
            if phone is None:
                problems.append(reason("invalid_phone", "phone", phone=text))
            result[key] = phone or text
        elif key == "province":
            province = resolve_province(text)
            if province is None:
                problems.append(reason("unknown_province", "province", province=text))
            result[key] = province.name if province else text
        else:
            result[key] = text
    return result, problems
