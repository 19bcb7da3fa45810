"""The connectors' pure parts: configuration, signatures, how platform answers are classified,
backoff, the retrying request (against httpx's mock transport), the TikTok feed envelope."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from typing import Any

import httpx
import pytest

from config.loader import ConfigError, validate_document
from config.shop import ShopConfig
from connectors.facebook import graph_verdict, send_body, sse_comments
from connectors.http import Backoff, GaveUp, TokenExpired, request
from connectors.pollers import shopee_sign, shopee_verdict, youtube_verdict
from connectors.service import MissingSecret, plan
from connectors.sink import Seen
from connectors.sources import facebook, tiktok
from connectors.webhook import signature_ok

PAYLOADS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "payloads"
IDS = {"shop_id": "shop-demo", "livestream_id": "L1"}


def shop(connectors: dict[str, Any]) -> ShopConfig:
    document = {"shop": {"id": "shop-demo", "name": "Demo"}, "connectors": connectors}
    return validate_document(ShopConfig, document, "shop.toml")


FACEBOOK = {"page_id": "100000000000777"}
LIVE = {"livestream": "L1", "platform": "facebook", "id": "100000000000900"}


# -- configuration --------------------------------------------------------------------------


def test_a_shop_binds_its_livestreams_to_platform_lives_with_secrets_by_name() -> None:
    config = shop({"facebook": FACEBOOK, "live": [LIVE]}).connectors
    assert config.facebook is not None and config.facebook.page_token_env == "FB_PAGE_TOKEN"
    assert config.of("L1") == config.live[0] and config.of("L2") is None


@pytest.mark.parametrize(
    ("connectors", "where", "words"),
    [
        ({"live": [LIVE]}, "connectors.live[0].platform", "no [connectors.facebook]"),
        ({"facebook": FACEBOOK, "live": [LIVE, {**LIVE, "id": "2"}]},
         "connectors.live[1].livestream", "already has a source"),
        ({"facebook": {**FACEBOOK, "page_token": "EAAB…"}}, "connectors.facebook.page_token",
         "unknown setting"),
        ({"facebook": {**FACEBOOK, "page_token_env": "my token"}},
         "connectors.facebook.page_token_env", "pattern"),
        ({"shopee": {"partner_id": 1, "shop_id": 2, "poll_seconds": 12}},
         "connectors.shopee.poll_seconds", "8"),
    ],
)  # fmt: skip
def test_a_broken_connector_configuration_is_refused_at_its_place(
    connectors: dict[str, Any], where: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        shop(connectors)
    fields = dict(caught.value.problems)
    assert where in fields, caught.value.problems
    assert words in fields[where]


def test_secrets_come_from_the_environment_and_a_missing_one_is_named() -> None:
    config = shop({"facebook": {**FACEBOOK, "webhook": True}, "live": [LIVE]})
    with pytest.raises(MissingSecret, match=r"\$FB_PAGE_TOKEN is not set"):
        plan([config], {})
    env = {"FB_PAGE_TOKEN": "t", "FB_APP_SECRET": "s", "FB_VERIFY_TOKEN": "v"}
    assert plan([config], env, webhook_port=8080).secrets == {
        "shop-demo:facebook": "t", "shop-demo:facebook-app": "s",
        "shop-demo:facebook-verify": "v"}  # fmt: skip
    with pytest.raises(MissingSecret, match="livestream L9"):
        plan([config], env, livestreams=["L9"])


# -- signatures -----------------------------------------------------------------------------


def test_webhook_signatures_are_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"object":"page","entry":[]}'
    good = "sha256=" + hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert signature_ok(body, good, ["secret"])
    assert signature_ok(body, good.upper().replace("SHA256=", "sha256="), ["other", "secret"])
    assert not signature_ok(body, None, ["secret"])
    assert not signature_ok(body, good.replace("sha256=", "sha1="), ["secret"])
    assert not signature_ok(body + b" ", good, ["secret"])
    assert not signature_ok(body, good, ["wrong"])
    assert not signature_ok(body, good, [])


def test_shopee_signs_partner_id_path_timestamp_token_and_shop_id() -> None:
    base = "2001234/api/v2/livestream/get_latest_comment_list1767272400tok77001"
    want = hmac.new(b"key", base.encode(), hashlib.sha256).hexdigest()
    path = "/api/v2/livestream/get_latest_comment_list"
    assert shopee_sign("key", 2001234, path, 1767272400, "tok", 77001) == want
    assert shopee_sign("key", 2001234, path, 1767272401, "tok", 77001) != want


# -- classifying answers --------------------------------------------------------------------


def response(status: int, body: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def graph_error(code: int, status: int = 400) -> httpx.Response:
    return response(status, {"error": {"message": "m", "type": "OAuthException", "code": code}})


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (response(200, {"data": []}), "ok"),
        (graph_error(190), "token_expired"),
        (graph_error(4, 403), "rate_limited"),
        (graph_error(613), "rate_limited"),
        (graph_error(2, 500), "transient"),
        (response(503), "transient"),
        (graph_error(100), "refused"),
        (response(429), "rate_limited"),
    ],
)
def test_graph_answers(answer: httpx.Response, kind: str) -> None:
    assert graph_verdict(answer).kind == kind


def test_youtube_and_shopee_answers() -> None:
    def yt(status: int, reason: str) -> httpx.Response:
        return response(status, {"error": {"code": status, "errors": [{"reason": reason}]}})

    assert youtube_verdict(yt(401, "authError")).kind == "token_expired"
    assert youtube_verdict(yt(403, "rateLimitExceeded")).kind == "rate_limited"
    assert youtube_verdict(yt(403, "liveChatEnded")).code == "liveChatEnded"
    assert youtube_verdict(yt(503, "backendError")).kind == "transient"

    def sp(error: str, message: str = "") -> httpx.Response:
        return response(200, {"error": error, "message": message, "request_id": "r"})

    assert shopee_verdict(sp("")).kind == "ok"
    assert shopee_verdict(sp("invalid_acceess_token", "Invalid access_token.")).kind == (
        "token_expired")  # fmt: skip
    assert shopee_verdict(sp("error_too_many_request")).kind == "rate_limited"
    assert shopee_verdict(sp("error_server")).kind == "transient"
    assert shopee_verdict(sp("error_sign", "Wrong sign.")).kind == "refused"


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    backoff = Backoff(first=1.0, ceiling=8.0)
    delays = [backoff.next_delay("transient") for _ in range(6)]
    for delay, step in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert step / 2 <= delay <= step
    assert Backoff().next_delay("rate_limited") >= 2.5
    assert Backoff().next_delay("transient", retry_after=30) == 30
    assert len({Backoff(first=1.0).next_delay("transient") for _ in range(20)}) > 1  # jitter


async def test_a_request_retries_what_is_transient_and_stops_on_a_refused_token() -> None:
    answers = [response(429),
               response(502), response(200, {"ok": True})]  # fmt: skip
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    def answer(_: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        ok = await request(client, "facebook", "GET", "http://x/y", sleep=sleep)
        assert ok.json() == {"ok": True} and len(slept) == 2
        answers[:] = [graph_error(190)]
        with pytest.raises(TokenExpired, match="190"):
            await request(client, "facebook", "GET", "http://x/y", classify=graph_verdict,
                          sleep=sleep)  # fmt: skip
        answers[:] = [response(503)] * 3
        with pytest.raises(GaveUp):
            await request(client, "facebook", "GET", "http://x/y", attempts=3, sleep=sleep)


# -- payloads ----------------------------------------------------------------------------


def _field(number: int, value: int | bytes) -> bytes:
    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
            n >>= 7
            if not n:
                return bytes(out)

    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def test_the_tiktok_feed_envelope_holds_the_chat_messages_of_the_payload_example() -> None:
    lines = (PAYLOADS / "tiktoklive_WebcastChatMessage.constructed.pb.b64").read_text()
    chats = [base64.b64decode(line) for line in lines.split()]
    envelope = b"".join(_field(1, _field(1, b"WebcastChatMessage") + _field(2, chat))
                        for chat in chats)  # fmt: skip
    envelope += _field(1, _field(1, b"WebcastRoomUserSeqMessage") + _field(2, _field(3, 5)))
    envelope += _field(2, b"cursor-7") + _field(3, 1000) + _field(4, 1767272405000)
    envelope += _field(5, b"ext")
    result = tiktok.parse_fetch_result(envelope, **IDS)
    assert result.comments == tiktok.parse_protobuf_b64(lines, **IDS)
    assert (result.cursor, result.internal_ext, result.fetch_interval_ms) == ("cursor-7", "ext",
                                                                              1000)  # fmt: skip
    assert not result.ended
    ended = envelope + _field(1, _field(1, b"WebcastControlMessage") + _field(2, _field(2, 3)))
    assert tiktok.parse_fetch_result(ended, **IDS).ended
    with pytest.raises(tiktok.SourceError, match="ProtoMessageFetchResult"):
        tiktok.parse_fetch_result(b"\x0a\xff", **IDS)


async def test_the_sse_reader_yields_the_payload_examples_comments_as_events_complete() -> None:
    text = (PAYLOADS / "facebook_streaming-graph_live_comments_SSE.constructed.txt").read_text()

    async def lines() -> Any:
        for line in text.splitlines():
            yield line

    got = [c async for c in sse_comments(lines(), "shop-demo", "L1")]
    assert got == facebook.parse_sse(text, **IDS) and len(got) == 3


def test_send_api_bodies() -> None:
    reply = {"channel": "private_reply", "comment_id": "9_1", "user_id": "u", "text": "Chào"}
    assert send_body(reply) == {"recipient": {"comment_id": "9_1"}, "messaging_type": "RESPONSE",
                                "message": {"text": "Chào"}}  # fmt: skip
    assert send_body({**reply, "channel": "message"})["recipient"] == {"id": "u"}


def test_seen_keeps_the_latest_ids() -> None:
    seen = Seen(capacity=3, ids=["a", "b", "c", "d"])
    assert "a" not in seen and "d" in seen and seen.latest(2) == ["c", "d"]
