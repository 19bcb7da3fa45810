"""The shop store through a real Redis (tests/conftest.py `redis_client`): orders, statuses,
merges, customers and flags, chat orders, configuration, and racing transactions."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from typing import Any, Literal

import pytest
import redis.asyncio

from config.shop import Product, ShopConfig, ShopInfo
from config.workflow import Status, Workflow
from orders.commands import Blacklist, ChangeStatus, ChatDiscard, ChatStart, Merge, Reason
from orders.reasons import reason
from orders.shop.order import order_from_draft
from orders.shop.store import ShopResult, ShopStore, flags_key, shop_prefix
from orders.shop.store.transaction import ShopKeys
from orders.store import StoreOutdated, registry_key

Json = dict[str, Any]
SHOP = "shop1"
WF = Workflow()
PRODUCTS = {
    "A12": Product(code="A12", name="Áo thun", price=159000, attributes={"size": ("S", "M")}),
    "MP10": Product(code="MP10", name="Son kem", price=120000),
}
CONTACT = {"name": "Lan", "phone": "0912345678", "address": "12 Lê Lợi", "ward": None,
           "province": "Hà Nội", "note": None}  # fmt: skip
T0 = "2026-03-01T10:00:00+07:00"


def at(minute: int) -> str:
    return f"2026-03-01T11:{minute:02d}:00+07:00"


def an_order(live: str, seq: int, *, user: str | None = "u1", phone: str = "0912345678",
             platform: str = "facebook", staff: str = "an", minute: int = 0,
             status: str = "new") -> Json:  # fmt: skip
    draft = {
        "shop_id": SHOP, "livestream_id": live, "seq": seq, "status": "finalised",
        "customer": {"platform": platform, "user_id": user, "name": "Lan", "phone": phone},
        "lines": [{"code": "A12", "name": "Áo thun", "attributes": {"size": "M"}, "qty": 1,
                   "reserved": 1, "waitlist": None, "status": "matched", "unit_price": 159000,
                   "comment_ids": ["c1"]}],
        "history": [], "total": 159000, "created_at": T0, "updated_at": T0, "staff": staff,
    }  # fmt: skip
    return order_from_draft(
        draft, contact=dict(CONTACT, phone=phone), order_id=f"{live}-{seq}",
        source={"platform": platform, "page_id": None, "livestream_id": live,
                "conversation_id": None},
        action="create", status=status, staff=staff, at=at(minute), command_id=f"fin-{live}-{seq}",
    )  # fmt: skip


def change(cid: str, ids: list[str], to: str, *, minute: int = 30, staff: str = "binh",
           shop: str | None = SHOP) -> ChangeStatus:  # fmt: skip
    return ChangeStatus(command_id=cid, staff_id=staff, issued_at=at(minute), shop_id=shop,
                        order_ids=ids, to=to)  # fmt: skip


def codes(result: ShopResult) -> list[str]:
    return [r.code for r in result.reasons]


@pytest.fixture
async def store(client: redis.asyncio.Redis) -> ShopStore:
    return ShopStore(client)


async def put(store: ShopStore, *orders: Json) -> list[Json]:
    stored = []
    for order in orders:
        saved, created = await store.put_order(order, order["history"][0]["command_id"])
        assert created
        stored.append(saved)
    return stored


async def walk(
    store: ShopStore, order_id: str, statuses: Iterable[str], prefix: str, wf: Workflow = WF
) -> None:
    for i, to in enumerate(statuses):
        result = await store.change_status(change(f"{prefix}-{i}", [order_id], to), wf)
        assert result.status == "applied", result.reasons


# -- orders and customers --------------------------------------------------------------------


async def test_put_order_is_idempotent_by_order_id(store: ShopStore) -> None:
    order = an_order("L1", 1)
    first, created = await store.put_order(order, "fin-1")
    assert created and first["customer"]["customer_id"] == "C-1"
    again, created = await store.put_order(an_order("L1", 1, phone="0987654321"), "fin-1b")
    assert not created and again == first
    assert await store.order(SHOP, "L1-1") == first
    assert [o["order_id"] for o in await store.orders(SHOP)] == ["L1-1"]
    customers = await store.customers(SHOP)
    assert [(c["customer_id"], c["orders"], c["phones"]) for c in customers] == [
        ("C-1", ["L1-1"], ["0912345678"])
    ]
    outcome = await store.outcome(SHOP, "fin-1")
    assert outcome is not None and outcome.orders == [first]
    assert outcome.events[0]["kind"] == "created" and outcome.events[0]["to"] == "new"
    assert await store.outcome(SHOP, "fin-1b") is None


async def test_customers_are_created_on_first_order_and_found_by_phone(store: ShopStore) -> None:
    await put(store, an_order("L1", 1), an_order("L2", 7, user="tt9", platform="tiktok"),
              an_order("L2", 8, user="u2", phone="0987654321"),
              an_order("L3", 1, user="u1", phone="0977777777"))  # fmt: skip
    customers = {c["customer_id"]: c for c in await store.customers(SHOP)}
    assert sorted(customers) == ["C-1", "C-2"]
    lan = customers["C-1"]
    assert lan["platform_ids"] == ["facebook:u1", "tiktok:tt9"]
    assert lan["phones"] == ["0912345678", "0977777777"]
    assert lan["orders"] == ["L1-1", "L2-7", "L3-1"]
    assert customers["C-2"]["orders"] == ["L2-8"]
    assert (await store.order(SHOP, "L2-7"))["customer"]["customer_id"] == "C-1"  # type: ignore[index]
    flags = await store.customer_flags(SHOP, ["tiktok:tt9", "facebook:nobody"], ["0977777777"])
    assert flags == {"tiktok:tt9": {"returned": 0, "blacklisted": False},
                     "phone:0977777777": {"returned": 0, "blacklisted": False}}  # fmt: skip


async def test_orders_list_by_time_and_filter(store: ShopStore) -> None:
    await put(store, an_order("L2", 1, minute=5, staff="chi"), an_order("L1", 2, minute=1),
              an_order("L1", 1, minute=1))  # fmt: skip
    await walk(store, "L1-2", ["confirmed"], "w")
    assert [o["order_id"] for o in await store.orders(SHOP)] == ["L1-1", "L1-2", "L2-1"]
    assert [o["order_id"] for o in await store.orders(SHOP, status="new")] == ["L1-1", "L2-1"]
    assert [o["order_id"] for o in await store.orders(SHOP, staff="chi")] == ["L2-1"]
    assert [
        o["order_id"] for o in await store.orders(SHOP, livestream="L1", status="confirmed")
    ] == ["L1-2"]
    assert await store.orders("other-shop") == []


# -- statuses --------------------------------------------------------------------------------


async def test_a_status_change_acts_once_per_command_id(store: ShopStore) -> None:
    await put(store, an_order("L1", 1))
    first = await store.change_status(change("c1", ["L1-1"], "confirmed"), WF)
    assert first.status == "applied" and not first.duplicate
    assert first.events == [{"v": 1, "kind": "status_changed", "order_id": "L1-1",
                             "shop_id": SHOP, "from": "new", "to": "confirmed", "staff": "binh",
                             "at": at(30), "command_id": "c1"}]  # fmt: skip
    again = await store.change_status(change("c1", ["L1-1"], "confirmed"), WF)
    assert again.duplicate and again.status == "applied"
    assert again.orders == first.orders and again.events == first.events
    order = await store.order(SHOP, "L1-1")
    assert order is not None and order["status"] == "confirmed"
    assert [(h["from"], h["to"], h["command_id"]) for h in order["history"]] == [
        (None, "new", "fin-L1-1"),
        ("new", "confirmed", "c1"),
    ]
    assert order["updated_at"] == at(30)


async def test_bulk_moves_are_all_or_nothing(store: ShopStore) -> None:
    await put(store, an_order("L1", 1), an_order("L1", 2), an_order("L1", 3))
    await walk(store, "L1-2", ["confirmed", "shipped"], "w")
    refused = await store.change_status(
        change("bulk1", ["L1-1", "L1-2", "L1-3", "L9-9"], "confirmed"), WF
    )
    assert refused.status == "refused"
    assert codes(refused) == ["order_not_found", "illegal_transition"]
    assert refused.reasons[1] == reason("illegal_transition", "to", order_id="L1-2",
                                        status_name="Đã giao", to_name="Đã chốt")  # fmt: skip
    assert refused.orders == [] and refused.events == []
    assert [o["status"] for o in await store.orders(SHOP)] == ["new", "shipped", "new"]
    applied = await store.change_status(change("bulk2", ["L1-1", "L1-3"], "confirmed"), WF)
    assert applied.status == "applied"
    assert [(e["order_id"], e["from"], e["to"]) for e in applied.events] == [
        ("L1-1", "new", "confirmed"),
        ("L1-3", "new", "confirmed"),
    ]
    assert [o["status"] for o in await store.orders(SHOP)] == ["confirmed", "shipped",
                                                                "confirmed"]  # fmt: skip


async def test_refusals_are_stored_too(store: ShopStore) -> None:
    await put(store, an_order("L1", 1))
    refused = await store.change_status(change("c1", ["L1-1", "L1-1"], "lost"), WF)
    assert codes(refused) == ["unknown_status", "duplicate_order_id"]
    again = await store.change_status(change("c1", ["L1-1"], "confirmed"), WF)
    assert again.duplicate and again.status == "refused" and again.reasons == refused.reasons
    assert (await store.order(SHOP, "L1-1"))["status"] == "new"  # type: ignore[index]


async def test_the_shop_of_an_order_is_found_through_its_livestream(
    store: ShopStore, client: redis.asyncio.Redis
) -> None:
    await put(store, an_order("live-7", 1))
    await client.hset(registry_key("live-7"), "shop_id", SHOP)
    result = await store.change_status(change("c1", ["live-7-1"], "confirmed", shop=None), WF)
    assert result.status == "applied"
    unknown = await store.change_status(change("c2", ["nolive-1"], "confirmed", shop=None), WF)
    assert codes(unknown) == ["order_not_found"]


# -- merging ---------------------------------------------------------------------------------


def merge(cid: str, ids: list[str]) -> Merge:
    return Merge(command_id=cid, staff_id="dung", issued_at=at(40), shop_id=SHOP, order_ids=ids)


async def test_merge_marks_originals_and_keeps_line_sources(store: ShopStore) -> None:
    await put(store, an_order("L1", 1, minute=1), an_order("L2", 4, minute=2, user="u1b"),
              an_order("L3", 1, minute=3))  # fmt: skip
    result = await store.merge(merge("m1", ["L1-1", "L2-4"]), WF)
    assert result.status == "applied", result.reasons
    merged, *originals = result.orders
    assert merged["order_id"] == "M-1" and merged["merged_from"] == ["L1-1", "L2-4"]
    assert [line["from_order"] for line in merged["lines"]] == ["L1-1", "L2-4"]
    assert merged["total"] == 2 * 159000 and merged["customer"]["customer_id"] == "C-1"
    assert [(o["order_id"], o["merged_into"], o["status"]) for o in originals] == [
        ("L1-1", "M-1", "new"),
        ("L2-4", "M-1", "new"),
    ]
    assert [(e["kind"], e["order_id"]) for e in result.events] == [
        ("created", "M-1"),
        ("merged", "L1-1"),
        ("merged", "L2-4"),
    ]
    assert await store.order(SHOP, "L1-1") == originals[0]
    assert [o["order_id"] for o in await store.orders(SHOP, status="new")] == ["L3-1", "M-1"]
    assert len(await store.orders(SHOP)) == 4
    customer = (await store.customers(SHOP))[0]
    assert customer["orders"] == ["L1-1", "L2-4", "L3-1", "M-1"]
    again = await store.merge(merge("m1", ["L1-1", "L2-4"]), WF)
    assert again.duplicate and again.orders[0]["order_id"] == "M-1"
    moved = await store.change_status(change("c1", ["L1-1"], "confirmed"), WF)
    assert codes(moved) == ["already_merged"]
    remerged = await store.merge(merge("m2", ["L2-4", "L3-1"]), WF)
    assert codes(remerged) == ["already_merged"]
    second = await store.merge(merge("m3", ["M-1", "L3-1"]), WF)
    assert second.orders[0]["order_id"] == "M-2"  # refusals and repeats take no number
    assert [line["from_order"] for line in second.orders[0]["lines"]] == ["L1-1", "L2-4", "L3-1"]


async def test_merge_refuses_different_customers_and_statuses(store: ShopStore) -> None:
    await put(store, an_order("L1", 1), an_order("L1", 2, user="u2", phone="0987654321"),
              an_order("L1", 3))  # fmt: skip
    await walk(store, "L1-3", ["confirmed"], "w")
    result = await store.merge(merge("m1", ["L1-1", "L1-2", "L1-3"]), WF)
    assert codes(result) == ["different_customers", "different_statuses"]
    assert all(o["merged_into"] is None for o in await store.orders(SHOP))


# -- returned orders, flags, blacklist -------------------------------------------------------


async def test_returned_orders_are_counted_and_flagged(store: ShopStore) -> None:
    await put(
        store,
        an_order("L1", 1),
        an_order("L1", 2),
        an_order("L1", 3, user="u2", phone="0987654321"),
    )
    await walk(store, "L1-1", ["confirmed", "shipped", "returned"], "a")
    await walk(store, "L1-2", ["confirmed", "shipped", "returned"], "b")
    lan = (await store.customers(SHOP))[0]
    assert lan["returned"] == 2
    flags = await store.customer_flags(SHOP, ["facebook:u1", "facebook:u2"], ["0912345678"])
    assert flags == {"facebook:u1": {"returned": 2, "blacklisted": False},
                     "phone:0912345678": {"returned": 2, "blacklisted": False},
                     "facebook:u2": {"returned": 0, "blacklisted": False}}  # fmt: skip
    raw = await store._redis.hmget(flags_key(SHOP), ["facebook:u1"])
    assert raw[0] is not None  # the comment path reads this hash itself, one HMGET per batch


async def test_blacklist_flags_the_customer(store: ShopStore) -> None:
    await put(store, an_order("L1", 1))
    listed = await store.blacklist(Blacklist(command_id="b1", staff_id="an", issued_at=at(50),
                                             shop_id=SHOP, phone="0912 345 678",
                                             reason="bom 2 đơn"))  # fmt: skip
    assert listed.status == "applied" and listed.customer is not None
    assert listed.customer["customer_id"] == "C-1" and listed.customer["blacklisted"]
    flags = await store.customer_flags(SHOP, ["facebook:u1"], ["0912345678"])
    assert (
        all(f == {"returned": 0, "blacklisted": True} for f in flags.values()) and len(flags) == 2
    )
    stranger = await store.blacklist(
        Blacklist(
            command_id="b2",
            staff_id="an",
            issued_at=at(51),
            shop_id=SHOP,
            platform="tiktok",
            user_id="x9",
        )
    )
    assert stranger.customer is not None and stranger.customer["customer_id"] == "C-2"
    assert stranger.customer["orders"] == [] and stranger.customer["platform_ids"] == ["tiktok:x9"]
    assert (await store.customer_flags(SHOP, ["tiktok:x9"], []))["tiktok:x9"]["blacklisted"]
    cleared = await store.blacklist(Blacklist(command_id="b3", staff_id="an", issued_at=at(52),
                                              shop_id=SHOP, platform="facebook", user_id="u1",
                                              blacklisted=False))  # fmt: skip
    assert cleared.customer is not None and cleared.customer["blacklist_reason"] is None
    assert (await store.customer_flags(SHOP, [], ["0912345678"]))["phone:0912345678"] == {
        "returned": 0,
        "blacklisted": False,
    }
    nobody = await store.blacklist(Blacklist(command_id="b4", staff_id="an", issued_at=at(53),
                                             shop_id=SHOP, phone="0999999999",
                                             blacklisted=False))  # fmt: skip
    assert codes(nobody) == ["customer_not_found"]
    bad = await store.blacklist(Blacklist(command_id="b5", staff_id="an", issued_at=at(53),
                                          shop_id=SHOP, phone="12345"))  # fmt: skip
    assert codes(bad) == ["invalid_phone"]
    # a blacklisted customer's next order keeps the flag
    await store.blacklist(Blacklist(command_id="b6", staff_id="an", issued_at=at(54),
                                    shop_id=SHOP, phone="0912345678"))  # fmt: skip
    await put(store, an_order("L2", 1, user="u7"))
    flags = await store.customer_flags(SHOP, ["facebook:u7"], [])
    assert flags == {"facebook:u7": {"returned": 0, "blacklisted": True}}


# -- chat orders -----------------------------------------------------------------------------


Mode = Literal["new_sale", "upsell"]


def start(cid: str, conv: str = "conv1", *, mode: Mode = "new_sale", phone: str | None = None,
          staff: str = "an", user: str | None = "u1") -> ChatStart:  # fmt: skip
    return ChatStart(
        command_id=cid,
        staff_id=staff,
        issued_at=at(10),
        shop_id=SHOP,
        conversation_id=conv,
        platform="facebook",
        page_id="P1",
        user_id=user,
        customer_name="Lan",
        customer_phone=phone,
        mode=mode,
    )


def no_problems(draft: Json) -> list[Reason]:
    return []


async def chat(store: ShopStore, cid: str, op: Json, *, conv: str = "conv1",
               validate: Any = no_problems, staff: str = "an") -> ShopResult:  # fmt: skip
    return await store.chat_command(SHOP, conv, cid, {**op, "staff": staff, "at": at(20)},
                                    PRODUCTS, validate)  # fmt: skip


async def test_a_chat_order_from_start_to_order(store: ShopStore) -> None:
    started = await store.chat_start(start("s1", phone="0912.345.678"))
    assert started.status == "applied" and started.draft is not None
    assert started.draft["n"] == 1 and started.draft["contact"]["phone"] == "0912345678"
    busy = await store.chat_start(start("s2"))
    assert codes(busy) == ["chat_in_progress"]
    added = await chat(store, "a1", {"type": "add_line", "code": "A12",
                                     "attributes": {"size": "m"}, "qty": 2})  # fmt: skip
    assert added.draft is not None and added.draft["total"] == 318000
    assert codes(await chat(store, "a2", {"type": "add_line", "code": "ZZ1"})) == [
        "unknown_product"
    ]
    await chat(store, "a3", {"type": "set_customer", "contact": CONTACT})
    final = await chat(store, "f1", {"type": "finalise", "action": "deliver_now"})
    assert final.status == "applied", final.reasons
    assert final.draft is not None and final.draft["status"] == "finalised"
    (order,) = final.orders
    assert order["order_id"] == "conv1-1" and order["status"] == "shipped"
    assert order["source"]["conversation_id"] == "conv1" and order["seq"] == 1
    assert order["customer"]["customer_id"] == "C-1"
    assert [(e["kind"], e["order_id"], e["to"]) for e in final.events] == [
        ("created", "conv1-1", "shipped")
    ]
    assert await store.order(SHOP, "conv1-1") == order
    repeat = await chat(store, "f1", {"type": "finalise", "action": "deliver_now"})
    assert repeat.duplicate and repeat.orders == [order]
    assert codes(await chat(store, "a4", {"type": "assign", "assignee": "x"})) == ["chat_not_found"]
    assert (await store.chat_start(start("s3"))).draft["n"] == 2  # type: ignore[index]


async def test_finalise_asks_validate_inside_the_transaction(store: ShopStore) -> None:
    await store.chat_start(start("s1"))
    seen: list[Json] = []

    def refuse(draft: Json) -> list[Reason]:
        seen.append(draft)
        return [reason("missing_address", "address"), reason("no_lines")]

    result = await chat(store, "f1", {"type": "finalise", "action": "create"}, validate=refuse)
    assert codes(result) == ["missing_address", "no_lines"]
    assert seen and seen[0]["status"] == "open"
    assert result.draft is not None and result.draft["status"] == "open"
    assert await store.orders(SHOP) == []
    saved = await chat(store, "f2", {"type": "finalise", "action": "save"}, validate=refuse)
    assert saved.status == "applied" and saved.draft["status"] == "open"  # type: ignore[index]


async def test_an_upsell_finds_the_customers_orders_by_phone(store: ShopStore) -> None:
    await put(store, an_order("L1", 1, minute=1), an_order("L1", 2, minute=2),
              an_order("L1", 3, user="u2", phone="0987654321"))  # fmt: skip
    await store.merge(merge("m1", ["L1-1", "L1-2"]), WF)
    upsell = await store.chat_start(start("s1", mode="upsell", phone="+84 912 345 678",
                                          user="zalo-user"))  # fmt: skip
    assert [o["order_id"] for o in upsell.previous_orders] == ["M-1"]
    fresh = await store.chat_start(start("s2", conv="conv2", mode="upsell", phone="0911111111",
                                         user=None))  # fmt: skip
    assert fresh.status == "applied" and fresh.previous_orders == []
    by_account = await store.chat_start(start("s3", conv="conv3", mode="upsell", user="u2"))
    assert [o["order_id"] for o in by_account.previous_orders] == ["L1-3"]
    new_sale = await store.chat_start(start("s4", conv="conv4", phone="0912345678"))
    assert new_sale.previous_orders == []


async def test_an_unfinished_chat_order_is_offered_back_after_a_restart(
    store: ShopStore, redis_client: redis.asyncio.Redis
) -> None:
    kwargs = redis_client.connection_pool.connection_kwargs
    url = f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"
    async with ShopStore.connect(url) as first:
        await first.chat_start(start("s1", staff="an"))
        await first.chat_command(SHOP, "conv1", "a1", {"type": "add_line", "code": "MP10",
                                                       "staff": "an", "at": at(12)},
                                 PRODUCTS, no_problems)  # fmt: skip
        await first.chat_start(start("s2", conv="conv2", staff="chi"))
    async with ShopStore.connect(url) as second:
        (draft,) = await second.chat_resume(SHOP, "an")
        assert draft["conversation_id"] == "conv1" and draft["lines"][0]["code"] == "MP10"
        assert [d["conversation_id"] for d in await second.chat_resume(SHOP, "chi")] == ["conv2"]
        await second.chat_command(SHOP, "conv2", "as1", {"type": "assign", "assignee": "an",
                                                         "staff": "chi", "at": at(13)},
                                  PRODUCTS, no_problems)  # fmt: skip
        assert [d["conversation_id"] for d in await second.chat_resume(SHOP, "an")] == [
            "conv1",
            "conv2",
        ]
        assert await second.chat_resume(SHOP, "chi") == []
        gone = await second.chat_discard(ChatDiscard(command_id="d1", staff_id="an",
                                                     issued_at=at(14), shop_id=SHOP,
                                                     conversation_id="conv1"))  # fmt: skip
        assert gone.draft is not None and gone.draft["status"] == "discarded"
        again = await second.chat_discard(ChatDiscard(command_id="d2", staff_id="an",
                                                      issued_at=at(15), shop_id=SHOP,
                                                      conversation_id="conv1"))  # fmt: skip
        assert codes(again) == ["chat_not_found"]
        assert [d["conversation_id"] for d in await second.chat_resume(SHOP, "an")] == ["conv2"]
        assert (await second.chat_draft(SHOP, "conv1"))["status"] == "discarded"  # type: ignore[index]


# -- configuration ---------------------------------------------------------------------------


def shop_with(statuses: tuple[Status, ...]) -> ShopConfig:
    return ShopConfig(shop=ShopInfo(id=SHOP, name="Shop"), workflow=Workflow(statuses=statuses))


SMALL = (
    Status(key="new", name="Vừa tạo", to=("confirmed", "cancelled")),
    Status(key="confirmed", name="Đã chốt", to=("shipped", "cancelled")),
    Status(key="shipped", name="Đã giao", revenue=True),
    Status(key="cancelled", name="Đã hủy", returned=True),
)


async def test_apply_config_refuses_to_strand_orders(store: ShopStore) -> None:
    assert await store.config(SHOP) is None
    default = ShopConfig(shop=ShopInfo(id=SHOP, name="Shop"))
    assert await store.apply_config(default) == []
    assert await store.config(SHOP) == default
    assert await store.shop_ids() == [SHOP]
    await put(store, an_order("L1", 1), an_order("L1", 2), an_order("L1", 3))
    for oid in ("L1-1", "L1-2"):
        await walk(store, oid, ["confirmed", "shipped", "returned"], oid)
    problems = await store.apply_config(shop_with(SMALL))
    assert problems == ["orders left in a removed status: Bị trả lại (returned): 2 orders"]
    assert await store.config(SHOP) == default
    assert (await store.customers(SHOP))[0]["returned"] == 2


async def test_a_new_returned_status_recounts_customers(store: ShopStore) -> None:
    await store.apply_config(ShopConfig(shop=ShopInfo(id=SHOP, name="Shop"),
                                        workflow=Workflow(statuses=SMALL)))  # fmt: skip
    await put(store, an_order("L1", 1), an_order("L1", 2))
    await walk(store, "L1-1", ["cancelled"], "w", Workflow(statuses=SMALL))
    assert (await store.customers(SHOP))[0]["returned"] == 1
    assert await store.apply_config(ShopConfig(shop=ShopInfo(id=SHOP, name="Shop"),
                                               workflow=Workflow(statuses=(
        Status(key="new", name="Vừa tạo", to=("confirmed", "cancelled")),
        Status(key="confirmed", name="Đã chốt", to=("shipped", "cancelled")),
        Status(key="shipped", name="Đã giao", revenue=True),
        Status(key="cancelled", name="Đã hủy"),
    )))) == []  # fmt: skip
    assert (await store.customers(SHOP))[0]["returned"] == 0
    flags = await store.customer_flags(SHOP, ["facebook:u1"], [])
    assert flags["facebook:u1"]["returned"] == 0


# -- racing transactions ---------------------------------------------------------------------


def assert_consistent(order: Json) -> None:
    steps = order["history"]
    for before, after in itertools.pairwise(steps):
        assert after["from"] == before["to"]
    assert steps[-1]["to"] == order["status"]


async def test_two_concurrent_status_changes_end_consistent(store: ShopStore) -> None:
    await put(store, an_order("L1", 1))
    results = await asyncio.gather(
        store.change_status(change("c1", ["L1-1"], "confirmed"), WF),
        store.change_status(change("c2", ["L1-1"], "cancelled"), WF),
        store.change_status(change("c3", ["L1-1"], "confirmed"), WF),
    )
    order = await store.order(SHOP, "L1-1")
    assert order is not None
    assert_consistent(order)
    applied = [r for r in results if r.status == "applied"]
    assert len(order["history"]) == 1 + len(applied) >= 2
    for result in results:
        assert result.status == "applied" or codes(result) == ["illegal_transition"]


class RacedStore(ShopStore):
    """Another worker commits a change while this one is between its reads and its EXEC."""

    def __init__(self, redis: redis.asyncio.Redis, rival: ShopStore, cmd: ChangeStatus) -> None:
        super().__init__(redis)
        self.rival, self.rival_cmd, self.attempts = rival, cmd, 0

    async def _refresh_customers(self, *args: Any, **kwargs: Any) -> None:
        self.attempts += 1
        if self.attempts == 1:
            assert (await self.rival.change_status(self.rival_cmd, WF)).status == "applied"
        await super()._refresh_customers(*args, **kwargs)


async def test_a_lost_race_is_retried_on_fresh_data(
    store: ShopStore, client: redis.asyncio.Redis
) -> None:
    await put(store, an_order("L1", 1))
    raced = RacedStore(client, store, change("rival", ["L1-1"], "cancelled"))
    result = await raced.change_status(change("mine", ["L1-1"], "confirmed"), WF)
    assert raced.attempts == 1  # the retry saw the cancel and refused before any write
    assert codes(result) == ["illegal_transition"]
    order = await store.order(SHOP, "L1-1")
    assert order is not None and order["status"] == "cancelled"
    assert_consistent(order)
    assert (await store.outcome(SHOP, "mine")).status == "refused"  # type: ignore[union-attr]


def test_keys_share_the_shops_hash_tag() -> None:
    assert shop_prefix("shop1") == "chotdon:{shop1}"
    with pytest.raises(ValueError):
        shop_prefix("bad{shop}")


# -- layout versions -----------------------------------------------------------------------


async def _fold_into_hashes(client: redis.asyncio.Redis, shop_id: str) -> None:
    """The shop's records as layout 1 kept them (orders/shop/store/__init__.py at 71d197a):
    one hash per collection (S:orders, S:customers, S:cidx, S:chats, S:inbox), no S:layout,
    no index sets."""
    keys = ShopKeys.of(shop_id)
    for collection in keys.collections():
        async for key in client.scan_iter(match=f"{collection}:*"):
            name = key.decode()[len(collection) + 1 :]
            await client.hset(collection, name, await client.get(key))
            await client.delete(key)
    await client.delete(keys.layout, keys.order_ids, keys.customer_ids)


async def test_a_shop_of_layout_1_is_refused_until_migrated_then_reads_the_same(
    client: redis.asyncio.Redis, store: ShopStore
) -> None:
    """Orders and their customers written, then folded back into layout 1's hashes: refused
    by a store that has not seen the shop yet (run `chotdon migrate`), the same after
    ShopStore.migrate (what `chotdon migrate` runs per shop), and commands work again."""
    await put(store, an_order("L1", 1), an_order("L1", 2, user="u2", phone="0987654321"))
    before = (await store.orders(SHOP), await store.customers(SHOP))
    await _fold_into_hashes(client, SHOP)
    fresh = ShopStore(client)
    with pytest.raises(StoreOutdated, match="run `chotdon migrate`"):
        await fresh.change_status(change("c1", ["L1-1"], "confirmed"), WF)
    assert await fresh.migrate(SHOP) is True
    assert await fresh.migrate(SHOP) is False
    assert (await fresh.orders(SHOP), await fresh.customers(SHOP)) == before
    assert (await fresh.change_status(change("c1", ["L1-1"], "confirmed"), WF)).status == "applied"
    third = await put(fresh, an_order("L1", 3, user="u3", phone="0911111111"))
    assert third[0]["customer"]["customer_id"] == "C-3"
