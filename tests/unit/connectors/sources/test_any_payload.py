"""Property: whatever is thrown at an adapter, it returns Comments or raises SourceError."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.sources import ADAPTERS, SourceError
from stream.messages import Comment

PAYLOADS = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "payloads"
EXAMPLES = {
    "facebook-graph": "facebook_graph_live-video_comments_GET.constructed.json",
    "facebook-sse": "facebook_streaming-graph_live_comments_SSE.constructed.txt",
    "facebook-webhook": "facebook_page_webhook_feed_comment.constructed.json",
    "tiktok": "tiktoklive_WebcastChatMessage_CommentEvent.constructed.json",
    "tiktok-protobuf": "tiktoklive_WebcastChatMessage.constructed.pb.b64",
    "youtube": "youtube_liveChatMessages_list.constructed.json",
    "shopee": "shopee_v2_livestream_get_latest_comment_list.constructed.json",
}
IDS = {"shop_id": "shop-demo", "livestream_id": "live-demo"}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)  # what JSON (orjson) carries
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["2026-01-01T13:00:02+0000", "1767272402000", "", "0", "comment", "add"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(max_size=12)
            | st.sampled_from(["id", "data", "items", "common", "created_time"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


def _read_or_raise(name: str, payload: object) -> None:
    try:
        comments = ADAPTERS[name](payload, **IDS)
    except SourceError:
        return
    assert isinstance(comments, list)
    assert all(isinstance(comment, Comment) for comment in comments)
    for comment in comments:  # what comes out can go on the topic
        assert Comment.from_json(comment.to_json()) == comment


def test_every_adapter_has_an_example() -> None:
    assert set(EXAMPLES) == set(ADAPTERS)


@pytest.mark.parametrize("name", sorted(ADAPTERS))
@given(value=json_values)
@settings(max_examples=150, deadline=None)
def test_any_json_value(name: str, value: object) -> None:
    _read_or_raise(name, value)
    _read_or_raise(name, orjson.dumps(value))


@pytest.mark.parametrize("name", sorted(ADAPTERS))
@given(raw=st.binary(max_size=200) | st.text(max_size=200))
@settings(max_examples=100, deadline=None)
def test_any_bytes_or_text(name: str, raw: bytes | str) -> None:
    _read_or_raise(name, raw)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


JSON_EXAMPLES = {
    name: orjson.loads((PAYLOADS / file).read_bytes())
    for name, file in EXAMPLES.items()
    if file.endswith(".json")
}


@pytest.mark.parametrize("name", sorted(JSON_EXAMPLES))
@given(data=st.data())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_documented_payload_with_one_part_replaced(name: str, data: st.DataObject) -> None:
    document = copy.deepcopy(JSON_EXAMPLES[name])
    path = data.draw(st.sampled_from(list(_paths(document))[1:]))
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and data.draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(json_values)
    _read_or_raise(name, document)


@pytest.mark.parametrize("name", ["facebook-sse", "tiktok-protobuf"])
@given(data=st.data())
@settings(max_examples=300, deadline=None)
def test_a_documented_text_payload_with_one_line_changed(name: str, data: st.DataObject) -> None:
    lines = (PAYLOADS / EXAMPLES[name]).read_text().splitlines()
    index = data.draw(st.integers(0, len(lines) - 1))
    line = lines[index]
    start = data.draw(st.integers(0, len(line)))
    end = data.draw(st.integers(start, len(line)))
    lines[index] = line[:start] + data.draw(st.text(max_size=8)) + line[end:]
    _read_or_raise(name, "\n".join(lines))
