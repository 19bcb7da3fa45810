"""The outbound sender against fake send APIs: each message delivered once at most, transient
failures retried, refusals and doubts recorded with their reason, redeliveries skipped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from connect_support import connector, load, shop_toml
from fake_platforms import FakeLive, serve_fakes
from live_processes import ON_BOTH_STORES
from live_support import produce, unique, wait_for

from config.settings import Settings
from connectors.outbound import deliveries, delivery_key
from orders.connection import redis_client

pytestmark = ON_BOTH_STORES

Json = dict[str, Any]


def outbound(message_id: str, **more: Any) -> Json:
    """A message as stream/outbound.py publishes it (a private reply unless told)."""
    return {
        "v": 1, "message_id": message_id, "shop_id": "shop-demo", "platform": "facebook",
        "user_id": "100000000000001", "template": "order_confirmation",
        "text": f"Chào Hoa! Shop đã lên đơn {message_id}", "order_id": message_id,
        "livestream_id": "L1", "seq": 1, "at": datetime.now(UTC).isoformat(),
        "channel": "private_reply", "comment_id": "900000000000001_1000001", "sent": True,
        "reason_code": None, "reason": None, **more,
    }  # fmt: skip


async def send_all(live: Settings, messages: list[Json]) -> None:
    # one key: one partition, so the messages are handled in the order given
    await produce(live, [(b"L1", orjson.dumps(m)) for m in messages],
                  topic=live.topics.messages_outbound)  # fmt: skip


async def records(live: Settings, ids: list[str]) -> dict[str, Any]:
    client = redis_client(live.redis)
    try:
        return await deliveries(client, "shop-demo", ids)
    finally:
        await client.aclose()


async def test_each_message_once_transient_failures_retried_doubts_never_resent(
    live: Settings, tmp_path: Path
) -> None:
    shop = load(shop_toml(tmp_path, []))
    fake = FakeLive([])
    ids = [unique("msg") for _ in range(8)]
    busy, refused, doubtful, crashed, dm, youtube, tiktok, stale = ids
    client = redis_client(live.redis)
    try:  # a sender died after writing `sending` for this one: it may have reached the customer
        await client.hset(delivery_key("shop-demo"), crashed,
                          orjson.dumps({"state": "sending", "attempt": 1}))  # fmt: skip
    finally:
        await client.aclose()
    fake.send_statuses = [503, 429]  # then 200: `busy` is delivered on its third attempt
    messages = [
        outbound(busy), outbound(busy),  # delivered twice by Kafka
        outbound(crashed),
        outbound(dm, channel="message", comment_id=None),
        outbound(youtube, platform="youtube"), outbound(tiktok, platform="tiktok"),
        outbound(stale, at=(datetime.now(UTC) - timedelta(days=2)).isoformat()),
    ]  # fmt: skip
    async with serve_fakes(fake) as base, connector(live, base, shop, [], sender=True,
                                                    readers=False):  # fmt: skip
        await send_all(live, messages)

        async def settled() -> dict[str, Any] | None:
            found = await records(live, [busy, crashed, dm, youtube, tiktok, stale])
            done = all(r["state"] in ("delivered", "refused", "uncertain") for r in found.values())
            return found if len(found) == 6 and done else None

        states = await wait_for(settled, "the first messages handled", limit=60)
        fake.send_statuses = [400]
        await send_all(live, [outbound(refused)])
        fake_500 = [500]

        async def refused_done() -> bool:
            return (await records(live, [refused])).get(refused, {}).get("state") == "refused"

        await wait_for(refused_done, "the refusal recorded", limit=30)
        fake.send_statuses = fake_500
        await send_all(live, [outbound(doubtful), outbound(doubtful)])

        async def doubt_done() -> bool:
            return (await records(live, [doubtful])).get(doubtful, {}).get("state") == "uncertain"

        await wait_for(doubt_done, "the doubt recorded", limit=30)
        await asyncio.sleep(0.5)  # the second copy of `doubtful` is skipped, not sent
    assert states[busy]["state"] == "delivered" and states[busy]["attempt"] == 3
    assert (
        states[crashed]["state"] == "uncertain" and states[crashed]["reason_code"] == "interrupted"
    )
    assert states[dm]["state"] == "delivered"
    assert (states[youtube]["state"], states[youtube]["reason_code"]) == ("refused", "no_inbox")
    assert (states[tiktok]["state"], states[tiktok]["reason_code"]) == ("refused", "unsupported")
    assert (states[stale]["state"], states[stale]["reason_code"]) == ("refused", "stale")
    final = await records(live, [refused, doubtful])
    assert final[refused]["reason_code"] == "10" and "window" in final[refused]["reason"]
    assert final[doubtful]["state"] == "uncertain"
    texts = [body["message"]["text"] for body in fake.sent]
    assert sorted(texts) == sorted([outbound(busy)["text"], outbound(dm)["text"]])
    by_text = {body["message"]["text"]: body for body in fake.sent}
    assert by_text[outbound(busy)["text"]]["recipient"] == {"comment_id": "900000000000001_1000001"}
    assert by_text[outbound(dm)["text"]]["recipient"] == {"id": "100000000000001"}
    # attempts: busy 3, dm 1, refused 1, doubtful 1; never the crashed one, never a copy
    assert fake.send_attempts == 6
