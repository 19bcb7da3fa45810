"""`chotdon migrate`: state written by the previous store layout (layout 1: rendered waitlist
places, queues as lists) is refused by this chotdon until migrated, and after migrating reads
and grows exactly as the pure order book says.

The previous layout is written by the previous Redis Function library itself, kept as a
fixture (fixtures/orderbook_layout1.lua, commit 71d197a, its library and functions renamed so
that it loads beside the current one)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
import redis.asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition
from live_processes import CHOTDON, DEMO_SHOP
from live_support import comment_events, model_book, shop_with

from cli.samples import generate
from config.settings import Settings
from orders.events import CommentEvent
from orders.store import (
    DraftStore,
    StoreOutdated,
    encode_events,
    encode_products,
    livestream_prefix,
    registry_key,
)
from stream.intake import comment_group, positions_key

LAYOUT1 = Path(__file__).resolve().parent / "fixtures" / "orderbook_layout1.lua"
LIVE = "mig-live"


def _batches(events: Sequence[CommentEvent], size: int = 250) -> list[Sequence[CommentEvent]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


async def test_layout_1_is_refused_until_migrated_then_reads_and_grows_as_the_book(
    client_url: str, kafka_settings: Settings, client: redis.asyncio.Redis, store: DraftStore
) -> None:
    shop = shop_with(DEMO_SHOP)
    shop_id = shop.shop.id
    events = comment_events(generate(2400, 250, livestream_id=LIVE, seed=3), shop)
    before, after = events[:1500], events[1500:]
    await client.function_load(LAYOUT1.read_text(encoding="utf-8"), replace=True)
    meta = f"{livestream_prefix(shop_id, LIVE)}:meta"
    await client.hset(registry_key(LIVE), "shop_id", shop_id)
    await client.fcall("layout1_register", 1, meta, shop_id, LIVE, encode_products(shop.products),
                       shop.orders.repeat_comment, shop.model_dump_json())  # fmt: skip
    for batch in _batches(before):
        await client.fcall("layout1_apply", 1, meta, encode_events(batch))
    book = model_book(shop, LIVE)
    book.apply(before)
    assert any(q for q in book.queues().values()), "the stream should leave waitlists"

    with pytest.raises(StoreOutdated, match="run `chotdon migrate`"):
        await store.apply_batch(shop_id, LIVE, after[:5])
    with pytest.raises(StoreOutdated, match="run `chotdon migrate`"):
        await store.register_shop(shop, LIVE)

    # the agents' group had committed offsets of the comments topic (layout 1 read it there)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka_settings.kafka,
        group_id=kafka_settings.app_id,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        tp = TopicPartition(kafka_settings.topics.comments, 2)
        consumer.assign([tp])
        await consumer.commit({tp: 1500})
    finally:
        await consumer.stop()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHOTDON_")}
    env.update(CHOTDON_REDIS=client_url, CHOTDON_KAFKA=kafka_settings.kafka,
               CHOTDON_APP_ID=kafka_settings.app_id,
               CHOTDON_TOPIC_COMMENTS=kafka_settings.topics.comments)  # fmt: skip
    done = await asyncio.to_thread(subprocess.run, [str(CHOTDON), "migrate"], env=env,
                                   capture_output=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert "1 livestreams and shops upgraded, 0 already current" in done.stdout.decode()
    assert f"livestream {LIVE}" in done.stderr.decode()  # progress, per livestream
    # ... and the intake of the new layout resumes there (its own group has none)
    record = positions_key(comment_group(kafka_settings.app_id), kafka_settings.topics.comments)
    assert await client.hgetall(record) == {b"2": b"1499"}

    assert await store.drafts(shop_id, LIVE) == book.drafts()
    assert await store.stock(shop_id, LIVE) == (book.held(), book.queues())
    assert await store.migrate(shop_id, LIVE) is False  # idempotent
    for batch in _batches(after):
        applied = await store.apply_batch(shop_id, LIVE, batch)
        assert applied.changed == book.apply(batch)
    assert await store.drafts(shop_id, LIVE) == book.drafts()
    assert await store.stock(shop_id, LIVE) == (book.held(), book.queues())
    assert await store.customers(shop_id, LIVE) == book.customers()
