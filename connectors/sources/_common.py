"""What every platform adapter shares: the one error type, and careful readers of JSON values
that say where a payload is wrong (`facebook graph: data[2].created_time: …`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol, overload

import orjson
from pydantic import ValidationError

from stream.messages import Comment, describe_error


class SourceError(ValueError):
    """A platform payload an adapter cannot read. `source` names the adapter ("facebook graph"),
    `where` the place in the payload ("data[2].created_time", or "" for the whole payload) and
    `reason` what is wrong with it."""

    def __init__(self, source: str, where: str, reason: str) -> None:
        self.source = source
        self.where = where
        self.reason = reason
        super().__init__(f"{source}: {where}: {reason}" if where else f"{source}: {reason}")


class Adapter(Protocol):
    """The shape of every entry of `ADAPTERS`: a raw payload (bytes or text as read from a file
    or a response body, or the already-decoded JSON value) -> comments in the platform's time
    order. Raises SourceError, and nothing else, for a payload it cannot read."""

    def __call__(self, payload: object, *, shop_id: str, livestream_id: str) -> list[Comment]: ...


JsonObject = dict[str, object]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class At:
    """A place in a payload: `At("tiktok") / 0 / "common"` is `tiktok: [0].common`."""

    source: str
    path: str = ""

    def __truediv__(self, part: str | int) -> At:
        if isinstance(part, int):
            return At(self.source, f"{self.path}[{part}]")
        return At(self.source, f"{self.path}.{part}" if self.path else part)

    def error(self, reason: str) -> SourceError:
        return SourceError(self.source, self.path, reason)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "text" if isinstance(value, str) else type(value).__name__


def load_json(payload: object, at: At) -> object:
    """Decode bytes or text as JSON; any other value is taken as already decoded."""
    if isinstance(payload, bytes | bytearray | memoryview | str):
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise at.error(f"not JSON: {exc}") from None
    return payload


def as_object(value: object, at: At) -> JsonObject:
    if not isinstance(value, dict):
        raise at.error(f"expected an object, got {_kind(value)}: {_shown(value)}")
    return value


def as_list(value: object, at: At) -> list[object]:
    if not isinstance(value, list):
        raise at.error(f"expected a list, got {_kind(value)}: {_shown(value)}")
    return value


def member(obj: JsonObject, at: At, *names: str) -> tuple[object, At]:
    """The first of `names` present in `obj` (for old and new spellings of one field) and where
    it is; (None, place of the first name) when none is."""
    for name in names:
        if name in obj:
            return obj[name], at / name
    return None, at / names[0]


def required(obj: JsonObject, at: At, *names: str) -> tuple[object, At]:
    value, place = member(obj, at, *names)
    if value is None:
        also = f" (nor {', '.join(names[1:])})" if len(names) > 1 else ""
        raise place.error(f"missing{also}")
    return value, place


def text(value: object, at: At, *, optional: bool = False) -> str:
    """A JSON string; with optional=True a missing value (null) is ""."""
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise at.error(f"expected text, got {_kind(value)}: {_shown(value)}")
    return value


@overload
def identifier(value: object, at: At, *, optional: Literal[False] = False) -> str: ...
@overload
def identifier(value: object, at: At, *, optional: Literal[True]) -> str | None: ...
def identifier(value: object, at: At, *, optional: bool = False) -> str | None:
    """A platform id: JSON text or a whole number (ids are int64 on several platforms), as text.
    Empty text counts as missing; with optional=True missing gives None."""
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**64:
        return str(value)
    if isinstance(value, str) and value:
        return value
    if optional and (value is None or value == ""):
        return None
    raise at.error(f"expected an id (text or whole number), got {_kind(value)}: {_shown(value)}")


def iso_time(value: object, at: At) -> datetime:
    """An ISO 8601 time with a zone (`2026-01-01T13:00:02+0000`, `…+00:00`, `…Z`), in UTC."""
    if not isinstance(value, str):
        raise at.error(f"expected an ISO 8601 time, got {_kind(value)}: {_shown(value)}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise at.error(f"not an ISO 8601 time: {_shown(value)}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise at.error(f"time without a time zone: {_shown(value)}")
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise at.error(f"time out of range: {_shown(value)}") from None


def epoch_time(value: object, at: At, *, per_second: int = 1, digits_ok: bool = False) -> datetime:
    """A time as a count of 1/per_second seconds since 1970 (per_second=1000: milliseconds);
    with digits_ok=True also as a string of digits (int64 in JSON made from protobuf)."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    is_digits = digits_ok and isinstance(value, str) and value.isascii() and value.isdigit()
    if not (is_number or is_digits):
        raise at.error(f"expected a time since 1970, got {_kind(value)}: {_shown(value)}")
    try:
        if isinstance(value, float):
            return EPOCH + timedelta(seconds=value / per_second)
        count = value if isinstance(value, int) else int(str(value))  # or a string of digits
        return EPOCH + timedelta(microseconds=count * (1_000_000 // per_second))
    except (OverflowError, ValueError):  # nan, inf, beyond year 9999, too many digits
        raise at.error(f"time out of range: {_shown(value)}") from None


def comment(at: At, **fields: object) -> Comment:
    """Build a Comment; a value the model refuses (an empty id, say) is a SourceError too."""
    try:
        return Comment.model_validate(fields)
    except ValidationError as exc:
        raise at.error(f"not a valid comment: {describe_error(exc)}") from None


def in_time_order(comments: Iterable[Comment]) -> list[Comment]:
    """Oldest first; comments with the same time keep their order in the payload (stable)."""
    return sorted(comments, key=_created_at)


def _created_at(item: Comment) -> datetime:
    return item.created_at
