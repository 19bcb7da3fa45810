"""PrefetchedTx: a shop transaction's decision on a snapshot (orders/shop/store/transaction.py)
answers only what the snapshot holds, sees its own staged writes, and stages the same writes a
WATCH transaction would send."""

from __future__ import annotations

import pytest

from orders.shop.store.orders import _snapshot_of
from orders.shop.store.transaction import NotPrefetched, PrefetchedTx, ShopKeys, Snapshot

KEYS = ShopKeys.of("s1")
P = "chotdon:{s1}"


def tx_of(values: dict[str, bytes | None]) -> PrefetchedTx:
    return PrefetchedTx(Snapshot(values, "d" * 40), KEYS)


async def test_reads_come_from_the_snapshot_absent_ones_as_none() -> None:
    tx = tx_of({f"{P}:orders:o1": b'{"a": 1}', f"{P}:orders:o2": None, f"{P}:cmd:c1": None})
    assert await tx.get_json(KEYS.orders, "o1") == {"a": 1}
    assert await tx.mget(KEYS.orders, ["o2", "o1"]) == [None, b'{"a": 1}']
    assert await tx.get_value(KEYS.outcome("c1")) is None


async def test_a_key_the_snapshot_lacks_is_not_read_but_refused() -> None:
    tx = tx_of({f"{P}:orders:o1": None})
    with pytest.raises(NotPrefetched, match="orders:o9"):
        await tx.mget(KEYS.orders, ["o1", "o9"])
    with pytest.raises(NotPrefetched):
        await tx.read("HGETALL", KEYS.ostatus)  # not a string key: never in a snapshot
    with pytest.raises(NotPrefetched):
        await tx.get(KEYS.flags, "phone:0912345678")  # a hash field: HGET


async def test_staged_writes_are_seen_and_kept_as_a_transaction_would_send_them() -> None:
    tx = tx_of({})
    tx.set_json(KEYS.customers, "C-1", {"customer_id": "C-1"})
    tx.set(KEYS.ostatus, "o1", "new")
    tx.set_value(KEYS.outcome("c1"), b"{}", 60)
    assert await tx.get_json(KEYS.customers, "C-1") == {"customer_id": "C-1"}  # not read
    assert tx.writes == [
        ("SET", f"{P}:customers:C-1", b'{"customer_id":"C-1"}'),
        ("SADD", f"{P}:cids", "C-1"),
        ("HSET", f"{P}:ostatus", "o1", b"new"),
        ("SET", f"{P}:cmd:c1", b"{}", "EX", 60),
    ]


def test_the_functions_answers() -> None:
    assert _snapshot_of([b"done"]) is None
    read = _snapshot_of([b"read", b"ab" * 20, b"C-7", [b"k1", b"k2"], [b"v1", None]])
    assert read == Snapshot({"k1": b"v1", "k2": None}, "ab" * 20, "C-7")
    assert _snapshot_of([b"read", b"ab" * 20, b"", [], []]) == Snapshot({}, "ab" * 20, None)
