"""What the parser says about one comment (COMMENT_SYNTAX.md, "The parse result")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Intent = Literal["order", "cancel", "none"]
ItemStatus = Literal["matched", "needs_variant", "unknown_code"]


@dataclass(slots=True)
class ParsedItem:
    code: str
    qty: int = 1
    attributes: dict[str, str] = field(default_factory=dict)
    status: ItemStatus = "matched"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "qty": self.qty, "attributes": self.attributes,
                "status": self.status}  # fmt: skip


@dataclass(slots=True)
class ParseResult:
    comment_id: str
    intent: Intent
    phone: str | None = None
    items: list[ParsedItem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "comment_id": self.comment_id,
            "intent": self.intent,
            "phone": self.phone,
            "items": [item.to_dict() for item in self.items],
        }
