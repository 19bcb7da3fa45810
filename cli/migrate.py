"""`chotdon migrate`: upgrade the Redis state written by an older chotdon to this one's layout.

A store of another layout is refused by the workers and commands ("run `chotdon migrate`"), so
that state written by older code is never misread. Stop the workers, run this once, start the
workers of the new version. Each livestream is upgraded in one atomic call (a livestream of
3,000 customers blocks Redis for some tens of milliseconds), each shop in one transaction;
progress is printed per livestream and shop. Running it again changes nothing.

The comment path reads in a consumer group of its own since layout 2 (`<app id>.comments`,
stream/intake.py), which has no committed offsets yet: the agents' group's committed offsets
of the comments topic become the intake's record of where the store is (written only where
there is none), so the new workers resume there instead of reading the topic from the start.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from config.settings import load_settings


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "migrate", help="upgrade the Redis state of an older chotdon", description=__doc__
    )
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    parser.set_defaults(handler=run)


async def migrate(redis_url: str, quiet: bool = False) -> tuple[int, int]:
    """(livestreams and shops upgraded, livestreams and shops already current)."""
    from orders.shop.store import ShopStore
    from orders.store import DraftStore

    upgraded = current = 0
    async with ShopStore.connect(redis_url) as shops:
        shop_ids = await shops.shop_ids()
        for number, shop_id in enumerate(shop_ids, 1):
            changed = await shops.migrate(shop_id)
            upgraded += changed
            current += not changed
            if not quiet:
                state = "upgraded" if changed else "already current"
                print(f"[{number}/{len(shop_ids)}] shop {shop_id}: {state}", file=sys.stderr)
    async with DraftStore.connect(redis_url) as store:
        await store.load_functions()
        livestreams = await store.registered_livestreams()
        started = time.monotonic()
        for number, (livestream_id, shop_id) in enumerate(sorted(livestreams.items()), 1):
            changed = await store.migrate(shop_id, livestream_id)
            upgraded += changed
            current += not changed
            if not quiet:
                state = "upgraded" if changed else "already current"
                print(
                    f"[{number}/{len(livestreams)}] livestream {livestream_id} "
                    f"(shop {shop_id}): {state} ({time.monotonic() - started:.1f} s)",
                    file=sys.stderr,
                )
    return upgraded, current


async def carry_offsets(settings: Any) -> dict[int, int]:
    """The agents' group's committed offsets of the comments topic, written as the intake's
    record where it has none (a committed offset is past what was applied and published: the
    agent acknowledged nothing else). Returns what it wrote, by partition."""
    from aiokafka.admin import AIOKafkaAdminClient

    from orders.connection import redis_client
    from stream.intake import comment_group, positions_key

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka, request_timeout_ms=10_000)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(settings.app_id)
    finally:
        await admin.close()
    topic = settings.topics.comments
    marks = {tp.partition: m.offset - 1 for tp, m in offsets.items()
             if tp.topic == topic and m.offset > 0}  # fmt: skip
    client = redis_client(settings.redis)
    written: dict[int, int] = {}
    try:
        key = positions_key(comment_group(settings.app_id), topic)
        for partition, mark in sorted(marks.items()):
            if await client.hsetnx(key, str(partition), mark):
                written[partition] = mark
    finally:
        await client.aclose()
    return written


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    upgraded, current = asyncio.run(migrate(settings.redis, args.quiet))
    print(f"{upgraded} livestreams and shops upgraded, {current} already current")
    try:
        written = asyncio.run(carry_offsets(settings))
    except Exception as exc:  # Kafka away: the intake then starts from its fallback
        print(f"the comment intake's positions were not carried over ({exc}); with Kafka "
              "reachable, run chotdon migrate again", file=sys.stderr)  # fmt: skip
        return 0
    if written:
        print(f"the comment intake resumes where the agents' group committed: {written}")
    return 0
