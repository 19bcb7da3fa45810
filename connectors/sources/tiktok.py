"""TikTok LIVE chat comments (`WebcastChatMessage`, TikTokLive's `CommentEvent`).

TikTok has no public live-comment API; this follows the reverse-engineered schema of
TikTokLiveProto (used by TikTokLive 7): `common{msgId, createTime}`, `user{id, nickname,
displayId}`, `content`. `parse` reads it as JSON (betterproto `to_dict()`: camelCase, int64 as
strings), one event or a list of them, and also accepts the snake_case names and the legacy
names (`uniqueId`/`unique_id` for `displayId`, `comment` for `content`, `userId` for `id`).
betterproto leaves out fields holding their default value, so a missing text is "" and a
missing or zero user id means no known commenter (user_id None); a missing message id or
time is an error.

`createTime` is taken as milliseconds since 1970 (unverified upstream); a value below 10^11,
which as milliseconds would be before 1973, is taken as seconds instead.

`parse_protobuf` reads the raw protobuf messages with a minimal wire-format reader (no
protobuf dependency) that knows only the few field numbers used here.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors.sources._common import (
    EPOCH,
    At,
    JsonObject,
    SourceError,
    as_object,
    comment,
    epoch_time,
    identifier,
    in_time_order,
    load_json,
    member,
    required,
    text,
)
from stream.messages import Comment

PLATFORM = "tiktok"
_MILLISECONDS_FROM = EPOCH + timedelta(milliseconds=10**11)  # 1973-03-03: below, seconds


def _time(value: object, at: At) -> datetime:
    moment = epoch_time(value, at, per_second=1000, digits_ok=True)
    if moment <= EPOCH:  # betterproto drops a zero createTime: unset
        raise at.error(f"no time: {value!r}")
    if moment < _MILLISECONDS_FROM:
        return epoch_time(value, at, digits_ok=True)
    return moment


def _event(event: object, at: At, shop_id: str, livestream_id: str) -> Comment:
    obj = as_object(event, at)
    common, common_at = required(obj, at, "common")
    common_obj = as_object(common, common_at)
    user, user_at = member(obj, at, "user")
    user_id, nickname, handle = None, "", ""
    if user is not None:
        user_obj = as_object(user, user_at)
        user_id = identifier(*member(user_obj, user_at, "id", "userId", "user_id"), optional=True)
        nickname = text(*member(user_obj, user_at, "nickname"), optional=True)
        handle_names = ("displayId", "display_id", "uniqueId", "unique_id")
        handle = text(*member(user_obj, user_at, *handle_names), optional=True)
    return comment(
        at,
        id=identifier(*required(common_obj, common_at, "msgId", "msg_id")),
        platform=PLATFORM,
        shop_id=shop_id,
        livestream_id=livestream_id,
        user_id=None if user_id == "0" else user_id,
        user_name=nickname or handle,
        text=text(*member(obj, at, "content", "comment"), optional=True),
        created_at=_time(*required(common_obj, common_at, "createTime", "create_time")),
    )


def parse(payload: object, *, shop_id: str, livestream_id: str) -> list[Comment]:
    """One event (a JSON object) or a list of events -> comments, oldest first (stable)."""
    at = At("tiktok")
    document = load_json(payload, at)
    if isinstance(document, list):
        events = [
            _event(item, at / index, shop_id, livestream_id) for index, item in enumerate(document)
        ]
    else:
        events = [_event(document, at, shop_id, livestream_id)]
    return in_time_order(events)


# --- protobuf -----------------------------------------------------------------------------
# Field numbers (TikTokLiveProto 0.2.2): WebcastChatMessage common=1 user=2 content=3;
# Common msg_id=2 create_time=4; User id=1 nickname=3 display_id=38.


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        result |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if byte < 0x80:
            return result, pos
    raise ValueError("truncated or overlong varint")


def _fields(data: object) -> dict[int, int | bytes]:
    """The fields of one message, number -> last value (varints as int, length-delimited fields
    as bytes); fixed-width fields are skipped. Absent (None) reads as an empty message."""
    if data is None:
        return {}
    if not isinstance(data, bytes):
        raise ValueError(f"expected an embedded message, got {data!r}")
    fields: dict[int, int | bytes] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            fields[number], pos = _varint(data, pos)
        elif wire_type == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise ValueError(f"field {number} runs past the end of the message")
            fields[number], pos = data[pos : pos + size], pos + size
        elif wire_type in (1, 5):
            pos += 8 if wire_type == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire_type} (field {number})")
    if pos != len(data):
        raise ValueError("truncated fixed-width field")
    return fields


def _text(fields: dict[int, int | bytes], number: int) -> str | None:
    value = fields.get(number)
    if isinstance(value, int):
        raise ValueError(f"field {number}: expected text, got the number {value}")
    return None if value is None else value.decode("utf-8")


def _as_json(message: bytes) -> JsonObject:
    top = _fields(message)
    common, user = _fields(top.get(1)), _fields(top.get(2))
    return {
        "common": {"msgId": common.get(2), "createTime": common.get(4)},
        "user": {"id": user.get(1), "nickname": _text(user, 3), "displayId": _text(user, 38)},
        "content": _text(top, 3),
    }


def parse_protobuf(messages: Iterable[bytes], *, shop_id: str, livestream_id: str) -> list[Comment]:
    """Serialized `WebcastChatMessage`s -> comments, oldest first (stable)."""
    at = At("tiktok protobuf")
    events = []
    for index, message in enumerate(messages):
        try:
            event = _as_json(message)
        except ValueError as exc:  # UnicodeDecodeError too
            raise (at / index).error(f"not a WebcastChatMessage: {exc}") from None
        events.append(_event(event, at / index, shop_id, livestream_id))
    return in_time_order(events)


def parse_protobuf_b64(payload: object, *, shop_id: str, livestream_id: str) -> list[Comment]:
    """Text with one base64 `WebcastChatMessage` per line (blank lines skipped) -> comments."""
    if isinstance(payload, bytes | bytearray):
        payload = bytes(payload).decode("ascii", errors="replace")
    if not isinstance(payload, str):
        raise SourceError(
            "tiktok protobuf", "", f"expected base64 lines, got {type(payload).__name__}"
        )
    messages = []
    for number, line in enumerate(payload.splitlines(), start=1):
        if line.strip():
            try:
                messages.append(base64.b64decode(line.strip(), validate=True))
            except ValueError as exc:  # binascii.Error, or not ASCII
                raise SourceError(
                    "tiktok protobuf", f"line {number}", f"not base64: {exc}"
                ) from None
    return parse_protobuf(messages, shop_id=shop_id, livestream_id=livestream_id)


# --- the live-room feed: webcast `im/fetch` ------------------------------------------------
# ProtoMessageFetchResult (TikTokLiveProto; `WebcastResponse` in older clients): messages=1
# (repeated BaseProtoMessage: method=1, payload=2, msg_id=3), cursor=2, fetch_interval=3 (ms),
# now=4 (ms), internal_ext=5. A `WebcastControlMessage` (action=2) with action 3 ends the live.

STREAM_ENDED_ACTION = 3


def _each_field(data: bytes) -> list[tuple[int, int | bytes]]:
    """Every field of one message in order, repeated fields included."""
    found: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = _varint(data, pos)
            found.append((number, value))
        elif wire_type == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise ValueError(f"field {number} runs past the end of the message")
            found.append((number, data[pos : pos + size]))
            pos += size
        elif wire_type in (1, 5):
            pos += 8 if wire_type == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire_type} (field {number})")
    if pos != len(data):
        raise ValueError("truncated fixed-width field")
    return found


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One answer of the live-room feed: its chat comments and where to go on from."""

    comments: list[Comment]
    cursor: str
    internal_ext: str
    fetch_interval_ms: int
    now_ms: int
    ended: bool  # a WebcastControlMessage said the live ended


