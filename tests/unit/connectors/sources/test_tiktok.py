"""TikTok LIVE chat: betterproto JSON (new and legacy names) and raw protobuf."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from connectors.sources import ADAPTERS, SourceError
from connectors.sources.tiktok import parse, parse_protobuf, parse_protobuf_b64
from stream.messages import Comment

PAYLOADS = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "payloads"
JSON = PAYLOADS / "tiktoklive_WebcastChatMessage_CommentEvent.constructed.json"
PB64 = PAYLOADS / "tiktoklive_WebcastChatMessage.constructed.pb.b64"
IDS = {"shop_id": "shop-demo", "livestream_id": "live-demo"}


def tt(id: str, user_id: str | None, user_name: str, text: str, created_at: datetime) -> Comment:
    return Comment(
        id=id,
        platform="tiktok",
        shop_id="shop-demo",
        livestream_id="live-demo",
        user_id=user_id,
        user_name=user_name,
        text=text,
        created_at=created_at,
    )


EXPECTED = [
    tt(
        "7412345678901230000",
        "6912345678900000001",
        "Ngọc Anh 🌸",
        "chốt A12 size M 2 cái",
        datetime(2026, 1, 1, 13, 0, 2, tzinfo=UTC),
    ),
    tt(
        "7412345678901230001",
        "6912345678900000002",
        "Trần Văn B",
        "0912345678 A7",
        datetime(2026, 1, 1, 13, 0, 2, 700000, tzinfo=UTC),
    ),
    tt(
        "7412345678901230002",
        "6912345678900000003",
        "thu pham",
        "lay ma B3 mau do sl 2",
        datetime(2026, 1, 1, 13, 0, 3, 400000, tzinfo=UTC),
    ),
]


def events() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = orjson.loads(JSON.read_bytes())
    return loaded


def test_json_example() -> None:
    assert parse(JSON.read_bytes(), **IDS) == EXPECTED
    assert ADAPTERS["tiktok"](events(), **IDS) == EXPECTED


def test_one_event_on_its_own() -> None:
    assert parse(orjson.dumps(events()[1]), **IDS) == [EXPECTED[1]]


def test_legacy_and_snake_case_names() -> None:
    legacy = {
        "common": {"msg_id": 7412345678901230001, "create_time": 1767272402700},
        "user": {"user_id": "6912345678900000002", "nickname": "", "unique_id": "tranvanb99"},
        "comment": "0912345678 A7",
    }
    older = {
        "common": {"msgId": "7412345678901230001", "createTime": "1767272402700"},
        "user": {"userId": 6912345678900000002, "uniqueId": "tranvanb99"},
        "comment": "0912345678 A7",
    }
    expected = EXPECTED[1].model_copy(update={"user_name": "tranvanb99"})
    assert parse(legacy, **IDS) == [expected]
    assert parse(older, **IDS) == [expected]


def test_nickname_wins_over_handle_and_new_names_over_old() -> None:
    event = events()[0]
    event["user"]["uniqueId"] = "old.handle"
    event["comment"] = "old text"
    assert parse(event, **IDS) == [EXPECTED[0]]


def test_defaults_left_out_by_betterproto() -> None:
    event = {"common": {"msgId": "1", "createTime": "1767272402000"}}
    assert parse(event, **IDS) == [
        tt("1", None, "", "", datetime(2026, 1, 1, 13, 0, 2, tzinfo=UTC))
    ]
    event["user"] = {"id": "0", "nickname": "ẩn danh"}
    assert parse(event, **IDS)[0].user_id is None


def test_create_time_in_seconds_is_recognised() -> None:
    event = events()[0]
    event["common"]["createTime"] = "1767272402"
    assert parse(event, **IDS)[0].created_at == datetime(2026, 1, 1, 13, 0, 2, tzinfo=UTC)


def test_out_of_order_events_are_sorted_stably() -> None:
    shuffled = [events()[2], events()[0], events()[1]]
    assert parse(shuffled, **IDS) == EXPECTED


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"common": None}, "tiktok: [1].common: missing"),
        ({"common": {"createTime": "1"}}, "tiktok: [1].common.msgId: missing (nor msg_id)"),
        ({"common": {"msgId": "1"}}, "tiktok: [1].common.createTime: missing (nor create_time)"),
        ({"common": {"msgId": "1", "createTime": "0"}}, "tiktok: [1].common.createTime: no time"),
        (
            {"common": {"msgId": "1", "createTime": "soon"}},
            "tiktok: [1].common.createTime: expected a time since 1970, got text: 'soon'",
        ),
        (
            {"common": {"msgId": "1", "createTime": "9" * 30}},
            "tiktok: [1].common.createTime: time out of range",
        ),
        (
            {"common": {"msgId": ["1"], "createTime": "1"}},
            "tiktok: [1].common.msgId: expected an id (text or whole number), got a list: ['1']",
        ),
        ({"user": "tranvanb99"}, "tiktok: [1].user: expected an object, got text"),
        ({"content": {"text": "hi"}}, "tiktok: [1].content: expected text, got an object"),
    ],
)
def test_malformed_event(change: dict[str, object], message: str) -> None:
    document = events()
    document[1].update(change)
    document[1] = {key: value for key, value in document[1].items() if value is not None}
    with pytest.raises(SourceError) as caught:
        parse(document, **IDS)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not json", "tiktok: not JSON"),
        (b"42", "tiktok: expected an object, got a number: 42"),
        (b"[null]", "tiktok: [0]: expected an object, got null"),
    ],
)
def test_malformed_payload(payload: bytes, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse(payload, **IDS)
    assert str(caught.value).startswith(message)


# --- protobuf -----------------------------------------------------------------------------


def test_protobuf_example_reads_like_its_json() -> None:
    assert parse_protobuf_b64(PB64.read_text(), **IDS) == EXPECTED
    assert ADAPTERS["tiktok-protobuf"](PB64.read_bytes(), **IDS) == EXPECTED
    raw = [base64.b64decode(line) for line in PB64.read_text().split()]
    assert parse_protobuf(raw, **IDS) == EXPECTED


def test_protobuf_skips_unknown_fields_of_every_wire_type() -> None:
    first = base64.b64decode(PB64.read_text().split()[0])
    extra = (
        bytes([0x78, 0x96, 0x01])
        + bytes([0x81, 0x01])
        + b"\0" * 8
        + bytes([0x8D, 0x01])
        + b"\0" * 4
    )
    assert (
        parse_protobuf([first + extra], **IDS) == EXPECTED[:1]
    )  # fields 15 varint, 16 i64, 17 i32


NOT_CHAT = "tiktok protobuf: [0]: not a WebcastChatMessage:"


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda raw: raw[:-1], f"{NOT_CHAT} field 14 runs past"),
        (lambda raw: raw + b"\x80", f"{NOT_CHAT} truncated"),
        (lambda raw: raw + b"\x0b", f"{NOT_CHAT} unsupported wire type 3"),
        (lambda raw: raw + b"\x1a\x01\xff", f"{NOT_CHAT} 'utf-8' codec"),
        (lambda raw: raw + b"\x18\x05", f"{NOT_CHAT} field 3: expected text"),
        (lambda raw: raw + b"\x08\x05", f"{NOT_CHAT} expected an embedded"),
        (lambda raw: b"\x1a\x02hi", "tiktok protobuf: [0].common.msgId: missing"),
    ],
)
def test_protobuf_malformed(mangle: Any, message: str) -> None:
    first = base64.b64decode(PB64.read_text().split()[0])
    with pytest.raises(SourceError) as caught:
        parse_protobuf([mangle(first)], **IDS)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("Ci8K\nnot base64!\n", "tiktok protobuf: line 2: not base64"),
        (["Ci8K"], "tiktok protobuf: expected base64 lines, got list"),
    ],
)
def test_protobuf_b64_malformed(payload: object, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse_protobuf_b64(payload, **IDS)
    assert str(caught.value).startswith(message)
