"""Facebook: Graph polling, the SSE stream and Page webhooks, from the documented examples."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from connectors.sources import ADAPTERS, SourceError
from connectors.sources.facebook import (
    LiveVideoChange,
    iter_sse,
    live_video_changes,
    parse_graph,
    parse_sse,
    parse_webhook,
)
from stream.messages import Comment

PAYLOADS = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "payloads"
GRAPH = PAYLOADS / "facebook_graph_live-video_comments_GET.constructed.json"
SSE = PAYLOADS / "facebook_streaming-graph_live_comments_SSE.constructed.txt"
WEBHOOK = PAYLOADS / "facebook_page_webhook_feed_comment.constructed.json"
LIVE_VIDEOS = PAYLOADS / "facebook_page_webhook_live_videos.constructed.json"
SHOP, LIVE = "shop-demo", "live-demo"
IDS = {"shop_id": SHOP, "livestream_id": LIVE}


def at(second: int) -> datetime:
    return datetime(2026, 1, 1, 13, 0, second, tzinfo=UTC)


def fb(
    id: str,
    user_id: str | None,
    user_name: str,
    text: str,
    created_at: datetime,
    reply_to: str | None = None,
) -> Comment:
    return Comment(
        id=id,
        platform="facebook",
        shop_id="shop-demo",
        livestream_id="live-demo",
        user_id=user_id,
        user_name=user_name,
        text=text,
        created_at=created_at,
        reply_to=reply_to,
    )


GRAPH_COMMENTS = [
    fb(
        "100000000000900_100000000000901",
        "100000000000001",
        "Nguyễn Thị Hoa",
        "chốt A12 size M 2 cái",
        at(2),
    ),
    fb(
        "100000000000900_100000000000902",
        "100000000000002",
        "Tran Van B",
        "chot a5 0912345678",
        at(3),
    ),
    fb("100000000000900_100000000000903", None, "", "lấy mã B3 màu đỏ sl 2 😍", at(5)),
]
SSE_COMMENTS = [
    fb("100000000000900_100000000000904", "100000000000003", "Lê Minh", "A7 sz L", at(6)),
    fb(
        "100000000000900_100000000000905",
        "100000000000004",
        "Phạm Thu",
        "0987654321 chốt B3 đen",
        at(6),
    ),
    fb("100000000000900_100000000000906", None, "", "giá bn shop ơi", at(7)),
]


def graph() -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(GRAPH.read_bytes())
    return document


def webhook() -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(WEBHOOK.read_bytes())
    return document


# --- Graph polling ------------------------------------------------------------------------


def test_graph_example() -> None:
    assert parse_graph(GRAPH.read_bytes(), **IDS) == GRAPH_COMMENTS
    assert ADAPTERS["facebook-graph"](GRAPH.read_text(), **IDS) == GRAPH_COMMENTS
    assert parse_graph(graph(), **IDS) == GRAPH_COMMENTS


def test_graph_reverse_chronological_is_put_oldest_first_stably() -> None:
    document = graph()
    document["data"].reverse()
    document["data"].append({**document["data"][0], "id": "100000000000900_100000000000999"})
    got = parse_graph(document, **IDS)
    assert [c.id[-3:] for c in got] == ["901", "902", "903", "999"]  # 903 and 999 tie: kept


def test_graph_reply_and_epoch_time() -> None:
    document = {
        "data": [
            {
                "id": "9_2",
                "created_time": 1767272405,
                "message": "dạ còn ạ",
                "from": {"id": "777", "name": "Shop"},
                "parent": {"id": "9_1"},
            }
        ]
    }
    assert parse_graph(document, **IDS) == [fb("9_2", "777", "Shop", "dạ còn ạ", at(5), "9_1")]


def test_graph_sticker_only_comment_has_empty_text() -> None:
    document = {"data": [{"id": "9_3", "created_time": "2026-01-01T13:00:05+0000"}]}
    assert parse_graph(document, **IDS)[0].text == ""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"created_time": "yesterday"},
            "facebook graph: data[2].created_time: not an ISO 8601 time: 'yesterday'",
        ),
        (
            {"created_time": "2026-01-01T13:00:05"},
            "facebook graph: data[2].created_time: time without a time zone: '2026-01-01T13:00:05'",
        ),
        ({"created_time": None}, "facebook graph: data[2].created_time: missing"),
        (
            {"created_time": True},
            "facebook graph: data[2].created_time: expected a time since 1970, got true/false",
        ),
        ({"id": None}, "facebook graph: data[2].id: missing"),
        ({"id": ""}, "facebook graph: data[2].id: expected an id (text or whole number), got text"),
        ({"message": 5}, "facebook graph: data[2].message: expected text, got a number: 5"),
        (
            {"from": "someone"},
            "facebook graph: data[2].from: expected an object, got text: 'someone'",
        ),
        (
            {"from": {"id": 5.5}},
            "facebook graph: data[2].from.id: expected an id (text or whole number), got a number",
        ),
    ],
)
def test_graph_malformed_comment(change: dict[str, object], message: str) -> None:
    document = graph()
    document["data"][2].update(change)
    document["data"][2] = {
        key: value for key, value in document["data"][2].items() if value is not None
    }
    with pytest.raises(SourceError) as caught:
        parse_graph(document, **IDS)
    assert str(caught.value) == message or str(caught.value).startswith(f"{message}: ")
    assert caught.value.where.startswith("data[2]")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"<html>502 Bad Gateway</html>", "facebook graph: not JSON: unexpected character"),
        (b"", "facebook graph: not JSON: "),
        (b"[]", "facebook graph: expected an object, got a list: []"),
        (b"{}", "facebook graph: data: missing"),
        (b'{"data": {}}', "facebook graph: data: expected a list, got an object: {}"),
        (b'{"data": [7]}', "facebook graph: data[0]: expected an object, got a number: 7"),
        (
            b'{"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", '
            b'"code": 190}}',
            "facebook graph: error: Facebook refused the request: Invalid OAuth",
        ),
    ],
)
def test_graph_malformed_payload(payload: bytes, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse_graph(payload, **IDS)
    assert str(caught.value).startswith(message)


# --- SSE ----------------------------------------------------------------------------------


def test_sse_example() -> None:
    assert parse_sse(SSE.read_bytes(), **IDS) == SSE_COMMENTS
    assert ADAPTERS["facebook-sse"](SSE.read_text(), **IDS) == SSE_COMMENTS
    with SSE.open(encoding="utf-8") as lines:
        assert list(iter_sse(lines, shop_id=SHOP, livestream_id=LIVE)) == SSE_COMMENTS
    with SSE.open("rb") as raw_lines:
        assert list(iter_sse(raw_lines, shop_id=SHOP, livestream_id=LIVE)) == SSE_COMMENTS


def test_sse_yields_each_comment_as_its_event_completes() -> None:
    read: list[str] = []

    def live() -> Iterator[str]:
        for line in SSE.read_text().splitlines():
            read.append(line)
            yield line
        raise AssertionError("the stream never ends")  # pragma: no cover

    stream = iter_sse(live(), shop_id=SHOP, livestream_id=LIVE)
    assert next(stream) == SSE_COMMENTS[0]
    assert read[-1] == ""  # stopped at the blank line ending the first event
    assert next(stream) == SSE_COMMENTS[1]
    assert not any("000000000906" in line for line in read)


def test_sse_crlf_keepalives_multiline_data_and_other_events() -> None:
    text = (
        "\ufeff: keep-alive\r\n"
        "retry: 3000\r\n"
        'data: {"id": "9_1", "created_time": "2026-01-01T13:00:06+0000",\r\n'
        'data:"message": "chốt K2\u2028x2"}\r\n'
        "\r\n"
        ": ping\r\n"
        "\r\n"
        "event: notice\r\n"
        'data: {"id": "9_2"}\r\n'
        "\r\n"
    )
    assert parse_sse(text, **IDS) == [fb("9_1", None, "", "chốt K2\u2028x2", at(6))]
    assert parse_sse(text.encode().split(b"\r\n"), **IDS) == parse_sse(text, **IDS)


def test_sse_event_cut_short_at_the_end_is_dropped() -> None:
    text = SSE.read_text().rstrip("\n")  # the last event lacks its blank line
    assert parse_sse(text, **IDS) == SSE_COMMENTS[:2]


def test_sse_bad_event_names_its_line() -> None:
    text = 'data: {"id": "9_1", "created_time": "yesterday"}\n\ndata: {oops\n\n'
    with pytest.raises(SourceError) as caught:
        parse_sse(text, **IDS)
    assert str(caught.value) == (
        "facebook sse line 1: created_time: not an ISO 8601 time: 'yesterday'"
    )


def test_sse_on_error_reports_and_carries_on() -> None:
    lines = [
        "data: {oops",
        "",
        *SSE.read_text().splitlines(),
        'data: {"error": {"message": "x"}}',
        "",
    ]
    errors: list[SourceError] = []
    assert (
        list(iter_sse(lines, shop_id=SHOP, livestream_id=LIVE, on_error=errors.append))
        == SSE_COMMENTS
    )
    assert [str(error).split(":")[0] for error in errors] == [
        "facebook sse line 1",
        f"facebook sse line {len(lines) - 1}",
    ]
    assert "not JSON" in str(errors[0])
    assert "Facebook refused the request: x" in str(errors[1])


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"data: \xff\n\n", "facebook sse: not UTF-8"),
        ({"data": []}, "facebook sse: expected SSE text, got dict"),
        (["data: {}", 5], "facebook sse: line 2: expected a line of text, got 5"),
        ("data: []\n\n", "facebook sse line 1: expected an object, got a list"),
    ],
)
def test_sse_malformed(payload: object, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse_sse(payload, **IDS)
    assert str(caught.value).startswith(message)


# --- webhooks -----------------------------------------------------------------------------


WEBHOOK_COMMENT = fb(
    "100000000000900_100000000000907",
    "100000000000005",
    "Đỗ Thanh Mai",
    "chốt A12 size M 2 cái, ship về 12 Nguyễn Trãi P. Bến Thành HCM",
    at(5),
)


def test_webhook_example() -> None:
    assert parse_webhook(WEBHOOK.read_bytes(), **IDS) == [WEBHOOK_COMMENT]
    assert ADAPTERS["facebook-webhook"](webhook(), **IDS) == [WEBHOOK_COMMENT]


def _add_change(document: dict[str, Any], **value: object) -> None:
    change = copy.deepcopy(document["entry"][0]["changes"][0])
    change["value"].update(value)
    change["value"] = {key: item for key, item in change["value"].items() if item is not None}
    document["entry"][0]["changes"].append(change)


def test_webhook_reply_anonymous_and_skipped_changes() -> None:
    document = webhook()
    _add_change(
        document,
        comment_id="100000000000900_100000000000908",
        created_time=1767272404,
        parent_id="100000000000900_100000000000907",
        **{"from": None},
        message="dạ có ạ",
    )
    _add_change(document, item="reaction", verb="add", reaction_type="like")
    _add_change(document, verb="edited", comment_id="100000000000900_100000000000907")
    _add_change(document, verb="remove")
    document["entry"][0]["changes"].append(
        {"field": "live_videos", "value": {"id": "9", "status": "live"}}
    )
    document["entry"].append({"id": "100000000000777", "time": 1767272407, "messaging": []})
    reply = fb(
        "100000000000900_100000000000908",
        None,
        "",
        "dạ có ạ",
        at(4),
        reply_to="100000000000900_100000000000907",
    )
    assert parse_webhook(document, **IDS) == [reply, WEBHOOK_COMMENT]  # oldest first


def test_webhook_parent_without_post_id_uses_post_object() -> None:
    document = webhook()
    del document["entry"][0]["changes"][0]["value"]["post_id"]
    assert parse_webhook(document, **IDS)[0].reply_to is None
    del document["entry"][0]["changes"][0]["value"]["post"]
    assert parse_webhook(document, **IDS)[0].reply_to is None  # unknown post: top-level


def test_webhook_keeps_one_live_video() -> None:
    document = webhook()
    _add_change(document, post_id="100000000000777_555", comment_id="555_1", post=None)
    assert [c.id for c in parse_webhook(document, **IDS)] == [WEBHOOK_COMMENT.id, "555_1"]
    for video in ("100000000000900", "100000000000777_100000000000900"):
        assert parse_webhook(document, **IDS, video_id=video) == [WEBHOOK_COMMENT]
    assert parse_webhook(document, **IDS, video_id="900") == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"created_time": "soon"},
            "facebook webhook: entry[0].changes[0].value.created_time: not an ISO 8601 time",
        ),
        (
            {"created_time": 10**20},
            "facebook webhook: entry[0].changes[0].value.created_time: time out of range",
        ),
        ({"comment_id": None}, "facebook webhook: entry[0].changes[0].value.comment_id: missing"),
        ({"from": []}, "facebook webhook: entry[0].changes[0].value.from: expected an object"),
    ],
)
def test_webhook_malformed_comment(change: dict[str, object], message: str) -> None:
    document = webhook()
    value = document["entry"][0]["changes"][0]["value"]
    value.update(change)
    document["entry"][0]["changes"][0]["value"] = {k: v for k, v in value.items() if v is not None}
    with pytest.raises(SourceError) as caught:
        parse_webhook(document, **IDS)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {"object": "instagram", "entry": []},
            "facebook webhook: object: not a Page webhook: object is 'instagram'",
        ),
        ({"object": "page"}, "facebook webhook: entry: missing"),
        (
            {"entry": [{"changes": {}}]},
            "facebook webhook: entry[0].changes: expected a list, got an object",
        ),
        (
            {"entry": [{"changes": [{"field": "feed"}]}]},
            "facebook webhook: entry[0].changes[0].value: missing",
        ),
    ],
)
def test_webhook_malformed_payload(payload: object, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse_webhook(payload, **IDS)
    assert str(caught.value).startswith(message)


def test_live_video_changes() -> None:
    changes = live_video_changes(LIVE_VIDEOS.read_bytes())
    assert changes == [
        LiveVideoChange(
            video_id="100000000000900",
            status="live",
            page_id="100000000000777",
            time=datetime(2026, 1, 1, 13, 0, 0, tzinfo=UTC),
        )
    ]
    assert changes[0].is_live
    assert live_video_changes(WEBHOOK.read_bytes()) == []  # feed changes are not live_videos
    assert parse_webhook(LIVE_VIDEOS.read_bytes(), **IDS) == []
    stopped = {
        "entry": [
            {"changes": [{"field": "live_videos", "value": {"id": 9, "status": "live_stopped"}}]}
        ]
    }
    assert live_video_changes(stopped) == [LiveVideoChange("9", "live_stopped", None, None)]
    assert not live_video_changes(stopped)[0].is_live
    with pytest.raises(SourceError, match=r"entry\[0\]\.changes\[0\]\.value\.status: missing"):
        live_video_changes(
            {"entry": [{"changes": [{"field": "live_videos", "value": {"id": "9"}}]}]}
        )
