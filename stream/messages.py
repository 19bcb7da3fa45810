"""The messages on chotdon's Kafka topics, in one place.

Every message is JSON (orjson) validated by one of these pydantic models and carries a schema
version `v`, so a schema can evolve without guessing what an old message meant.

All models ignore unknown fields (`extra="ignore"`) rather than forbid them: producers are
deployed independently of consumers, so a producer that starts sending a new optional field
(schema `v` still 1, or a new `v` that only adds fields) must not turn every message into a
dead letter on the consumers that have not been upgraded yet. The shop configuration, typed by
people, forbids unknown keys instead (a typo there should fail loudly); messages written by
programs should be tolerant readers.

Validation is on the hot path: the comment agent validates up to 100k comments/s. Read
messages with `from_json` (pydantic's Rust JSON parser, no Python-level validators on
`Comment`); `describe_error` turns a ValidationError into a one-line dead-letter detail.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Self

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as ValidationError

SCHEMA_VERSION: Final = 1

NonEmpty = Annotated[str, Field(min_length=1)]
# Lower-cased by pydantic-core itself (no Python validator on the hot path).
PlatformName = Annotated[
    str, StringConstraints(to_lower=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
]

KNOWN_PLATFORMS: Final = ("facebook", "tiktok", "youtube", "shopee", "chat")


class _Message(BaseModel):
    # extra="ignore": see the module docstring (forward compatibility with newer producers).
    model_config = ConfigDict(extra="ignore", frozen=True)

    v: Annotated[int, Field(ge=1)] = SCHEMA_VERSION

    @classmethod
    def from_json(cls, data: bytes | bytearray | memoryview | str) -> Self:
        """Parse and validate one message. Raises pydantic's ValidationError (a ValueError)
        for bad JSON (`json_invalid`) as well as for a bad message; see `describe_error`."""
        if isinstance(data, memoryview):
            data = data.tobytes()
        # What model_validate_json does, without its Python-level wrapper: ~1.5 µs of the
        # ~6 µs a comment costs to decode, on the comment path (benchmarks/README.md).
        validated: Self = cls.__pydantic_validator__.validate_json(data)
        return validated

    def to_json(self) -> bytes:
        """orjson bytes; datetimes as ISO 8601 with their UTC offset."""
        return orjson.dumps(self.model_dump())


# Longer than any platform lets a viewer type (Facebook's 8,000 is the most). A comment of a
# megabyte of `A12 ` would be 250,000 items applied in one Redis call: a dead letter instead.
MAX_COMMENT_TEXT = 10_000


class Comment(_Message):
    """One livestream comment, as every platform adapter produces it (topic `comments`)."""

    id: NonEmpty  # the platform's comment id, as the platform spells it
    platform: PlatformName  # KNOWN_PLATFORMS, or another platform's lower-case name
    shop_id: NonEmpty
    livestream_id: NonEmpty
    user_id: NonEmpty | None  # None when the platform hides who commented
    user_name: str = ""
    text: Annotated[str, Field(max_length=MAX_COMMENT_TEXT)]
    created_at: AwareDatetime  # the platform's time; naive times are refused
    reply_to: str | None = None  # the id of the comment this one answers


class DeadLetterReason(StrEnum):
    """Stable codes for `DeadLetter.reason` (others may be added; codes are never renamed)."""

    UNDECODABLE = "undecodable"  # not UTF-8 / no value at all
    INVALID_JSON = "invalid_json"
    INVALID_COMMENT = "invalid_comment"  # JSON, but not a valid Comment
    UNKNOWN_LIVESTREAM = "unknown_livestream"
    INVALID_COMMAND = "invalid_command"  # a staff command that is not JSON or not a Command
    STORE_REFUSED = "store_refused"  # a command the store refused for good (damaged state)
    UNPARSEABLE_COMMENT = "unparseable_comment"  # the parser failed, or gave what the store refuses


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


class DeadLetter(_Message):
    """A record that could not be processed, with the reason and its original bytes
    (topic `dead-letters`)."""

    reason: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
    detail: str  # for humans
    topic: str
    partition: int
    offset: int
    key: str | None  # the record's key, base64; None when it had none
    value_b64: str | None  # the record's value, base64; None when it had none
    failed_at: AwareDatetime

    @classmethod
    def of_record(
        cls,
        reason: str,
        detail: str,
        *,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        failed_at: datetime | None = None,
    ) -> DeadLetter:
        return cls(
            reason=str(reason),
            detail=detail,
            topic=topic,
            partition=partition,
            offset=offset,
            key=_b64(key),
            value_b64=_b64(value),
            failed_at=failed_at or datetime.now(UTC),
        )

    def original_key(self) -> bytes | None:
        return None if self.key is None else base64.b64decode(self.key)

    def original_value(self) -> bytes | None:
        return None if self.value_b64 is None else base64.b64decode(self.value_b64)


class DraftEvent(_Message):
    """A draft order changed (topic `draft-events`): its new state and the comments of the
    batch that changed it."""

    shop_id: NonEmpty
    livestream_id: NonEmpty
    seq: Annotated[int, Field(ge=1)]
    draft: dict[str, Any]
    comment_ids: list[str]
    emitted_at: AwareDatetime
    # what the shop knows of the customer: returned orders (bom hàng), blacklist
    warnings: list[dict[str, Any]] = Field(default_factory=list)


_FRIENDLIER = {
    "timezone_aware": "a time zone is required (like 2026-01-01T20:00:00+07:00 or …Z)",
    "json_invalid": "not valid JSON",
}


def describe_error(exc: ValidationError) -> str:
    """One line naming every faulty field, for logs and dead-letter details:
    `created_at: a time zone is required (…) (got '2026-01-01T13:00:02'); id: missing`."""
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"])
        message = _FRIENDLIER.get(error["type"], error["msg"])
        if error["type"] == "json_invalid":
            message += f": {error.get('ctx', {}).get('error', error['msg'])}"
        elif error["type"] != "missing":
            got = repr(error["input"])
            message += f" (got {got[:60] + '…' if len(got) > 60 else got})"
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def draft_event_json(
    shop_id: str,
    livestream_id: str,
    draft: dict[str, Any],
    comment_ids: list[str],
    emitted_at: datetime,
    warnings: list[dict[str, Any]] | None = None,
) -> bytes:
    """A `DraftEvent` as bytes, built without validating the draft again: the store made it,
    and the agent emits one per changed draft per batch (tests check it reads back)."""
    return orjson.dumps(
        {
            "v": SCHEMA_VERSION,
            "shop_id": shop_id,
            "livestream_id": livestream_id,
            "seq": draft["seq"],
            "draft": draft,
            "comment_ids": comment_ids,
            "emitted_at": emitted_at,
            "warnings": warnings or [],
        }
    )
