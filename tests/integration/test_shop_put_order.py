"""ShopStore.put_order's two round trips (orders/lua/shop.lua reads what the decision reads and
commits its writes only while that read is unchanged), on the test Redis and on a Cluster:
the same stored state as the WATCH transaction it replaces, the fast path really taken, and a
read gone stale never committed."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import pytest
import redis.asyncio
from store_support import all_keys
from test_shop_store import SHOP, WF, an_order, change

from config.workflow import Workflow
from orders.shop.store import ShopStore, Snapshot, shop_prefix
from orders.shop.store.transaction import ShopKeys, Tx
from orders.store import StoreError, fcall_one

Json = dict[str, Any]
OTHER = "shop2"


class WatchedStore(ShopStore):
    """put_order as it was before the Redis Function: one WATCH transaction (the reference)."""

    async def put_order(
        self,
        order: Json,
        command_id: str,
        workflow: Workflow | None = None,
        snapshot: Snapshot | None = None,
    ) -> tuple[Json, bool]:
        async def body(tx: Tx, keys: ShopKeys) -> tuple[Json, bool]:
            return await self._put_order_in(tx, keys, order, command_id, workflow)

        return await self._transact(order["shop_id"], body)


class CountingStore(ShopStore):
    """Counts the WATCH transactions (the fallback) and the commits of the function."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        super().__init__(client)
        self.transactions = 0
        self.commits = 0
        self.refused_commits = 0

    async def _transact(self, *args: Any, **kwargs: Any) -> Any:
        self.transactions += 1
        return await super()._transact(*args, **kwargs)

    async def _commit_order(self, *args: Any, **kwargs: Any) -> Snapshot | None:
        self.commits += 1
        fresh = await super()._commit_order(*args, **kwargs)
        self.refused_commits += fresh is not None
        return fresh


def in_shop(order: Json, shop_id: str) -> Json:
    return {**order, "shop_id": shop_id}


# A day of finalises: new customers, a known account with a new phone, a new account with a
# known phone, a phone another customer already owns, the same person again.
SCRIPT = [
    ("L1", 1, {"user": "u1", "phone": "0912345678"}),
    ("L1", 2, {"user": "u2", "phone": "0987654321"}),
    ("L1", 3, {"user": "u1", "phone": "0911111111"}),
    ("L2", 1, {"user": "u9", "phone": "0987654321"}),
    ("L2", 2, {"user": "u2", "phone": "0912345678"}),
    ("L2", 3, {"user": None, "phone": "0911111111"}),
    ("L2", 4, {"user": "u7", "phone": "0933333333", "platform": "tiktok"}),
    ("L3", 1, {"user": "u1", "phone": "0912345678"}),
]


async def shop_state(client: redis.asyncio.Redis, shop_id: str) -> dict[str, Any]:
    """Every key of the shop but its configuration, named without the shop's prefix, the shop
    id in its values written as `S`."""
    prefix = shop_prefix(shop_id)
    state: dict[str, Any] = {}
    for raw in await all_keys(client):
        key = raw.decode() if isinstance(raw, bytes) else raw
        if not key.startswith(prefix + ":") or key.endswith(":config"):
            continue
        kind = await client.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        name = key[len(prefix) :]
        if kind == "string":
            state[name] = anonymous(await client.get(key), shop_id)
        elif kind == "hash":
            fields = await client.hgetall(key)
            state[name] = {k: anonymous(v, shop_id) for k, v in sorted(fields.items())}
        elif kind == "set":
            state[name] = sorted(await client.smembers(key))
        else:
            raise AssertionError(f"unexpected key {key} ({kind})")
    return state


def anonymous(value: bytes, shop_id: str) -> bytes:
    return value.replace(f'"{shop_id}"'.encode(), b'"S"')


