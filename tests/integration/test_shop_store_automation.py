"""The shop store's automation side through a real Redis: owners and assignees by round-robin,
tags, the customers' messaging state and message log, and the automation's draft memory."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis.asyncio
from test_shop_store import (
    CONTACT,
    PRODUCTS,
    SHOP,
    WF,
    an_order,
    at,
    codes,
    merge,
    no_problems,
    put,
)

from orders.commands import (
    AssignOrder,
    AssignOwner,
    ChatStart,
    InboundMessage,
    SendMessage,
    TagOrder,
)
from orders.reasons import reason
from orders.shop.store import ShopResult, ShopStore, shop_prefix
from orders.store import registry_key

Json = dict[str, Any]
AUTO = "automation"
SALES = ["an", "binh", "chi", "dung"]


@pytest.fixture
async def store(redis_client: redis.asyncio.Redis) -> ShopStore:
    return ShopStore(redis_client)


def url_of(client: redis.asyncio.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"


def owner_cmd(cid: str, **who: Any) -> AssignOwner:
    who.setdefault("shop_id", SHOP)
    if "owner" not in who:
        who.setdefault("group", "sales")
    return AssignOwner(command_id=cid, staff_id=AUTO, issued_at=at(45), **who)


def order_cmd(cid: str, order_id: str = "L1-1", **how: Any) -> AssignOrder:
    how.setdefault("shop_id", SHOP)
    if "assignee" not in how:
        how.setdefault("group", "sales")
    return AssignOrder(command_id=cid, staff_id=AUTO, issued_at=at(46), order_id=order_id, **how)


def assignee(result: ShopResult) -> str:
    assert result.status == "applied", result.reasons
    return str(result.orders[0]["staff"]["assigned"])


def owner(result: ShopResult) -> str:
    assert result.status == "applied" and result.customer is not None, result.reasons
    return str(result.customer["owner"])


def fair(counts: Counter[str], members: Sequence[str]) -> bool:
    every = [counts[m] for m in members]
    return sum(every) == counts.total() and max(every) - min(every) <= 1


# -- commands --------------------------------------------------------------------------------


def test_the_new_commands_check_their_addresses() -> None:
    base: Json = {"command_id": "c", "staff_id": AUTO, "issued_at": at(0), "shop_id": SHOP}
    assert AssignOwner(**base, order_id="L1-1", owner="an").key == SHOP
    assert AssignOwner(**base, platform="facebook", user_id="u1", group="sales").key == SHOP
    for bad in ({"owner": "an"}, {"order_id": "L1-1"}, {"order_id": "L1-1", "owner": "an",
                                                        "group": "sales"},
                {"platform": "facebook", "owner": "an"}):  # fmt: skip
        with pytest.raises(ValueError):
            AssignOwner(**base, **bad)
    assert AssignOrder(**base, order_id="L1-1", assignee="an").key == "L1-1"
    with pytest.raises(ValueError):
        AssignOrder(**base, order_id="L1-1")
    assert TagOrder(**base, order_id="L1-1", tag="vip").key == "L1-1"
    assert SendMessage(**base, template="t", order_id="L1-1").key == "L1-1"
    assert SendMessage(**base, template="t", livestream_id="L1", seq=3, line=2).key == "L1"
    wrong: list[Json] = [{}, {"order_id": "L1-1", "livestream_id": "L1", "seq": 3},
                         {"livestream_id": "L1"}, {"seq": 3},
                         {"order_id": "L1-1", "seq": 3}]  # fmt: skip
    for about in wrong:
        with pytest.raises(ValueError):
            SendMessage(**base, template="t", **about)
    inbound = {**base, "platform": "facebook", "user_id": "u1"}
    assert InboundMessage(**inbound, at="2026-03-01T10:00:00Z").key == SHOP
    with pytest.raises(ValueError):
        InboundMessage(**inbound, at="2026-03-01T10:00:00")  # no offset


# -- round-robin -----------------------------------------------------------------------------


async def test_round_robin_is_fair_and_continues_after_a_restart(
    redis_client: redis.asyncio.Redis,
) -> None:
    url = url_of(redis_client)
    picks: list[str] = []
    async with ShopStore.connect(url) as first:
        await put(first, an_order("L1", 1), an_order("L1", 2))
        for n in range(250):
            picks.append(assignee(await first.assign_order(order_cmd(f"a{n}", f"L1-{n % 2 + 1}"),
                                                           SALES)))  # fmt: skip
    assert picks[:6] == ["an", "binh", "chi", "dung", "an", "binh"]
    assert fair(Counter(picks), SALES)
    async with ShopStore.connect(url) as second:
        for n in range(250, 401):
            picks.append(assignee(await second.assign_order(
                order_cmd(f"a{n}", f"L1-{n % 2 + 1}"), SALES)))  # fmt: skip
    assert picks[250] == SALES[250 % 4]  # the turn survived the new client
    assert picks == [SALES[n % 4] for n in range(401)]
    assert Counter(picks) == {"an": 101, "binh": 100, "chi": 100, "dung": 100}


async def test_round_robin_stays_fair_under_concurrent_commands(store: ShopStore) -> None:
    results = await asyncio.gather(*(
        store.assign_owner(owner_cmd(f"o{n}", platform="facebook", user_id=f"u{n}"), SALES)
        for n in range(30)
    ))  # fmt: skip
    counts = Counter(owner(r) for r in results)
    assert fair(counts, SALES) and counts.total() == 30
    customers = await store.customers(SHOP)
    assert len({c["customer_id"] for c in customers}) == 30  # each person one new record


async def test_a_repeated_command_gives_the_same_pick_and_takes_no_turn(
    store: ShopStore, redis_client: redis.asyncio.Redis
) -> None:
    await put(store, an_order("L1", 1, staff="khoa"))
    first = await store.assign_order(order_cmd("a1"), SALES)
    assert assignee(first) == "an"
    assert first.events == [{"v": 1, "kind": "assigned", "order_id": "L1-1", "shop_id": SHOP,
                             "from": "khoa", "to": "an", "staff": AUTO, "at": at(46),
                             "command_id": "a1"}]  # fmt: skip
    for members in (SALES, ["zed"], None):  # even when the group changed meanwhile
        again = await store.assign_order(order_cmd("a1"), members)
        assert again.duplicate and assignee(again) == "an" and again.events == first.events
    turns = await redis_client.hget(f"{shop_prefix(SHOP)}:rr", "order:sales")
    assert turns == b"1"
    assert assignee(await store.assign_order(order_cmd("a2"), SALES)) == "binh"
    # owners take their own turns in the same group
    await store.assign_owner(owner_cmd("o1", order_id="L1-1"), SALES)
    assert (await store.customer(SHOP, "C-1"))["owner"] == "an"  # type: ignore[index]


async def test_a_group_unknown_or_empty_is_refused_and_stored(store: ShopStore) -> None:
    await put(store, an_order("L1", 1))
    unknown = await store.assign_order(order_cmd("a1", group="kho"), None)
    assert unknown.reasons == [reason("unknown_group", "group", group="kho")]
    empty = await store.assign_owner(owner_cmd("o1", order_id="L1-1", group="kho"), [])
    assert codes(empty) == ["empty_group"]
    assert (await store.assign_order(order_cmd("a1", group="kho"), SALES)).status == "refused"
    missing = await store.assign_order(order_cmd("a2", "L9-9"), SALES)
    assert codes(missing) == ["order_not_found"]
    assert (await store.order(SHOP, "L1-1"))["staff"]["assigned"] == "an"  # type: ignore[index]


# -- owners ----------------------------------------------------------------------------------


async def test_assign_owner_creates_the_customer_a_draft_names(store: ShopStore) -> None:
    """A rule on a new draft comes before any order: the person gets a record with an owner,
    and their first order joins it."""
    result = await store.assign_owner(owner_cmd("o1", platform="tiktok", user_id="x9",
                                                phone="0912 345 678", owner="chi"))  # fmt: skip
    assert result.status == "applied" and result.customer is not None
    customer = result.customer
    assert (customer["customer_id"], customer["owner"], customer["orders"]) == ("C-1", "chi", [])
    assert customer["platform_ids"] == ["tiktok:x9"] and customer["phones"] == ["0912345678"]
    assert result.events == [{"v": 1, "kind": "owner_assigned", "order_id": None,
                              "shop_id": SHOP, "customer_id": "C-1", "from": None,
                              "owner": "chi", "staff": AUTO, "at": at(45),
                              "command_id": "o1"}]  # fmt: skip
    assert await store.customer_of(SHOP, platform="tiktok", user_id="x9") == customer
    assert await store.customer_of(SHOP, phone="+84912345678") == customer
    flags = await store.customer_flags(SHOP, ["tiktok:x9"], ["0912345678"])
    assert len(flags) == 2
    (stored,) = await put(store, an_order("L1", 1, user="x9", platform="tiktok"))
    assert stored["customer"]["customer_id"] == "C-1"
    lan = await store.customer_of(SHOP, order_id="L1-1")
    assert lan is not None and lan["owner"] == "chi" and lan["orders"] == ["L1-1"]
    assert await store.customer_of(SHOP, platform="facebook", user_id="nobody") is None
    assert await store.customer_of(SHOP, phone="12345") is None
    assert await store.customer_of(SHOP, order_id="L9-9") is None


async def test_assign_owner_finds_the_order_s_customer_and_can_keep_one(
    store: ShopStore, redis_client: redis.asyncio.Redis
) -> None:
    await put(store, an_order("L1", 1), an_order("L1", 2, user="u2", phone="0987654321"))
    first = await store.assign_owner(owner_cmd("o1", order_id="L1-2"), SALES)
    assert owner(first) == "an" and first.customer["customer_id"] == "C-2"  # type: ignore[index]
    assert first.events[0]["order_id"] == "L1-2"
    kept = await store.assign_owner(owner_cmd("o2", order_id="L1-2", keep_existing=True), SALES)
    assert owner(kept) == "an" and kept.events == []
    assert await redis_client.hget(f"{shop_prefix(SHOP)}:rr", "owner:sales") == b"1"
    moved = await store.assign_owner(owner_cmd("o3", platform="facebook", user_id="u2",
                                               owner="dung"))  # fmt: skip
    assert owner(moved) == "dung" and moved.events[0]["from"] == "an"
    same = await store.assign_owner(owner_cmd("o4", phone="0987654321", owner="dung"))
    assert owner(same) == "dung" and same.events == []  # no change, no event
    nothing = await store.assign_owner(owner_cmd("o5", order_id="L9-9", owner="an"))
    assert codes(nothing) == ["order_not_found"]
    bad = await store.assign_owner(owner_cmd("o6", phone="123", owner="an"))
    assert codes(bad) == ["invalid_phone"]
    assert [c["owner"] for c in await store.customers(SHOP)] == [None, "dung"]


# -- assignees and tags ----------------------------------------------------------------------


async def test_assign_order_keeps_an_assignee_when_asked(store: ShopStore) -> None:
    await put(store, an_order("L1", 1, staff="khoa"))
    kept = await store.assign_order(order_cmd("a1", keep_existing=True), SALES)
    assert assignee(kept) == "khoa" and kept.events == []
    named = await store.assign_order(order_cmd("a2", assignee="binh"))
    assert assignee(named) == "binh" and named.events[0]["from"] == "khoa"
    assert [o["order_id"] for o in await store.orders(SHOP, staff="binh")] == ["L1-1"]
    assert (await store.order(SHOP, "L1-1"))["updated_at"] == at(46)  # type: ignore[index]


async def test_a_tag_is_added_once(store: ShopStore, redis_client: redis.asyncio.Redis) -> None:
    await put(store, an_order("live-7", 1), an_order("live-7", 2), an_order("live-7", 3))
    await redis_client.hset(registry_key("live-7"), "shop_id", SHOP)

    def tag(cid: str, label: str, order_id: str = "live-7-1") -> TagOrder:
        return TagOrder(command_id=cid, staff_id=AUTO, issued_at=at(47), order_id=order_id,
                        tag=label)  # fmt: skip

    first = await store.tag_order(tag("t1", "vip"))
    assert first.status == "applied" and first.orders[0]["tags"] == ["vip"]
    assert first.events == [{"v": 1, "kind": "tagged", "order_id": "live-7-1", "shop_id": SHOP,
                             "from": None, "to": "vip", "staff": AUTO, "at": at(47),
                             "command_id": "t1"}]  # fmt: skip
    again = await store.tag_order(tag("t2", "vip"))
    assert again.status == "applied" and again.events == [] and again.orders[0]["tags"] == ["vip"]
    assert (await store.tag_order(tag("t1", "vip"))).duplicate
    await store.tag_order(tag("t3", "web"))
    await store.tag_order(tag("t4", "gấp", "live-7-2"))
    assert (await store.order(SHOP, "live-7-1"))["tags"] == ["vip", "web"]  # type: ignore[index]
    merged = await store.merge(merge("m1", ["live-7-1", "live-7-2"]), WF)
    assert merged.orders[0]["tags"] == ["vip", "web", "gấp"]
    closed = await store.tag_order(tag("t5", "x", "live-7-1"))
    assert codes(closed) == ["already_merged"]
    assert codes(await store.tag_order(tag("t6", "x", "nolive-1"))) == ["order_not_found"]


# -- messages --------------------------------------------------------------------------------

DAY1 = "2026-03-01T09:00:00+07:00"


def later(hours: float, start: str = DAY1) -> str:
    return (datetime.fromisoformat(start) + timedelta(hours=hours)).isoformat()


def facebook_rules(message: Json) -> Callable[[Json], tuple[str, str] | None]:
    """A stand-in for the window rules (orders/automation/messages.py decides for real)."""

    channel = {"channel": message["channel"], "comment_id": message["comment_id"]}

    def check(state: Json) -> tuple[str, str] | Json:
        if message["channel"] == "private_reply":
            if message["comment_id"] in state["replied"]:
                return "already_replied", "this comment was answered privately already"
            return channel
        last = state["last_inbound_at"]
        sent_at = datetime.fromisoformat(message["at"])
        if last is None or sent_at - datetime.fromisoformat(last) > timedelta(hours=24):
            return "outside_24h", "the customer has not written in the last 24 hours"
        return channel

    return check


def a_message(cid: str, *, channel: str = "message", comment: str | None = None,
              when: str = DAY1, user: str = "u1") -> Json:  # fmt: skip
    return {"v": 1, "message_id": cid, "shop_id": SHOP, "platform": "facebook",
            "user_id": user, "channel": channel, "comment_id": comment,
            "template": "order_confirmed", "text": "Shop đã nhận đơn của bạn", "order_id": "L1-1",
            "livestream_id": None, "seq": None, "at": when}  # fmt: skip


async def send(store: ShopStore, message: Json) -> ShopResult:
    return await store.record_message(SHOP, message["message_id"], message,
                                      facebook_rules(message))  # fmt: skip


def inbound(cid: str, when: str, user: str = "u1") -> InboundMessage:
    return InboundMessage(command_id=cid, staff_id="inbox", issued_at=when, shop_id=SHOP,
                          platform="facebook", user_id=user, conversation_id=f"t_{user}",
                          at=when)  # fmt: skip


async def test_messages_follow_the_inbox_state_and_are_logged(store: ShopStore) -> None:
    early = await send(store, a_message("m1"))
    assert early.status == "refused"
    why = "the customer has not written in the last 24 hours"
    assert early.reasons == [reason("message_not_allowed", None, reason=why)]
    assert early.message is not None and early.message["sent"] is False
    assert early.message["reason_code"] == "outside_24h"
    assert await store.inbox_state(SHOP, "facebook", "u1") is None

    assert (await store.record_inbound(inbound("i1", later(1)))).status == "applied"
    assert (await store.record_inbound(inbound("i0", DAY1))).status == "applied"  # late, older
    assert await store.inbox_state(SHOP, "facebook", "u1") == {
        "last_inbound_at": later(1), "conversation_id": "t_u1", "replied": []}  # fmt: skip
    ok = await send(store, a_message("m2", when=later(20)))
    assert ok.status == "applied" and ok.message == {**a_message("m2", when=later(20)),
                                                     "sent": True, "reason_code": None,
                                                     "reason": None}  # fmt: skip
    closed = await send(store, a_message("m3", when=later(26)))
    assert codes(closed) == ["message_not_allowed"]

    reply = await send(store, a_message("m4", channel="private_reply", comment="c1"))
    assert reply.status == "applied"
    twice = await send(store, a_message("m5", channel="private_reply", comment="c1"))
    assert twice.message["reason_code"] == "already_replied"  # type: ignore[index]
    state = await store.inbox_state(SHOP, "facebook", "u1")
    assert state is not None and state["replied"] == ["c1"]

    repeat = await send(store, a_message("m2", when=later(20)))
    assert repeat.duplicate and repeat.message == ok.message
    log = await store.messages(SHOP)
    assert [(m["message_id"], m["sent"], m["reason_code"]) for m in log] == [
        ("m1", False, "outside_24h"), ("m2", True, None), ("m3", False, "outside_24h"),
        ("m4", True, None), ("m5", False, "already_replied"),
    ]  # fmt: skip
    assert [m["message_id"] for m in await store.messages(SHOP, limit=2)] == ["m4", "m5"]
    assert await store.messages(SHOP, limit=0) == []
    outcome = ok.outcome("m2", "send_message")
    assert outcome.message == ok.message
    assert (await store.outcome(SHOP, "m5")).message["sent"] is False  # type: ignore[union-attr,index]


async def test_one_private_reply_per_comment_even_when_two_race(store: ShopStore) -> None:
    results = await asyncio.gather(*(
        send(store, a_message(f"r{n}", channel="private_reply", comment="c9")) for n in range(6)
    ))  # fmt: skip
    assert sorted(r.status for r in results) == ["applied"] + ["refused"] * 5
    assert [m["sent"] for m in await store.messages(SHOP)].count(True) == 1


async def test_the_check_sees_a_copy_and_a_private_reply_needs_its_comment(
    store: ShopStore,
) -> None:
    def meddle(state: Json) -> Json:
        state["replied"].append("forged")
        return {"channel": "private_reply", "comment_id": "c1"}

    message = a_message("m1", channel="private_reply", comment="c1")
    await store.record_message(SHOP, "m1", message, meddle)
    assert (await store.inbox_state(SHOP, "facebook", "u1"))["replied"] == ["c1"]  # type: ignore[index]
    with pytest.raises(ValueError):
        await store.record_message(SHOP, "m2", a_message("m2", channel="private_reply"),
                                   lambda state: {"channel": "private_reply"})  # fmt: skip
    with pytest.raises(ValueError):
        await store.record_message(SHOP, "other-id", a_message("m3"), facebook_rules(message))


# -- chats from a website, and the inbound message they mean ----------------------------------


async def test_a_website_chat_order_keeps_its_site_and_opens_the_window(
    store: ShopStore,
) -> None:
    started = await store.chat_start(ChatStart(
        command_id="s1", staff_id="an", issued_at=at(10), shop_id=SHOP, conversation_id="web7",
        platform="website", user_id="visitor-9", customer_name="Lan",
        website="https://shop.example.vn",
    ))  # fmt: skip
    assert started.draft is not None and started.draft["website"] == "https://shop.example.vn"
    state = await store.inbox_state(SHOP, "website", "visitor-9")
    assert state == {"last_inbound_at": at(10), "conversation_id": "web7", "replied": []}
    ops: list[Json] = [{"type": "add_line", "code": "MP10"},
                       {"type": "set_customer", "contact": CONTACT},
                       {"type": "finalise", "action": "create"}]  # fmt: skip
    for n, op in enumerate(ops):
        result = await store.chat_command(SHOP, "web7", f"w{n}", {**op, "staff": "an",
                                                                  "at": at(11)},
                                          PRODUCTS, no_problems)  # fmt: skip
        assert result.status == "applied", result.reasons
    (order,) = result.orders
    assert order["source"] == {"platform": "website", "page_id": None, "livestream_id": None,
                               "conversation_id": "web7",
                               "website": "https://shop.example.vn"}  # fmt: skip
    assert order["tags"] == []
    anonymous = await store.chat_start(ChatStart(
        command_id="s2", staff_id="an", issued_at=at(12), shop_id=SHOP, conversation_id="c2",
        platform="facebook", user_id=None,
    ))  # fmt: skip
    assert anonymous.status == "applied" and anonymous.draft["website"] is None  # type: ignore[index]


# -- automation memory -----------------------------------------------------------------------


async def test_remember_draft_answers_the_previous_snapshot(
    store: ShopStore, redis_client: redis.asyncio.Redis
) -> None:
    one = {"seq": 3, "status": "open", "lines": [{"code": "A12", "waitlist": 2}]}
    two = {"seq": 3, "status": "open", "lines": [{"code": "A12", "waitlist": None}]}
    assert await store.remember_draft(SHOP, "L1", 3, one) is None
    assert await store.remember_draft(SHOP, "L1", 3, two) == one
    assert await store.remember_draft(SHOP, "L1", 3, two) == two
    assert await store.remember_draft(SHOP, "L1", 4, one) is None
    assert await store.remember_draft(SHOP, "L2", 3, one) is None
    assert await store.remember_draft("shop2", "L1", 3, one) is None
    key = f"{shop_prefix(SHOP)}:autodrafts:L1"
    assert 0 < await redis_client.ttl(key) <= 30 * 24 * 3600
    await redis_client.script_flush()  # a restarted Redis forgets scripts: loaded again
    assert await store.remember_draft(SHOP, "L1", 4, two) == one
    with pytest.raises(ValueError):
        await store.remember_draft(SHOP, "L{1}", 1, one)
