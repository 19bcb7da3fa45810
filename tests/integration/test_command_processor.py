"""The command processor (stream/staff.py) on the real Redis: commands as Kafka records in,
outcomes and events out, through both stores. Kafka itself is the e2e tests' business
(tests/e2e/test_finish_orders_e2e.py); here the published messages are collected as they are
handed to the producer, so every rule of the agent is checked quickly and exactly."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import redis.asyncio
from live_processes import DEMO_SHOP

from config.loader import load_shop
from config.settings import Topics
from orders.events import CommentEvent
from orders.model import draft_version
from orders.shop.store import ShopStore
from orders.store import DraftStore
from parsers import compile_grammar
from stream.pipeline import Record
from stream.staff import CommandProcessor

Json = dict[str, Any]
TOPICS = Topics()
AT = "2026-11-25T20:00:00+07:00"


@dataclass
class Published:
    messages: list[tuple[str, bytes | None, bytes]] = field(default_factory=list)

    async def __call__(self, messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        self.messages.extend(messages)

    def on(self, topic: str) -> list[Json]:
        return [orjson.loads(value) for t, _, value in self.messages if t == topic]


@dataclass
class Rig:
    processor: CommandProcessor
    drafts: DraftStore
    shops: ShopStore
    published: Published
    shop_id: str
    livestream: str
    offset: int = 0

    async def send(self, **command: Any) -> Json:
        command.setdefault("command_id", uuid.uuid4().hex)
        command.setdefault("staff_id", "lan")
        command.setdefault("issued_at", AT)
        return await self.record(orjson.dumps(command))

    async def record(self, value: bytes) -> Json:
        self.offset += 1
        record = Record(TOPICS.order_commands, 0, self.offset, b"k", value)
        outcome = await self.processor.handle(record)
        return {} if outcome is None else outcome.model_dump(mode="json")

    def draft(self, seq: int, **fields: Any) -> Json:
        return {"livestream_id": self.livestream, "seq": seq, **fields}


@pytest.fixture
async def rig(redis_client: redis.asyncio.Redis) -> AsyncIterator[Rig]:
    shop = load_shop(DEMO_SHOP)
    livestream = f"cmd-{uuid.uuid4().hex[:8]}"
    drafts, shops = DraftStore(redis_client), ShopStore(redis_client)
    await drafts.load_functions()
    assert await shops.apply_config(shop) == []
    await drafts.register_shop(shop, livestream)
    grammar = compile_grammar(shop)
    texts = [("u1", "Lan", "chốt A12 size M đỏ 2 cái 0912345678"),
             ("u2", "Minh", "chốt K2 10 cái 0987654321"),
             ("u3", "Hoa", "chốt K2 2 cái")]  # fmt: skip
    events = []
    for offset, (user, name, text) in enumerate(texts):
        parsed = grammar.parse(text, f"c{offset}")
        events.append(CommentEvent(
            comment_id=f"c{offset}", offset=offset, platform="facebook", user_id=user,
            user_name=name, created_at=AT, intent=parsed.intent, phone=parsed.phone,
            items=tuple(parsed.items), partition=0))  # fmt: skip
    await drafts.apply_batch(shop.shop.id, livestream, events)
    published = Published()
    processor = CommandProcessor(drafts, shops, published, TOPICS)
    yield Rig(processor, drafts, shops, published, shop.shop.id, livestream)


async def test_an_unreadable_command_is_a_dead_letter_with_the_reason(rig: Rig) -> None:
    assert await rig.record(b'{"type": "finalise", "command_id": "x"}') == {}
    (letter,) = rig.published.on(TOPICS.dead_letters)
    assert letter["reason"] == "invalid_command" and "staff_id" in letter["detail"]
    assert rig.published.on(TOPICS.command_outcomes) == []


async def test_finalise_lists_every_reason_then_creates_one_order(rig: Rig) -> None:
    refused = await rig.send(type="finalise", action="create", **rig.draft(1))
    assert refused["status"] == "refused"
    assert {r["code"] for r in refused["reasons"]} == {"missing_address", "missing_province"}
    set_customer = await rig.send(type="set_customer", address="9 Lê Duẩn", province="đà nẵng",
                                  **rig.draft(1))  # fmt: skip
    assert set_customer["draft"]["contact"]["province"] == "Thành phố Đà Nẵng"
    finalise = {"type": "finalise", "action": "send_to_store", "command_id": "fin-1",
                **rig.draft(1)}  # fmt: skip
    created = await rig.send(**finalise)
    (order,) = created["orders"]
    assert order["order_id"] == f"{rig.livestream}-1" and order["action"] == "send_to_store"
    assert order["status"] == "new" and order["total"] == 2 * 159000

    again = await rig.send(**finalise)  # redelivered: same outcome, still one order
    assert again["orders"] == created["orders"]
    assert [o["order_id"] for o in await rig.shops.orders(rig.shop_id)] == [order["order_id"]]
    outcomes = rig.published.on(TOPICS.command_outcomes)
    assert [o["status"] for o in outcomes] == ["refused", "applied", "applied", "applied"]
    assert {o["order_id"] for o in rig.published.on(TOPICS.orders)} == {order["order_id"]}


async def test_a_crash_between_the_draft_and_the_order_is_healed_by_redelivery(rig: Rig) -> None:
    await rig.send(type="set_customer", address="1 Nguyễn Huệ", province="HCM", **rig.draft(1))
    raw = await rig.drafts.draft_raw(rig.shop_id, rig.livestream, 1)
    assert raw is not None
    op = {"type": "finalise", "seq": 1, "at": AT, "staff": "lan", "action": "create",
          "expect": raw.decode(), "order_id": f"{rig.livestream}-1"}  # fmt: skip
    # The worker applied the finalise in Redis, then died before the shop had the order.
    await rig.drafts.apply_draft_command(rig.shop_id, rig.livestream, "fin-crash", op)
    assert await rig.shops.orders(rig.shop_id) == []
    outcome = await rig.send(type="finalise", action="create", command_id="fin-crash",
                             **rig.draft(1))  # fmt: skip
    assert outcome["status"] == "applied"
    assert [o["order_id"] for o in await rig.shops.orders(rig.shop_id)] == [f"{rig.livestream}-1"]


async def test_released_units_serve_the_waitlist_and_publish_its_draft(rig: Rig) -> None:
    reduced = await rig.send(type="set_quantity", line=1, qty=7, **rig.draft(2))
    assert reduced["draft"]["lines"][0]["reserved"] == 7
    events = {e["seq"]: e["draft"] for e in rig.published.on(TOPICS.draft_events)}
    assert events[3]["lines"][0]["reserved"] == 2  # Hoa waited for K2; now she holds both


async def test_staff_not_on_the_shops_list_are_refused(rig: Rig) -> None:
    outcome = await rig.send(type="assign", assignee="ghost", staff_id="intruder", **rig.draft(1))
    assert [(r["code"], r["field"]) for r in outcome["reasons"]] == [
        ("unknown_staff", "staff_id"), ("unknown_staff", "assignee")]  # fmt: skip


async def test_status_moves_follow_the_workflow_and_are_order_events(rig: Rig) -> None:
    await rig.send(type="set_customer", address="2 Hùng Vương", province="Huế", **rig.draft(1))
    await rig.send(type="finalise", action="create", **rig.draft(1))
    order_id = f"{rig.livestream}-1"
    moved = await rig.send(type="change_status", order_ids=[order_id], to="confirmed")
    assert moved["orders"][0]["status"] == "confirmed"
    illegal = await rig.send(type="change_status", order_ids=[order_id], to="returned")
    assert [r["code"] for r in illegal["reasons"]] == ["illegal_transition"]
    events = rig.published.on(TOPICS.order_events)
    assert [(e["kind"], e["from"], e["to"]) for e in events] == [
        ("created", None, "new"), ("status_changed", "new", "confirmed")]  # fmt: skip


async def test_a_command_the_store_refuses_for_good_blocks_nothing_after_it(
    rig: Rig, redis_client: redis.asyncio.Redis
) -> None:
    """Damaged state (an open view without its customer's draft) makes the Redis Function
    fail: the command is answered and dead-lettered, and the next command is applied."""
    view = f"chotdon:{{{rig.shop_id}:{rig.livestream}}}:view"
    ghost = {"seq": 99, "status": "open", "customer": {"user_id": "nobody"}}
    await redis_client.hset(view, "99", orjson.dumps(ghost))
    broken = await rig.send(type="assign", assignee="minh", **rig.draft(99))
    assert [r["code"] for r in broken["reasons"]] == ["store_error"]
    (letter,) = rig.published.on(TOPICS.dead_letters)
    assert letter["reason"] == "store_refused" and "predates" in letter["detail"]
    fine = await rig.send(type="assign", assignee="minh", **rig.draft(1))
    assert fine["status"] == "applied" and fine["draft"]["staff"] == "minh"


async def test_outcomes_are_kept_a_month_then_expire(
    rig: Rig, redis_client: redis.asyncio.Redis
) -> None:
    """The record that makes a command act once outlives any redelivery (Kafka keeps a week)
    and does not grow the store forever."""
    await rig.send(type="blacklist", shop_id=rig.shop_id, phone="0912345678", command_id="bl-1")
    ttl = await redis_client.ttl(f"chotdon:{{{rig.shop_id}}}:cmd:bl-1")
    assert 29 * 24 * 3600 < ttl <= 30 * 24 * 3600
    again = await rig.send(type="blacklist", shop_id=rig.shop_id, phone="0912345678",
                           command_id="bl-1")  # fmt: skip
    assert again["status"] == "applied"


async def test_an_order_id_that_names_no_livestream_asks_for_the_shop(rig: Rig) -> None:
    outcome = await rig.send(type="change_status", order_ids=["conv-9-1"], to="confirmed")
    assert [(r["code"], r["field"]) for r in outcome["reasons"]] == [("shop_unknown", "shop_id")]
    assert "--shop-id" in outcome["reasons"][0]["en"]


async def test_two_staff_on_one_draft_the_second_is_refused_not_overwriting(rig: Rig) -> None:
    """Both read version v; Lan's edit applies and makes a new version; Minh's, sent on v,
    is refused with `draft_changed` and the draft as it is now, changing nothing."""
    raw = await rig.drafts.draft_raw(rig.shop_id, rig.livestream, 1)
    assert raw is not None
    seen = draft_version(orjson.loads(raw))
    lan = await rig.send(type="set_customer", address="1 Lê Lợi", expect_version=seen,
                         **rig.draft(1))  # fmt: skip
    assert lan["status"] == "applied"
    minh = await rig.send(type="set_customer", address="99 Trần Phú", staff_id="minh",
                          expect_version=seen, **rig.draft(1))  # fmt: skip
    assert [(r["code"], r["field"]) for r in minh["reasons"]] == [
        ("draft_changed", "expect_version")]  # fmt: skip
    assert minh["draft"]["contact"]["address"] == "1 Lê Lợi"
    assert draft_version(minh["draft"]) == draft_version(lan["draft"]) != seen
    finalise = await rig.send(type="finalise", action="save", expect_version=seen,
                              **rig.draft(1))  # fmt: skip
    assert [r["code"] for r in finalise["reasons"]] == ["draft_changed"]
    now = await rig.send(type="set_quantity", line=1, qty=1,
                         expect_version=draft_version(lan["draft"]), **rig.draft(1))  # fmt: skip
    assert now["status"] == "applied" and now["draft"]["lines"][0]["qty"] == 1


async def test_a_chat_draft_checks_its_version_inside_the_transaction(rig: Rig) -> None:
    start = await rig.send(type="chat_start", shop_id=rig.shop_id, conversation_id="conv-v",
                           platform="facebook", customer_name="Bích")  # fmt: skip
    seen = draft_version(start["draft"])
    chat = {"shop_id": rig.shop_id, "conversation_id": "conv-v"}
    first = await rig.send(type="add_custom_line", name="Quà", price=1000, expect_version=seen,
                           **chat)  # fmt: skip
    assert first["status"] == "applied"
    second = await rig.send(type="add_custom_line", name="Quà 2", price=1000,
                            expect_version=seen, **chat)  # fmt: skip
    assert [r["code"] for r in second["reasons"]] == ["draft_changed"]
    assert [line["name"] for line in second["draft"]["lines"]] == ["Quà"]


class CountingConnection(redis.asyncio.Connection):
    """Counts what is sent to Redis: one write per command, pipeline or transaction, i.e. one
    round trip each (as benchmarks/command_bench.py counts them)."""

    sent = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


async def test_a_finalise_takes_three_round_trips_and_a_redelivery_two(
    rig: Rig, redis_client: redis.asyncio.Redis
) -> None:
    """The livestream with the draft; the finalise with the shop's read beside it; the order's
    commit. A redelivered finalise finds its order in that read and writes nothing more."""
    for seq in (1, 2):
        await rig.send(type="set_customer", address="1 Lê Lợi", province="HCM", **rig.draft(seq))
    kwargs = dict(redis_client.connection_pool.connection_kwargs)
    pool = redis.asyncio.ConnectionPool(connection_class=CountingConnection, **kwargs)
    client = redis.asyncio.Redis(connection_pool=pool)
    counted = Rig(CommandProcessor(DraftStore(client), ShopStore(client), rig.published, TOPICS),
                  rig.drafts, rig.shops, rig.published, rig.shop_id, rig.livestream)  # fmt: skip
    try:
        # once per process: the livestream's shop (then cached) and the shop's library
        first = await counted.send(type="finalise", action="create", **rig.draft(1))
        assert first["status"] == "applied"
        before = CountingConnection.sent
        second = await counted.send(type="finalise", action="create", command_id="fin-2",
                                    **rig.draft(2))  # fmt: skip
        assert CountingConnection.sent - before == 3
        assert second["status"] == "applied" and second["orders"][0]["customer"]["customer_id"]
        before = CountingConnection.sent
        again = await counted.send(type="finalise", action="create", command_id="fin-2",
                                   **rig.draft(2))  # fmt: skip
        assert CountingConnection.sent - before == 2
        assert again["orders"] == second["orders"]
    finally:
        await client.aclose()
    orders = await rig.shops.orders(rig.shop_id)
    assert [o["order_id"] for o in orders] == [f"{rig.livestream}-1", f"{rig.livestream}-2"]
    assert orders[1] == second["orders"][0]


async def test_finalise_on_a_redis_cluster(cluster_client: redis.asyncio.Redis) -> None:
    """The finalise and the shop's read go in one pipeline though their keys are in two hash
    tags (two slots): on a Cluster each goes to its node; a master that lost its functions
    gets them again."""
    from redis.asyncio.cluster import RedisCluster

    shop = load_shop(DEMO_SHOP)
    livestream = f"cmd-{uuid.uuid4().hex[:8]}"
    drafts, shops = DraftStore(cluster_client), ShopStore(cluster_client)
    assert await shops.apply_config(shop) == []
    await drafts.register_shop(shop, livestream)
    grammar = compile_grammar(shop)
    events = []
    for offset, (user, text) in enumerate([("u1", "chốt A12 size M đỏ 2 cái 0912345678"),
                                           ("u2", "chốt K2 1 cái 0987654321")]):  # fmt: skip
        parsed = grammar.parse(text, f"c{offset}")
        events.append(CommentEvent(
            comment_id=f"c{offset}", offset=offset, platform="facebook", user_id=user,
            user_name=user, created_at=AT, intent=parsed.intent, phone=parsed.phone,
            items=tuple(parsed.items), partition=0))  # fmt: skip
    await drafts.apply_batch(shop.shop.id, livestream, events)
    published = Published()
    rig = Rig(CommandProcessor(drafts, shops, published, TOPICS), drafts, shops, published,
              shop.shop.id, livestream)  # fmt: skip
    for seq in (1, 2):
        await rig.send(type="set_customer", address="1 Lê Lợi", province="HCM", **rig.draft(seq))
    for _ in range(2):  # the second: a redelivery
        outcome = await rig.send(type="finalise", action="create", command_id="fin-1",
                                 **rig.draft(1))  # fmt: skip
        assert outcome["status"] == "applied", outcome
    (order,) = await shops.orders(shop.shop.id)
    assert order["order_id"] == f"{livestream}-1" and order["customer"]["customer_id"] == "C-1"
    assert (await shops.customer(shop.shop.id, "C-1"))["orders"] == [order["order_id"]]  # type: ignore[index]
    await cluster_client.execute_command("FUNCTION FLUSH", target_nodes=RedisCluster.PRIMARIES)
    lists = await cluster_client.execute_command(
        "FUNCTION LIST", target_nodes=RedisCluster.PRIMARIES
    )
    assert len(lists) == 3 and not any(lists.values())  # three masters, none with a library
    second = await rig.send(type="finalise", action="create", **rig.draft(2))
    assert second["status"] == "applied", second
    assert second["orders"][0]["customer"]["customer_id"] == "C-2"
    assert {o["order_id"] for o in published.on(TOPICS.orders)} == {
        order["order_id"], f"{livestream}-2"}  # fmt: skip


async def test_a_cancelled_draft_is_not_finalised_into_an_order(rig: Rig) -> None:
    """Its contact incomplete: nothing is read for an order that cannot be."""
    cancelled = await rig.send(type="finalise", action="cancel", **rig.draft(3))
    assert cancelled["status"] == "applied" and cancelled["draft"]["status"] == "cancelled"
    refused = await rig.send(type="finalise", action="create", **rig.draft(3))
    assert refused["status"] == "refused"
    assert [r["code"] for r in refused["reasons"]] == ["draft_not_open"]
    assert await rig.shops.orders(rig.shop_id) == []


async def test_a_finalise_after_redis_lost_its_functions_loads_them_again(
    rig: Rig, redis_client: redis.asyncio.Redis
) -> None:
    """A server restarted without its data lacks both libraries: each call of the pipeline that
    finds its function missing loads its library and is sent again."""
    for seq in (1, 2):
        await rig.send(type="set_customer", address="1 Lê Lợi", province="HCM", **rig.draft(seq))
    assert (await rig.send(type="finalise", action="create", **rig.draft(1)))["status"] == "applied"
    await redis_client.function_flush()
    outcome = await rig.send(type="finalise", action="create", **rig.draft(2))
    assert outcome["status"] == "applied", outcome
    assert len(await rig.shops.orders(rig.shop_id)) == 2
    listed = [dict(zip(e[::2], e[1::2], strict=True)) for e in await redis_client.function_list()]
    libraries = {entry[b"library_name"] for entry in listed}
    assert libraries == {b"chotdon", b"chotdon_shop"}


class InterruptedDrafts(DraftStore):
    """Another staff member changes the draft between this processor's read and its finalise."""

    changes = 0
    reads_again = 0

    async def draft_raw(self, *args: Any) -> bytes | None:
        self.reads_again += 1
        return await super().draft_raw(*args)

    async def livestream_info_and_draft(self, livestream_id: str, seq: int) -> Any:
        read = await super().livestream_info_and_draft(livestream_id, seq)
        info = read[0]
        self.changes += 1
        op = {"type": "set_customer", "seq": seq, "at": AT, "staff": "minh",
              "contact": {"note": f"gọi trước khi giao ({self.changes})"}}  # fmt: skip
        await self.apply_draft_command(info.shop_id, livestream_id, f"note-{self.changes}", op)
        return read


async def test_a_draft_changed_under_the_finalise_is_read_again_and_finalised_once(
    rig: Rig, redis_client: redis.asyncio.Redis
) -> None:
    """The finalise answers stale (the order's read beside it wasted), the draft is read and
    checked again, and the order has what the draft had when it was finalised."""
    await rig.send(type="set_customer", address="1 Lê Lợi", province="HCM", **rig.draft(1))
    drafts = InterruptedDrafts(redis_client)
    interrupted = Rig(CommandProcessor(drafts, rig.shops, rig.published, TOPICS), drafts,
                      rig.shops, rig.published, rig.shop_id, rig.livestream)  # fmt: skip
    outcome = await interrupted.send(type="finalise", action="create", command_id="fin-1",
                                     **rig.draft(1))  # fmt: skip
    assert outcome["status"] == "applied", outcome
    assert drafts.reads_again == 1  # answered stale once
    (order,) = await rig.shops.orders(rig.shop_id)
    assert order["customer"]["note"] == "gọi trước khi giao (1)"
    assert outcome["orders"] == [order] and outcome["draft"]["order_id"] == order["order_id"]
    customer = await rig.shops.customer(rig.shop_id, order["customer"]["customer_id"])
    assert customer is not None and customer["orders"] == [order["order_id"]]
