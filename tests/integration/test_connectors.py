"""The connectors against fake platforms (tests/fake_platforms.py) that serve the real payload
formats and inject faults, with the real Kafka and Redis: every comment the platform served
is in Kafka, in the live's order, and applied once (the drafts are a fault-free run's)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import orjson
import pytest
from connect_support import (
    TOKENS,
    check_exactly_once,
    connector,
    expected_comments,
    kafka_comments,
    live_script,
    load,
    shop_toml,
)
from fake_platforms import FakeLive, serve_fakes
from live_processes import ON_BOTH_STORES
from live_support import unique, wait_for
from prometheus_client import REGISTRY

from config.settings import Settings
from connectors.sink import cursor_key
from orders.connection import redis_client
from parsers.phones import find_phones

pytestmark = ON_BOTH_STORES

PAYLOADS = Path(__file__).resolve().parents[3] / "shared" / "data" / "payloads"
WEBHOOK_PAYLOAD = PAYLOADS / "facebook_page_webhook_feed_comment.constructed.json"


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def finished(task: asyncio.Task[int], limit: float = 60.0) -> int:
    return await asyncio.wait_for(asyncio.shield(task), limit)


async def test_facebook_sse_with_drops_throttling_errors_duplicates_and_reordered_pages(
    live: Settings, tmp_path: Path
) -> None:
    """The stream drops every 150 comments; the comments edge answers 429 and 5xx, repeats
    the previous page's last comments and lists its pages newest first. Comments with a phone
    number are hidden once Kafka has them."""
    livestream = unique("fb-sse")
    shop = load(shop_toml(tmp_path, [(livestream, "facebook", "900000000000001")]))
    fake = FakeLive(live_script(900))
    fake.faults.sse_drop_every = 150
    fake.faults.overlap = 3
    fake.faults.reverse = True
    fake.faults.statuses = [429, 500]
    fake.faults.every = 7
    fake.post(40)  # said before the connector started: the catch-up brings them
    drops = metric("chotdon_connector_retries_total", platform="facebook", reason="stream_dropped")
    async with serve_fakes(fake) as base, connector(live, base, shop, [livestream]) as (task, _):
        await fake.post_all(rate=120)
        assert await finished(task) == 0  # the live ended: VOD
    assert fake.sse_connections >= 2
    assert metric("chotdon_connector_retries_total", platform="facebook",
                  reason="stream_dropped") > drops  # fmt: skip
    assert metric("chotdon_connector_duplicates_total", platform="facebook",
                  livestream=livestream) > 0  # fmt: skip
    want = expected_comments(fake, livestream)
    await check_exactly_once(live, fake, livestream, want, shop)
    with_phone = {c.id for c in want if find_phones(c.text)}
    assert with_phone and set(fake.hidden) == with_phone
    assert len(fake.hidden) == len(with_phone), "a comment was hidden twice"


async def test_facebook_poll_token_expiry_stops_clearly_and_resumes_from_the_cursor(
    live: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The Page token expires mid-live: the connector stops with status 3 and says which
    variable to renew; run again with the new token, it resumes from its cursor."""
    livestream = unique("fb-poll")
    shop = load(shop_toml(tmp_path, [(livestream, "facebook", "900000000000001")], read="poll"))
    fake = FakeLive(live_script(600))
    fake.faults.overlap = 2
    async with serve_fakes(fake) as base:
        async with connector(live, base, shop, [livestream]) as (task, _):
            await fake.post_all(rate=600, until=300)

            async def all_300() -> bool:
                return len({c.id for c in await kafka_comments(live, livestream)}) >= 300

            await wait_for(all_300, "the first 300 comments in Kafka")
            fake.faults.expire_token_at = 300  # from the next request on
            await fake.post_all(rate=600, until=450)
            assert await finished(task) == 3
        assert "TEST_FB_TOKEN" in caplog.text and "token" in caplog.text
        assert metric("chotdon_connector_token_expired", platform="facebook",
                      livestream=livestream) == 1  # fmt: skip
        before = len({c.id for c in await kafka_comments(live, livestream)})
        assert before == 300
        fake.renew_token("tok-2")
        env = {**TOKENS, "TEST_FB_TOKEN": "tok-2"}
        async with connector(live, base, shop, [livestream], env=env) as (task, _):
            await fake.post_all(rate=600)
            assert await finished(task) == 0
    in_kafka = await check_exactly_once(live, fake, livestream,
                                        expected_comments(fake, livestream), shop)  # fmt: skip
    assert len(in_kafka) < 600 + 50, "the second run started over instead of at the cursor"


async def test_youtube_polls_at_the_interval_pages_by_token_and_stops_when_the_chat_ends(
    live: Settings, tmp_path: Path
) -> None:
    livestream = unique("yt")
    shop = load(shop_toml(tmp_path, [(livestream, "youtube", "KicKGFVDchat")]))
    fake = FakeLive(live_script(500), platform="youtube")
    fake.faults.statuses = [503, 429, 500]
    fake.faults.overlap = 4
    fake.faults.reverse = True
    started = time.monotonic()
    async with serve_fakes(fake) as base, connector(live, base, shop, [livestream]) as (task, _):
        await fake.post_all(rate=300)
        assert await finished(task) == 0  # liveChatEnded
    # pollingIntervalMillis is 100: no faster than that (a few retries aside)
    assert fake.requests <= (time.monotonic() - started) / 0.1 + 10
    await check_exactly_once(live, fake, livestream, expected_comments(fake, livestream), shop)