async def put_script(store: ShopStore, shop_id: str, script: Sequence[Any]) -> list[Json]:
    stored = []
    for live, seq, person in script:
        order = in_shop(an_order(live, seq, **person), shop_id)
        saved, created = await store.put_order(order, f"fin-{live}-{seq}", WF)
        assert created
        stored.append(saved)
    return stored


async def test_the_function_stores_what_the_watch_transaction_stores(
    client: redis.asyncio.Redis,
) -> None:
    fast, reference = CountingStore(client), WatchedStore(client)
    fast_orders = await put_script(fast, SHOP, SCRIPT)
    reference_orders = await put_script(reference, OTHER, SCRIPT)
    assert [in_shop(o, "x") for o in fast_orders] == [in_shop(o, "x") for o in reference_orders]
    # statuses that count as returned, then more orders of those customers
    for store, shop_id in ((fast, SHOP), (reference, OTHER)):
        for i, to in enumerate(("confirmed", "cancelled")):
            cmd = change(f"st-{i}", ["L1-1"], to).model_copy(update={"shop_id": shop_id})
            assert (await store.change_status(cmd, WF)).status == "applied"
    more = [("L4", 1, {"user": "u1", "phone": "0912345678"}), ("L4", 2, {"user": "u2"})]
    await put_script(fast, SHOP, more)
    await put_script(reference, OTHER, more)
    fast_state = await shop_state(client, SHOP)
    reference_state = await shop_state(client, OTHER)
    assert fast_state == reference_state
    assert len(fast_state) > 20
    customers = await fast.customers(SHOP)
    assert [c["customer_id"] for c in customers] == ["C-1", "C-2", "C-3"]
    # the first put of a shop checks its layout (a WATCH transaction); every other is the
    # function's read and one commit
    assert fast.transactions == 1 + 2  # + the two status moves
    assert fast.commits == len(SCRIPT) + len(more) - 1 and fast.refused_commits == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_days_store_the_same_both_ways(client: redis.asyncio.Redis, seed: int) -> None:
    """Orders of a few people with a few accounts and phones, in a random order, some of them
    moved to statuses that count as returned (and back) between the puts."""
    rng = random.Random(seed)
    users, phones = [None, "u1", "u2", "u3", "u4"], ["0912345678", "0987654321", "0911111111"]
    fast, reference = CountingStore(client), WatchedStore(client)
    puts, steps = 0, {}
    for n in range(1, 41):
        if n > 3 and rng.random() < 0.35:  # one order a step further: confirmed, shipped, returned
            seq = rng.randrange(1, min(puts, 4) + 1)  # the first orders: some get returned early
            steps[seq] = min(steps.get(seq, 0) + 1, 3)
            to = ("confirmed", "shipped", "returned")[steps[seq] - 1]
            for store, shop_id in ((fast, SHOP), (reference, OTHER)):
                cmd = change(f"st-{n}", [f"L1-{seq}"], to).model_copy(update={"shop_id": shop_id})
                await store.change_status(cmd, WF)  # applied or refused alike on both
            continue
        puts += 1
        person = {"user": rng.choice(users), "phone": rng.choice(phones),
                  "platform": rng.choice(["facebook", "facebook", "tiktok"])}  # fmt: skip
        await put_script(fast, SHOP, [("L1", puts, person)])
        await put_script(reference, OTHER, [("L1", puts, person)])
    assert await shop_state(client, SHOP) == await shop_state(client, OTHER)
    assert fast.refused_commits == 0 and fast.commits == puts - 1
    assert any(c["returned"] for c in await fast.customers(SHOP)), "no order got returned"


async def test_a_repeated_put_reads_once_and_writes_nothing(client: redis.asyncio.Redis) -> None:
    store = CountingStore(client)
    (first,) = await put_script(store, SHOP, SCRIPT[:1])
    again, created = await store.put_order(an_order("L1", 1, phone="0987654321"), "fin-again", WF)
    assert not created and again == first
    assert store.commits == 0 and store.transactions == 1
    assert await store.outcome(SHOP, "fin-again") is None


