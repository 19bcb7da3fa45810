"""The shop-level Redis store: finished orders, statuses, merges, customers, chat orders.

Every key of a shop carries the hash tag `{<shop>}` (one Cluster slot per shop); `S` below is
`chotdon:{<shop>}`. Livestream drafts live elsewhere (orders/store.py, `{<shop>:<livestream>}`).

| key | type | holds |
|---|---|---|
| `S:layout` | string | the layout of the shop's keys: 2 (absent: 1; run `chotdon migrate`) |
| `S:config` | string | the shop configuration JSON (`apply_config`) |
| `S:orders:<order id>` | string | order JSON (v1, orders/shop/order.py); ids in `S:oids` |
| `S:ostatus` | hash | order id -> status key of orders not merged into another (listing) |
| `S:customers:<id>` | string | customer JSON (`C-<n>`, shop/customers.py); ids in `S:cids` |
| `S:cidx:<field>` | string | `<platform>:<user_id>` / `phone:<phone>` -> the owning customer |
| `S:flags` | hash | the same fields -> {"returned": n, "blacklisted": bool} of their owner |
| `S:counters` | hash | `customer`, `merge`: the last number given (C-<n>, M-<n>) |
| `S:cmd:<command id>` | string | the command's outcome (`ShopResult` JSON), kept 30 days |
| `S:chats:<conversation>` | string | its latest chat draft JSON (orders/shop/chat.py) |
| `S:chatopen` | hash | conversation id -> salesperson, for the open chat drafts |
| `S:inbox:<platform>:<user>` | string | the person's messaging state (customers.py) |
| `S:messages` | list | the customer messages sent or refused, oldest first (the last 10,000) |
| `S:rr` | hash | `owner:<group>` / `order:<group>` -> the group's round-robin picks so far |
| `S:autodrafts:<livestream>` | hash | seq -> the automation's last snapshot of that draft |
| `chotdon:shops` | set | the shops `apply_config` has set up (outside every tag) |

Every change is one optimistic transaction: read (each key WATCHed just before it is first
read), decide with the pure rules of orders/shop/order.py, workflow.py, customers.py and
chat.py, then MULTI/EXEC the writes; retried on WatchError. Putting a finished order (the
finalise's second half) is the same decision on a read made by the Redis Function
`chotdon_put_order` (orders/lua/shop.lua), which then commits the writes only if the same read
still sees the same (by value: a SHA1 of every key and value), else answers the new read: two
round trips instead of one per record read, and the command processor sends the first beside
the draft's finalise. Anything that read did not foresee takes the WATCH transaction.
Records are a key each (`ShopKeys.collections`), so a transaction conflicts only with
changes to the records it read: two finalises or status moves of different orders and
customers never retry
(benchmarks/command_bench.py measures it). Keys a transaction only writes (the status index,
the flags, read by the comment path with one HMGET per batch, the message log) never make
another retry; customer numbers come from HINCRBY outside the transaction, or in
`chotdon_put_order`'s read (a retried or refused one may leave a number unused); `S:rr` and
`S:counters`' merge number are read by the commands that take a turn or a number, which
serialise on them.
A command's outcome is stored under its command id (its own key) in the same transaction, for
30 days: a command delivered twice acts once and answers the stored outcome again
(`duplicate=True`). Refusals are stored too; a refused command changes nothing else.
Layout 1 (before issue 9) kept orders, customers, the index, chats and inbox states in one hash
each and WATCHed all of a shop's keys in every transaction; `ShopStore.migrate` (run by
`chotdon migrate`) moves them to keys in one transaction.
"""

from __future__ import annotations

from orders.shop.store.chats import ChatCommands
from orders.shop.store.customers import CustomerCommands
from orders.shop.store.orders import OrderCommands
from orders.shop.store.transaction import (
    MESSAGES_KEPT,
    OUTCOME_TTL,
    SHOPS_KEY,
    ShopResult,
    Snapshot,
    flags_key,
    shop_prefix,
)


class ShopStore(OrderCommands, CustomerCommands, ChatCommands):
    """Every change of a shop's orders, customers and chats, each one transaction."""


__all__ = [
    "MESSAGES_KEPT",
    "OUTCOME_TTL",
    "SHOPS_KEY",
    "ShopResult",
    "ShopStore",
    "Snapshot",
    "flags_key",
    "shop_prefix",
]
