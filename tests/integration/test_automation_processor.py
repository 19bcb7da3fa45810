"""The automation processor (stream/automation.py) on the real Redis, with the command processor
applying what it sends: events in, rules evaluated, commands out, acted on once."""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import redis.asyncio
from live_processes import DEMO_SHOP, redis_test_url

from config.loader import validate_document
from config.settings import Topics
from config.shop import ShopConfig
from orders.shop.store import ShopStore
from orders.store import DraftStore
from stream.automation import AutomationProcessor
from stream.pipeline import Record
from stream.staff import CommandProcessor

Json = dict[str, Any]
TOPICS = Topics()
AT = "2026-11-25T20:00:00+07:00"
RULES = """
[[rules]]
name = "page getfly: Lan"
on = "order_created"
when = { page = "getfly" }
do = [{ assign_owner = "lan" }, { set_status = "confirmed" }]

[[rules]]
name = "never fires: automation's moves are not evaluated"
on = "status_changed"
to = "confirmed"
do = [{ add_tag = "loop" }]

[[rules]]
name = "round robin owners"
on = "order_created"
when = { page = "shared" }
do = [{ assign_owner = { group = "sales" } }]

[[rules]]
name = "confirm"
on = "order_created"
do = [{ send_message = "order_confirmation" }]
"""


@dataclass
class Bus:
    """Messages handed to the producer, by topic; commands are applied as the agent would."""

    messages: list[tuple[str, bytes | None, bytes]] = field(default_factory=list)

    async def __call__(self, messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        self.messages.extend(messages)

    def take(self, topic: str) -> list[bytes]:
        taken = [value for t, _, value in self.messages if t == topic]
        self.messages = [m for m in self.messages if m[0] != topic]
        return taken


@dataclass
class Rig:
    shop: ShopConfig
    commands: CommandProcessor
    automation: AutomationProcessor
    shops: ShopStore
    bus: Bus
    offset: int = 0

    def record(self, topic: str, value: bytes) -> Record:
        self.offset += 1
        return Record(topic, 0, self.offset, None, value)

    async def command(self, **fields: Any) -> Json:
        fields.setdefault("command_id", uuid.uuid4().hex)
        fields.setdefault("staff_id", "lan")
        fields.setdefault("issued_at", AT)
        fields.setdefault("shop_id", self.shop.shop.id)
        outcome = await self.commands.handle(
            self.record(TOPICS.order_commands, orjson.dumps(fields))
        )
        assert outcome is not None
        return outcome.model_dump(mode="json")

    async def settle(self) -> int:
        """Feed order events to automation and its commands back, until quiet; commands sent."""
        sent = 0
        while events := self.bus.take(TOPICS.order_events):
            for value in events:
                await self.automation.handle(self.record(TOPICS.order_events, value))
            for value in self.bus.take(TOPICS.order_commands):
                sent += 1
                await self.commands.handle(self.record(TOPICS.order_commands, value))
        return sent

    async def chat_order(self, page: str, phone: str) -> str:
        conversation = uuid.uuid4().hex[:8]
        where = {"conversation_id": conversation}
        await self.command(type="chat_start", platform="facebook", page_id=page,
                           user_id=f"u{conversation}", customer_name="Khách",
                           customer_phone=phone, **where)  # fmt: skip
        await self.command(type="add_line", code="MP10", qty=1, **where)
        await self.command(type="set_customer", address="1 Lê Lợi", province="Huế", **where)
        done = await self.command(type="finalise", action="create", **where)
        assert done["status"] == "applied", done
        order_id: str = done["orders"][0]["order_id"]
        return order_id


@pytest.fixture
async def rig(redis_client: redis.asyncio.Redis) -> AsyncIterator[Rig]:
    text = DEMO_SHOP.read_text(encoding="utf-8").replace(
        'id = "shop-demo"', f'id = "auto-{uuid.uuid4().hex[:8]}"')  # fmt: skip
    shop = validate_document(ShopConfig, tomllib.loads(text + RULES), "shop.toml")
    drafts, shops = DraftStore(redis_client), ShopStore(redis_client)
    await drafts.load_functions()
    assert await shops.apply_config(shop) == []
    bus = Bus()
    yield Rig(shop, CommandProcessor(drafts, shops, bus, TOPICS),
              AutomationProcessor(shops, bus, TOPICS), shops, bus)  # fmt: skip


async def test_a_rule_acts_once_and_its_own_moves_fire_no_rule(rig: Rig) -> None:
    order_id = await rig.chat_order("getfly", "0912000001")
    assert await rig.settle() == 3  # owner, status, confirmation; no "loop" tag
    order = await rig.shops.order(rig.shop.shop.id, order_id)
    assert order is not None and order["status"] == "confirmed" and order["tags"] == []
    customer = await rig.shops.customer_of(rig.shop.shop.id, order_id=order_id)
    assert customer is not None and customer["owner"] == "lan"
    (message,) = [orjson.loads(v) for v in rig.bus.take(TOPICS.messages_outbound)]
    assert message["order_id"] == order_id and message["channel"] == "message"


async def test_an_event_delivered_twice_acts_once(rig: Rig) -> None:
    await rig.chat_order("elsewhere", "0912000002")
    (created,) = rig.bus.take(TOPICS.order_events)
    first = await rig.automation.handle(rig.record(TOPICS.order_events, created))
    again = await rig.automation.handle(rig.record(TOPICS.order_events, created))
    assert [c.command_id for c in first] == [c.command_id for c in again]
    for value in rig.bus.take(TOPICS.order_commands):
        await rig.commands.handle(rig.record(TOPICS.order_commands, value))
    sent = rig.bus.take(TOPICS.messages_outbound)
    assert len(sent) == 2 and sent[0] == sent[1]  # the same message, republished at least once
    log = await rig.shops.messages(rig.shop.shop.id)
    assert len(log) == 1  # decided and recorded once


async def test_round_robin_owners_are_fair(rig: Rig) -> None:
    for n in range(10):
        await rig.chat_order("shared", f"09120001{n:02d}")
        await rig.settle()
    customers = await rig.shops.customers(rig.shop.shop.id)
    owners = [c["owner"] for c in customers]
    assert sorted(owners) == ["lan"] * 5 + ["minh"] * 5


async def test_round_robin_continues_across_a_restart(rig: Rig, stack: Any) -> None:
    """Five owners picked, the worker replaced (new processors, new Redis connection), five
    more: the turn is kept in Redis, so the ten alternate exactly (a counter in memory would
    start over: six and four)."""
    for n in range(5):
        await rig.chat_order("shared", f"09120002{n:02d}")
        await rig.settle()
    fresh = redis.asyncio.Redis.from_url(redis_test_url(stack))
    try:
        drafts, shops = DraftStore(fresh), ShopStore(fresh)
        rig.commands = CommandProcessor(drafts, shops, rig.bus, TOPICS)
        rig.automation = AutomationProcessor(shops, rig.bus, TOPICS)
        rig.shops = shops
        for n in range(5, 10):
            await rig.chat_order("shared", f"09120002{n:02d}")
            await rig.settle()
        owners = [c["owner"] for c in await shops.customers(rig.shop.shop.id)]
    finally:
        await fresh.aclose()
    assert sorted(owners) == ["lan"] * 5 + ["minh"] * 5