async def test_a_read_gone_stale_is_refused_and_decided_again(
    client: redis.asyncio.Redis,
) -> None:
    """The read is made (as the command processor does, beside the draft's finalise), then
    another worker links an order to the same customer: the commit is refused, the new read
    decided on, and neither order is lost from the customer."""
    store = CountingStore(client)
    await put_script(store, SHOP, SCRIPT[:1])  # C-1: facebook:u1, 0912345678
    mine = an_order("L5", 1, user="u1", phone="0912345678")
    snapshot = await fcall_one(client, store.order_read_call(mine, "fin-mine", WF))
    assert snapshot is not None
    rival = ShopStore(client)
    await rival.put_order(an_order("L5", 2, user=None, phone="0912345678"), "fin-rival", WF)
    stored, created = await store.put_order(mine, "fin-mine", WF, snapshot)
    assert created and stored["customer"]["customer_id"] == "C-1"
    assert (store.commits, store.refused_commits) == (2, 1)
    customer = await store.customer(SHOP, "C-1")
    assert customer is not None and customer["orders"] == ["L1-1", "L5-2", "L5-1"]


async def test_a_read_for_another_order_is_read_again(client: redis.asyncio.Redis) -> None:
    """A read made for the order expected (a phone that changed before the finalise) does not
    hold what the real order's decision reads: read again, no WATCH transaction."""
    store = CountingStore(client)
    await put_script(store, SHOP, SCRIPT[:2])
    expected = an_order("L6", 1, user="u3", phone="0900000000")
    snapshot = await fcall_one(client, store.order_read_call(expected, "fin-L6", WF))
    stored, created = await store.put_order(
        an_order("L6", 1, user="u3", phone="0987654321"), "fin-L6", WF, snapshot
    )
    assert created and stored["customer"]["customer_id"] == "C-2"  # found by the phone
    assert store.transactions == 1 and store.commits == 2  # the first put, then read again


async def test_racing_puts_of_one_customer_lose_no_order(client: redis.asyncio.Redis) -> None:
    stores = [CountingStore(client) for _ in range(6)]
    await put_script(stores[0], SHOP, SCRIPT[:1])
    orders = [an_order("R", n, user="u1" if n % 2 else None, phone="0912345678")
              for n in range(1, 13)]  # fmt: skip
    results = await asyncio.gather(*(
        stores[n % len(stores)].put_order(order, f"fin-R-{n}", WF)
        for n, order in enumerate(orders)
    ))  # fmt: skip
    assert all(created for _, created in results)
    customer = await stores[0].customer(SHOP, "C-1")
    assert customer is not None
    assert sorted(customer["orders"]) == sorted(["L1-1", *(o["order_id"] for o in orders)])
    assert [c["customer_id"] for c in await stores[0].customers(SHOP)] == ["C-1"]
    assert sum(s.transactions for s in stores) == 1  # no fallback under contention


@pytest.mark.parametrize(
    ("write", "error"),
    [
        (("SET", "chotdon:{elsewhere}:x", "1"), "a key outside the shop"),
        (("FLUSHALL", "chotdon:{shop1}:x"), "not a write this function makes"),
        (("SET",), "malformed writes"),
    ],
)
async def test_the_function_refuses_writes_it_does_not_make(
    client: redis.asyncio.Redis, write: tuple[str, ...], error: str
) -> None:
    store = ShopStore(client)
    await put_script(store, SHOP, SCRIPT[:1])
    order = an_order("L7", 1, user="u8", phone="0944444444")
    snapshot = await fcall_one(client, store.order_read_call(order, "fin-L7", WF))
    assert snapshot is not None
    call = store._put_order_call(order, "fin-L7", WF, snapshot, [write])
    with pytest.raises(StoreError, match=error):
        await fcall_one(client, call)
    assert await store.order(SHOP, "L7-1") is None
