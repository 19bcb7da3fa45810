"""`chotdon ingest`: every documented platform payload becomes Comments on stdout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

PAYLOADS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "payloads"
CHOTDON = str(Path(sys.executable).with_name("chotdon"))

CASES = [
    ("facebook-graph", "facebook_graph_live-video_comments_GET.constructed.json", 3),
    ("facebook-sse", "facebook_streaming-graph_live_comments_SSE.constructed.txt", 3),
    ("facebook-webhook", "facebook_page_webhook_feed_comment.constructed.json", 1),
    ("tiktok", "tiktoklive_WebcastChatMessage_CommentEvent.constructed.json", 3),
    ("tiktok-protobuf", "tiktoklive_WebcastChatMessage.constructed.pb.b64", 3),
    ("youtube", "youtube_liveChatMessages_list.constructed.json", 2),
    ("shopee", "shopee_v2_livestream_get_latest_comment_list.constructed.json", 3),
]


def _ingest(
    source: str, path: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    command = [CHOTDON, "ingest", "--source", source, path, "--shop", "s1", "--livestream", "L1"]
    return subprocess.run(command, input=stdin, capture_output=True, timeout=60, check=False)


@pytest.mark.parametrize(("source", "name", "count"), CASES, ids=[c[0] for c in CASES])
def test_each_payload_becomes_comments(source: str, name: str, count: int) -> None:
    done = _ingest(source, str(PAYLOADS / name))
    assert done.returncode == 0, done.stderr.decode()
    comments = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert len(comments) == count
    assert {(c["shop_id"], c["livestream_id"]) for c in comments} == {("s1", "L1")}
    assert all(c["text"] is not None and c["created_at"] for c in comments)


def test_a_malformed_payload_is_one_clear_error() -> None:
    done = _ingest("youtube", "-", stdin=b"{")
    assert done.returncode == 1
    assert done.stderr.decode().startswith("chotdon: error: -: youtube: not JSON")
    assert b"Traceback" not in done.stderr
