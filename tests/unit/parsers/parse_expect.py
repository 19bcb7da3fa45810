"""Compact expectations for parse results (COMMENT_SYNTAX.md, "The parse result").

    order(item("A12", 2, MATCHED, size="M", color="đỏ"), phone="0912345678")

builds the `to_dict()` of a result, without its comment id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from config.loader import load_shop
from config.shop import ShopConfig

REPO_ROOT = Path(__file__).resolve().parents[3]
DEMO_SHOP_PATH = REPO_ROOT / "config" / "shops" / "demo.toml"

MATCHED = "matched"
NEEDS = "needs_variant"
UNKNOWN = "unknown_code"

Expected = dict[str, Any]


def item(code: str, qty: int = 1, status: str = MATCHED, **attributes: str) -> dict[str, Any]:
    return {"code": code, "qty": qty, "attributes": attributes, "status": status}


def order(*items: dict[str, Any], phone: str | None = None) -> Expected:
    assert items, "an order has items"
    return {"intent": "order", "phone": phone, "items": list(items)}


def cancel(*items: dict[str, Any], phone: str | None = None) -> Expected:
    return {"intent": "cancel", "phone": phone, "items": list(items)}


def none(phone: str | None = None) -> Expected:
    return {"intent": "none", "phone": phone, "items": []}


def demo_shop() -> ShopConfig:
    return load_shop(DEMO_SHOP_PATH)


def small_shop(products: list[dict[str, Any]], syntax: dict[str, Any] | None = None) -> ShopConfig:
    """A shop built in the test, with the spec's default syntax unless told otherwise."""
    document: dict[str, Any] = {
        "shop": {"id": "shop-test", "name": "Shop Test"},
        "products": products,
    }
    if syntax is not None:
        document["syntax"] = syntax
    return ShopConfig.model_validate(document)


def with_syntax(shop: ShopConfig, **changes: Any) -> ShopConfig:
    """The same shop with some `[syntax]` values changed (validated again)."""
    document = shop.model_dump()
    document["syntax"].update(changes)
    return ShopConfig.model_validate(document)
