"""The live stream of a livestream (server-sent events): a comment's draft arrives within a
second or so, and a screen that reconnects with its last event id gets every change it missed."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from conftest import Staff, WebStack, comments_for, wait_drafts
from live_support import produce

pytestmark = pytest.mark.timeout(300)


async def read_events(
    staff: Staff, live: str, until: Any, *, since: str | None = None, last_id: str | None = None,
    limit: float = 30.0,
) -> tuple[list[dict[str, Any]], str | None]:  # fmt: skip
    """SSE `changes` events until `until(drafts seen)` holds; the drafts and the last id."""
    headers = {"Last-Event-ID": last_id} if last_id else {}
    params = {"since": since} if since else {}
    seen: list[dict[str, Any]] = []
    last = None
    deadline = time.monotonic() + limit
    async with staff.client.stream("GET", f"/api/v1/livestreams/{live}/events", params=params,
                                   headers=headers, timeout=limit) as answer:  # fmt: skip
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        event: dict[str, str] = {}
        async for line in answer.aiter_lines():
            if line.startswith(("id:", "event:", "data:")):
                name, _, value = line.partition(":")
                event[name] = value.strip()
            elif line == "" and event:
                if event.get("event") == "changes":
                    seen.extend(orjson.loads(event["data"])["drafts"])
                    last = event["id"]
                event = {}
                if until(seen):
                    return seen, last
            assert time.monotonic() < deadline, f"saw {len(seen)} drafts: {seen[-1:]}"
    return seen, last


async def test_a_comment_reaches_the_stream_and_a_reconnect_misses_nothing(
    web: WebStack, as_staff: Any
) -> None:
    thu = await as_staff("thu")
    live = web.new_livestream()
    listing = (await thu.get(f"/api/v1/livestreams/{live}/drafts")).json()
    assert listing["items"] == []
    first = comments_for(live, [("a1", "An", "chốt MP10")])
    sent = time.monotonic()
    # Produced before the stream is opened: the stream starts at the position the list gave,
    # taken before its snapshot, so the draft arrives anyway.
    await produce(web.settings, first)
    seen, last_id = await read_events(thu, live, lambda s: any(d["seq"] == 1 for d in s),
                                      since=listing["events_from"])  # fmt: skip
    assert time.monotonic() - sent < 10
    assert seen[0]["version"] and seen[0]["warnings"] == []
    assert last_id is not None

    # Disconnected: three more customers comment and one draft changes.
    more = comments_for(
        live,
        [
            ("a2", "Bảo", "chốt MP10"),
            ("a3", "Chi", "chốt K2"),
            ("a1", "An", "lấy thêm B3 30"),
            ("a4", "Dũng", "chốt MP10 2"),
        ],
    )
    for index, item in enumerate(more):  # fmt: skip
        more[index] = item.model_copy(update={"id": f"{item.id}-more"})
    await produce(web.settings, more)
    await wait_drafts(thu, live, 4)
    missed, _ = await read_events(
        thu, live, lambda s: {d["seq"] for d in s} >= {1, 2, 3, 4}, last_id=last_id
    )
    by_seq = {d["seq"]: d for d in missed}
    assert set(by_seq) == {1, 2, 3, 4}
    assert [line["code"] for line in by_seq[1]["lines"]] == ["MP10", "B3"]
    assert all(d["livestream_id"] == live for d in missed)


async def test_a_position_that_chotdon_did_not_write_is_refused(
    web: WebStack, as_staff: Any
) -> None:
    thu = await as_staff("thu")
    live = web.new_livestream()
    for bad in ("nonsense", "1:-5|0:0", "x:1|"):
        answer = await thu.get(f"/api/v1/livestreams/{live}/events", params={"since": bad})
        assert answer.status_code == 400, bad
        assert answer.json()["reasons"][0]["field"] == "Last-Event-ID"