def parse_fetch_result(data: bytes, *, shop_id: str, livestream_id: str) -> FetchResult:
    """A serialized ProtoMessageFetchResult -> its WebcastChatMessage comments (oldest first),
    cursor, internal_ext and fetch interval. Other message types are skipped."""
    at = At("tiktok feed")
    try:
        fields = _each_field(bytes(data))
        chats: list[bytes] = []
        ended = False
        scalars: dict[int, int | bytes] = {}
        for number, value in fields:
            if number != 1:
                scalars[number] = value
                continue
            if not isinstance(value, bytes):
                raise ValueError("messages: expected an embedded message")
            message = _fields(value)
            method = _text(message, 1) or ""
            payload = message.get(2)
            if method == "WebcastChatMessage" and isinstance(payload, bytes):
                chats.append(payload)
            elif method == "WebcastControlMessage" and isinstance(payload, bytes):
                ended = ended or _fields(payload).get(2) == STREAM_ENDED_ACTION
        cursor = _text(scalars, 2) or ""
        internal_ext = _text(scalars, 5) or ""
        interval, now = scalars.get(3, 0), scalars.get(4, 0)
        if not isinstance(interval, int) or not isinstance(now, int):
            raise ValueError("fetch_interval and now are numbers")
    except ValueError as exc:
        raise at.error(f"not a ProtoMessageFetchResult: {exc}") from None
    comments = parse_protobuf(chats, shop_id=shop_id, livestream_id=livestream_id)
    return FetchResult(comments, cursor, internal_ext, interval, now, ended)
