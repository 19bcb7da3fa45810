"""Starting and stopping a livestream: what `chotdon live` and the web API both do.

A livestream is bound to its shop in Redis, so every worker sees it. Starting one that is
already started changes its products (prices, stock, new codes) for the comments that follow,
without restarting workers; more stock serves the waitlist at once, and the drafts that
changed so are published as draft events.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from config.settings import Settings
from config.shop import ShopConfig
from orders.shop.store import ShopStore
from orders.store import DraftStore


class LivestreamRefused(Exception):
    """The livestream cannot be started or stopped as asked; the message says why."""


async def start_livestream(settings: Settings, shop: ShopConfig, livestream_id: str) -> None:
    """Bind (or re-bind, mid-live) a livestream to a shop; publish drafts a stock raise served."""
    # The shop's own keys first: a workflow that would strand orders is refused before the
    # livestream changes.
    async with ShopStore.connect(settings.redis) as shops:
        problems = await shops.apply_config(shop)
    if problems:
        raise LivestreamRefused(f"shop {shop.shop.id}: " + "; ".join(problems))
    async with DraftStore.connect(settings.redis) as store:
        await store.load_functions()
        promoted = await store.register_shop(shop, livestream_id)
    if promoted:  # more stock served waiting customers: their drafts changed
        await publish_drafts(settings, shop.shop.id, livestream_id, promoted)


async def stop_livestream(settings: Settings, livestream_id: str) -> None:
    async with DraftStore.connect(settings.redis) as store:
        if not await store.stop_livestream(livestream_id):
            raise LivestreamRefused(f"livestream {livestream_id!r} was never started")


async def publish_drafts(
    settings: Settings, shop_id: str, livestream_id: str, drafts: list[dict[str, Any]]
) -> None:
    """Draft events for drafts changed outside the comment agent (a stock change)."""
    from aiokafka import AIOKafkaProducer

    from stream.messages import draft_event_json

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka, acks="all")
    await producer.start()
    try:
        now = datetime.now(UTC)
        for draft in drafts:
            value = draft_event_json(shop_id, livestream_id, draft, [], now)
            await producer.send(settings.topics.draft_events, value, key=livestream_id.encode())
        await producer.flush()
    finally:
        await producer.stop()
