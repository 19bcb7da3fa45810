"""What stands between a draft and an order (ARCHITECTURE.md, "Finalising"), every reason at once.

Works on the draft's JSON (orders/model.py `Draft.to_json`, plus the staff-set `contact`), so the
command agent can check exactly what it stored. The contact an order uses is the staff-set value
where there is one, else what the customer's comments gave (name, phone).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from config.shop import Product
from orders.checks.contact import clean_text, normalise_phone
from orders.checks.provinces import resolve_province
from orders.commands import CONTACT_FIELDS, Reason
from orders.model import Json
from orders.reasons import reason

# Lines drawn from the catalogue hold stock; unknown-code and ad-hoc (custom) lines do not.
_CATALOGUE_STATUSES = frozenset({"matched", "needs_variant"})


def _text(value: Any) -> str | None:
    """A non-blank string, cleaned; anything else is no value."""
    if isinstance(value, str):
        return clean_text(value) or None
    return None


def _raw_contact(draft: Json) -> dict[str, str | None]:
    contact = draft.get("contact") or {}
    customer = draft.get("customer") or {}
    raw = {key: _text(contact.get(key)) for key in CONTACT_FIELDS}
    if raw["note"] is not None:  # a note keeps its line breaks
        raw["note"] = unicodedata.normalize("NFC", contact["note"]).strip()
    raw["name"] = raw["name"] or _text(customer.get("name"))
    raw["phone"] = raw["phone"] or _text(customer.get("phone"))
    return raw


def effective_contact(draft: Json) -> dict[str, str | None]:
    """The contact an order from this draft gets: name, phone, address, ward, province, note.

    Name and phone are the staff-set ones, else the customer's from the comments. A valid phone
    is in the ten-digit form and a province that resolves is the official name in force; a value
    that does not (which `finalise_problems` refuses) is kept as written.
    """
    contact = _raw_contact(draft)
    if contact["phone"] is not None:
        contact["phone"] = normalise_phone(contact["phone"]) or contact["phone"]
    if contact["province"] is not None:
        province = resolve_province(contact["province"])
        contact["province"] = province.name if province else contact["province"]
    return contact


def _missing_attributes(line: Json, products: dict[str, Product]) -> list[str]:
    product = products.get(str(line.get("code", "")).upper())
    if product is None:
        return []
    given = line.get("attributes") or {}
    return [name for name in product.attributes if name not in given]


def _variant_reason(field: str, line: int, code: str, missing: list[str]) -> Reason:
    if missing:
        return reason("unresolved_variant", field, line=line, code=code,
                      attributes=", ".join(missing))  # fmt: skip
    # Without the catalogue the line cannot say which attribute is missing: name the kind.
    vi = reason("unresolved_variant", field, line=line, code=code, attributes="phân loại")
    en = reason("unresolved_variant", field, line=line, code=code, attributes="a variant")
    return Reason(code=vi.code, field=field, vi=vi.vi, en=en.en)


def _line_total(line: Json) -> int:
    amount = line.get("amount")
    if isinstance(amount, int):
        return amount
    price, reserved = line.get("unit_price"), line.get("reserved")
    if isinstance(price, int) and isinstance(reserved, int):
        return price * reserved
    return 0


def finalise_problems(draft: Json, products: Iterable[Product] = ()) -> list[Reason]:
    """Every reason the draft cannot become an order yet; empty when it can.

    `products`, the livestream's catalogue when the caller has it, lets a needs-variant line name
    the attributes still missing (`size, color`); without it the reason says "a variant".
    Line reasons carry the field `lines.<n>`, n the 1-based position commands address lines by.
    """
    problems: list[Reason] = []
    contact = _raw_contact(draft)
    if contact["name"] is None:
        problems.append(reason("missing_name", "name"))
    phone = contact["phone"]
    if phone is None:
        problems.append(reason("missing_phone", "phone"))
    elif normalise_phone(phone) is None:
        problems.append(reason("invalid_phone", "phone", phone=phone))
    if contact["address"] is None:
        problems.append(reason("missing_address", "address"))
    province = contact["province"]
    if province is None:
        problems.append(reason("missing_province", "province"))
    elif resolve_province(province) is None:
        problems.append(reason("unknown_province", "province", province=province))

    lines: list[Json] = list(draft.get("lines") or [])
    if not lines:
        problems.append(reason("no_lines", "lines"))
    catalogue = {product.code: product for product in products}
    for position, line in enumerate(lines, start=1):
        field = f"lines.{position}"
        code = str(line.get("code", ""))
        status = line.get("status")
        if status == "unknown_code":
            problems.append(reason("unresolved_unknown_code", field, line=position, code=code))
        elif status == "needs_variant":
            missing = _missing_attributes(line, catalogue)
            problems.append(_variant_reason(field, position, code, missing))
        if status in _CATALOGUE_STATUSES:
            qty, reserved = int(line.get("qty") or 0), int(line.get("reserved") or 0)
            if reserved < qty:
                problems.append(reason("waitlisted_line", field, line=position, code=code,
                                       reserved=reserved, qty=qty))  # fmt: skip

    total = draft.get("total")
    if not isinstance(total, int):
        total = sum(_line_total(line) for line in lines)
    if lines and total <= 0:
        problems.append(reason("zero_total", "total"))
    return problems
