"""The shop-level Redis store: finished orders, statuses, merges, customers, chat orders.

Every key of a shop carries the hash tag `{<shop>}` (one Cluster slot per shop); `S` below is
`chotdon:{<shop>}`. Livestream drafts live elsewhere (orders/store.py, `{<shop>:<livestream>}`).

| key | type | holds |
|---|---|---|
| `S:config` | string | the shop configuration JSON (`apply_config`) |
| `S:orders` | hash | order id -> order JSON (v1, orders/shop/order.py) |
| `S:ostatus` | hash | order id -> status key, for orders not merged into another |
| `S:customers` | hash | customer id (`C-<n>`) -> customer JSON (orders/shop/customers.py) |
| `S:cidx` | hash | `<platform>:<user_id>` / `phone:<phone>` -> the customer id owning it |
| `S:flags` | hash | the same fields -> {"returned": n, "blacklisted": bool} of their owner |
| `S:counters` | hash | `customer`, `merge`: the last number given (C-<n>, M-<n>) |
| `S:cmd:<command id>` | string | the command's outcome (`ShopResult` JSON), kept 30 days |
| `S:chats` | hash | conversation id -> its latest chat draft JSON (orders/shop/chat.py) |
| `S:chatopen` | hash | conversation id -> salesperson, for the open chat drafts |
| `S:inbox` | hash | `<platform>:<user_id>` -> the person's messaging state (customers.py) |
| `S:messages` | list | the customer messages sent or refused, oldest first (the last 10,000) |
| `S:rr` | hash | `owner:<group>` / `order:<group>` -> the group's round-robin picks so far |
| `S:autodrafts:<livestream>` | hash | seq -> the automation's last snapshot of that draft |
| `chotdon:shops` | set | the shops `apply_config` has set up (outside every tag) |

Every change is one optimistic transaction: WATCH the shop's keys, read, decide with the pure
rules of orders/shop/order.py, workflow.py, customers.py and chat.py, then MULTI/EXEC the
writes; retried on WatchError. Concurrent commands of one shop therefore conflict and retry
(benchmarks/command_bench.py measures it): fine at staff speed, the first thing to change for
many concurrent workers per shop (a key per order, WATCH what is read).
`S:messages` (only ever appended) and `S:autodrafts:*` (one atomic script, written at the pace
of draft events) stay out of the WATCH, so they never make a staff command retry.
A command's outcome is stored under its command id (its own key) in the same transaction, for
30 days: a command delivered twice acts once and answers the stored outcome again
(`duplicate=True`). Refusals are stored too; a refused command changes nothing else.
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
    "flags_key",
    "shop_prefix",
]
