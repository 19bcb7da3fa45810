"""Shopee Live: get_latest_comment_list responses and error envelopes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from connectors.sources import ADAPTERS, SourceError
from connectors.sources.shopee import parse
from stream.messages import Comment

PAYLOADS = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "payloads"
LIST = PAYLOADS / "shopee_v2_livestream_get_latest_comment_list.constructed.json"
IDS = {"shop_id": "shop-demo", "livestream_id": "live-demo"}


def sp(id: str, user_id: str | None, user_name: str, text: str, second: int) -> Comment:
    return Comment(
        id=id,
        platform="shopee",
        shop_id="shop-demo",
        livestream_id="live-demo",
        user_id=user_id,
        user_name=user_name,
        text=text,
        created_at=datetime(2026, 1, 1, 13, 0, second, tzinfo=UTC),
    )


EXPECTED = [
    sp("900000000001", "800000001", "hoa.nguyen93", "chốt A12 size M 2 cái", 2),
    sp("900000000002", "800000002", "tranvanb_shop", "chot a5", 3),
    sp("900000000003", "800000003", "thu.pham", "B3 đỏ sl2 nha shop", 5),
]


def response() -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(LIST.read_bytes())
    return document


def test_example_timestamps_are_seconds() -> None:
    assert parse(LIST.read_bytes(), **IDS) == EXPECTED
    assert ADAPTERS["shopee"](response(), **IDS) == EXPECTED
    assert int(EXPECTED[0].created_at.timestamp()) == 1767272402


def test_ids_as_text_and_missing_user() -> None:
    document = response()
    item = document["response"]["list"][0]
    item.update(comment_id="900000000001", user_id="800000001", timestamp="1767272402")
    del document["response"]["list"][1]["username"]
    document["response"]["list"][2]["user_id"] = 0
    got = parse(document, **IDS)
    assert got[0] == EXPECTED[0]
    assert got[1].user_name == ""
    assert got[2].user_id is None


def test_sorted_oldest_first_stably() -> None:
    document = response()
    items = document["response"]["list"]
    items.reverse()
    items.append({**items[0], "comment_id": 900000000004})  # same time as 900000000003
    assert [c.id for c in parse(document, **IDS)] == [
        "900000000001",
        "900000000002",
        "900000000003",
        "900000000004",
    ]


def test_empty_list() -> None:
    document = response()
    document["response"]["list"] = []
    assert parse(document, **IDS) == []


def test_error_envelope_is_refused_with_shopees_message() -> None:
    envelope = {
        "request_id": "e3e3e7f3e3e3e7f3",
        "error": "error_auth",
        "message": "Invalid access_token.",
        "response": None,
    }
    with pytest.raises(SourceError) as caught:
        parse(envelope, **IDS)
    assert str(caught.value) == (
        "shopee: error: Shopee refused the request: error_auth: Invalid access_token."
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"timestamp": "hôm qua"},
            "shopee: response.list[1].timestamp: expected a time since 1970, got text: 'hôm qua'",
        ),
        ({"timestamp": None}, "shopee: response.list[1].timestamp: missing"),
        ({"timestamp": 1.5e300}, "shopee: response.list[1].timestamp: time out of range"),
        ({"comment_id": None}, "shopee: response.list[1].comment_id: missing"),
        (
            {"comment_id": True},
            "shopee: response.list[1].comment_id: expected an id (text or whole number), got true",
        ),
        ({"content": None}, "shopee: response.list[1].content: missing"),
        ({"content": 12}, "shopee: response.list[1].content: expected text, got a number: 12"),
        ({"user_id": {"id": 1}}, "shopee: response.list[1].user_id: expected an id"),
    ],
)
def test_malformed_comment(change: dict[str, object], message: str) -> None:
    document = response()
    item = document["response"]["list"][1]
    item.update(change)
    document["response"]["list"][1] = {
        key: value for key, value in item.items() if value is not None
    }
    with pytest.raises(SourceError) as caught:
        parse(document, **IDS)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"upstream timeout", "shopee: not JSON"),
        (b'{"error": "", "message": ""}', "shopee: response: missing"),
        (b'{"error": "", "response": {"next_offset": 0}}', "shopee: response.list: missing"),
        (b'{"response": {"list": "none"}}', "shopee: response.list: expected a list, got text"),
    ],
)
def test_malformed_payload(payload: bytes, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse(payload, **IDS)
    assert str(caught.value).startswith(message)
