"""YouTube live chat: text messages and Super Chats become comments, other events are skipped."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from connectors.sources import ADAPTERS, SourceError
from connectors.sources.youtube import parse
from stream.messages import Comment

PAYLOADS = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "payloads"
LIST = PAYLOADS / "youtube_liveChatMessages_list.constructed.json"
IDS = {"shop_id": "shop-demo", "livestream_id": "live-demo"}


def yt(id: str, user_id: str | None, user_name: str, text: str, created_at: datetime) -> Comment:
    return Comment(
        id=id,
        platform="youtube",
        shop_id="shop-demo",
        livestream_id="live-demo",
        user_id=user_id,
        user_name=user_name,
        text=text,
        created_at=created_at,
    )


TEXT_MESSAGE = yt(
    "LCC.constructed-message-id-0001",
    "UCconstructedAuthor0000001",
    "Hoa Nguyễn",
    "chốt A12 size M 2 cái",
    datetime(2026, 1, 1, 13, 0, 2, 123456, tzinfo=UTC),
)
SUPER_CHAT = yt(
    "LCC.constructed-message-id-0002",
    "UCconstructedAuthor0000002",
    "Minh",
    "lấy B3 màu đỏ sl 2",
    datetime(2026, 1, 1, 13, 0, 4, tzinfo=UTC),
)


def response() -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(LIST.read_bytes())
    return document


def test_example() -> None:
    assert parse(LIST.read_bytes(), **IDS) == [TEXT_MESSAGE, SUPER_CHAT]
    assert ADAPTERS["youtube"](response(), **IDS) == [TEXT_MESSAGE, SUPER_CHAT]


@pytest.mark.parametrize("comment", [None, ""])
def test_super_chat_without_a_comment_has_empty_text(comment: str | None) -> None:
    document = response()
    details = document["items"][1]["snippet"]["superChatDetails"]
    if comment is None:
        del details["userComment"]
    else:
        details["userComment"] = comment
    assert parse(document, **IDS)[1] == SUPER_CHAT.model_copy(update={"text": ""})


def test_other_event_types_are_skipped() -> None:
    document = response()
    skipped: list[tuple[str, dict[str, object]]] = [
        ("memberMilestoneChatEvent", {"memberMilestoneChatDetails": {"memberMonth": 3}}),
        ("messageDeletedEvent", {"messageDeletedDetails": {"deletedMessageId": "LCC.x"}}),
        ("newSponsorEvent", {}),
        ("superStickerEvent", {"superStickerDetails": {"amountMicros": "1"}}),
        ("tombstone", {}),
    ]
    for kind, details in skipped:
        item = copy.deepcopy(document["items"][0])
        item["id"] = f"LCC.{kind}"
        item["snippet"] = {"type": kind, "publishedAt": "2026-01-01T13:00:03+00:00", **details}
        document["items"].insert(1, item)
    assert parse(document, **IDS) == [TEXT_MESSAGE, SUPER_CHAT]


def test_author_falls_back_to_the_snippet_and_text_to_display_message() -> None:
    document = response()
    item = document["items"][0]
    del item["authorDetails"]
    del item["snippet"]["textMessageDetails"]
    assert parse(document, **IDS)[0] == TEXT_MESSAGE.model_copy(update={"user_name": ""})
    del item["snippet"]["authorChannelId"]
    assert parse(document, **IDS)[0].user_id is None


def test_sorted_oldest_first() -> None:
    document = response()
    document["items"].reverse()
    assert parse(document, **IDS) == [TEXT_MESSAGE, SUPER_CHAT]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("snippet", "publishedAt"), None, "youtube: items[0].snippet.publishedAt: missing"),
        (
            ("snippet", "publishedAt"),
            "13:00 hôm nay",
            "youtube: items[0].snippet.publishedAt: not an ISO 8601 time: '13:00 hôm nay'",
        ),
        (
            ("snippet", "publishedAt"),
            1767272402,
            "youtube: items[0].snippet.publishedAt: expected an ISO 8601 time, got a number",
        ),
        (("snippet", "type"), None, "youtube: items[0].snippet.type: missing"),
        (("snippet",), None, "youtube: items[0].snippet: missing"),
        (("id",), None, "youtube: items[0].id: missing"),
        (
            ("snippet", "textMessageDetails"),
            [],
            "youtube: items[0].snippet.textMessageDetails: expected an object, got a list",
        ),
        (
            ("snippet", "textMessageDetails", "messageText"),
            None,
            "youtube: items[0].snippet.textMessageDetails.messageText: missing",
        ),
        (
            ("authorDetails", "displayName"),
            7,
            "youtube: items[0].authorDetails.displayName: expected text, got a number",
        ),
    ],
)
def test_malformed_item(path: tuple[str, ...], value: object, message: str) -> None:
    document = response()
    parent = document["items"][0]
    for key in path[:-1]:
        parent = parent[key]
    if value is None:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    with pytest.raises(SourceError) as caught:
        parse(document, **IDS)
    assert str(caught.value).startswith(message)


def test_super_chat_without_details_is_malformed() -> None:
    document = response()
    del document["items"][1]["snippet"]["superChatDetails"]
    missing = r"^youtube: items\[1\]\.snippet\.superChatDetails: missing$"
    with pytest.raises(SourceError, match=missing):
        parse(document, **IDS)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{", "youtube: not JSON"),
        (b'{"kind": "youtube#liveChatMessageListResponse"}', "youtube: items: missing"),
        (
            b'{"error": {"code": 403, "message": "The live chat is no longer live."}}',
            "youtube: error: YouTube refused the request: The live chat is no longer live.",
        ),
    ],
)
def test_malformed_payload(payload: bytes, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse(payload, **IDS)
    assert str(caught.value).startswith(message)