async def test_tiktok_feed_of_protobuf_chat_messages(live: Settings, tmp_path: Path) -> None:
    livestream = unique("tt")
    shop = load(shop_toml(tmp_path, [(livestream, "tiktok", "7412000000000000001")]))
    fake = FakeLive(live_script(500), platform="tiktok")
    fake.faults.statuses = [500, 429]
    fake.faults.every = 9
    fake.faults.overlap = 5
    async with serve_fakes(fake) as base, connector(live, base, shop, [livestream]) as (task, _):
        await fake.post_all(rate=300)
        assert await finished(task) == 0  # WebcastControlMessage: the live ended
    await check_exactly_once(live, fake, livestream, expected_comments(fake, livestream), shop)


async def test_shopee_signed_polls_and_a_reported_gap(
    live: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Shopee keeps 10 s of comments: the connector stopped for longer misses some, and says
    which time range (metric and log line); the rest are there once, in order."""
    livestream = unique("sp")
    shop = load(shop_toml(tmp_path, [(livestream, "shopee", "424242")]))
    fake = FakeLive(live_script(300), platform="shopee")
    fake.faults.statuses = [500]
    fake.faults.reverse = True
    gaps = metric("chotdon_connector_gaps_total", platform="shopee", livestream=livestream)
    async with serve_fakes(fake) as base:
        async with connector(live, base, shop, [livestream]) as (task, stop):
            await fake.post_all(rate=200, until=100)
            await asyncio.sleep(1.0)
            stop.set()
            assert await finished(task) == 0
        fake.post(60)  # said while nobody listens, and forgotten by Shopee after 10 s
        await asyncio.sleep(10.5)
        fake.faults.overlap = 1  # the window again, whole, at every poll
        async with connector(live, base, shop, [livestream]) as (task, _):
            await fake.post_all(rate=200)
            assert await finished(task) == 0
    assert fake.bad_signatures == 0
    assert metric("chotdon_connector_gaps_total", platform="shopee",
                  livestream=livestream) == gaps + 1  # fmt: skip
    assert "gap: shopee live of livestream" in caplog.text
    lost = set(range(100, 160))
    want = expected_comments(fake, livestream, skip=lost)
    assert not fake.served & {fake.comment_id(fake.script[n]) for n in lost}
    await check_exactly_once(live, fake, livestream, want, shop)


async def test_facebook_webhook_checks_signatures_and_feeds_the_live(
    live: Settings, tmp_path: Path
) -> None:
    import hashlib
    import hmac
    import socket

    livestream = unique("fb-hook")
    shop = load(shop_toml(tmp_path, [(livestream, "facebook", "900000000000001")]))
    fake = FakeLive(live_script(10))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    payload = WEBHOOK_PAYLOAD.read_bytes()
    payload = payload.replace(b"100000000000900", b"900000000000001")
    good = "sha256=" + hmac.new(b"app-secret-test", payload, hashlib.sha256).hexdigest()
    failures = metric("chotdon_connector_signature_failures_total", platform="facebook")
    async with (
        serve_fakes(fake) as base,
        connector(live, base, shop, [livestream], webhook_port=port),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        for _ in range(100):
            try:
                check = await client.get("/webhooks/facebook", params={
                    "hub.mode": "subscribe", "hub.verify_token": "verify-me",
                    "hub.challenge": "1158201444"})  # fmt: skip
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.05)
        assert check.status_code == 200 and check.text == "1158201444"
        wrong = await client.get("/webhooks/facebook", params={
            "hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"})  # fmt: skip
        assert wrong.status_code == 403
        for header in ({}, {"X-Hub-Signature-256": "sha256=" + "0" * 64},
                       {"X-Hub-Signature-256": good.replace("sha256=", "sha1=")}):  # fmt: skip
            refused = await client.post("/webhooks/facebook", content=payload, headers=header)
            assert refused.status_code == 401
        tampered = payload.replace(b"2 c\xc3\xa1i", b"9 c\xc3\xa1i")
        refused = await client.post("/webhooks/facebook", content=tampered,
                                    headers={"X-Hub-Signature-256": good})  # fmt: skip
        assert refused.status_code == 401
        assert await kafka_comments(live, livestream) == []
        accepted = await client.post("/webhooks/facebook", content=payload,
                                     headers={"X-Hub-Signature-256": good})  # fmt: skip
        assert accepted.status_code == 200
        again = await client.post("/webhooks/facebook", content=payload,
                                  headers={"X-Hub-Signature-256": good})  # fmt: skip
        assert again.status_code == 200  # Facebook redelivers: produced once
    assert metric("chotdon_connector_signature_failures_total",
                  platform="facebook") == failures + 4  # fmt: skip
    (comment,) = await kafka_comments(live, livestream)
    assert comment.id == "900000000000001_100000000000907" and comment.user_id == "100000000000005"
    assert comment.text.startswith("chốt A12 size M 2 cái")


async def test_cursor_is_stored_only_after_kafka_has_the_comments(
    live: Settings, tmp_path: Path
) -> None:

    livestream = unique("fb-cur")
    shop = load(shop_toml(tmp_path, [(livestream, "facebook", "900000000000001")], read="poll"))
    fake = FakeLive(live_script(50))
    fake.post(50)
    async with serve_fakes(fake) as base, connector(live, base, shop, [livestream]) as (task, _):
        assert await finished(task) == 0
    client = redis_client(live.redis)
    try:
        state = orjson.loads(await client.get(cursor_key("shop-demo", livestream, "facebook")))
    finally:
        await client.aclose()
    assert state["cursor"] and state["recent"][-1] == fake.ids()[-1]
    assert len(await kafka_comments(live, livestream)) == 50
