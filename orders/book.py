"""The order book: ARCHITECTURE.md "Order semantics" as pure, in-memory Python.

This is the reference for the Redis Function in lua/orderbook.lua, which carries out the same rules
atomically; tests/integration/test_store.py runs both on the same events and requires equal drafts.
Decisions where the architecture is silent are listed in orders/README.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from config.shop import Product
from orders.events import CommentEvent, validate_events
from orders.model import Customer, CustomerFacts, Draft, Json, Line, Request
from parsers.models import ItemStatus, ParsedItem

RepeatRule = Literal["ignore", "add"]
OrderSignature = tuple[tuple[str, tuple[tuple[str, str], ...], int], ...]


def order_signature(items: Iterable[ParsedItem]) -> OrderSignature:
    """The items of an order comment as a multiset: equal signatures make a repeat."""
    return tuple(sorted((item.code, tuple(sorted(item.attributes.items())), item.qty)
                        for item in items))  # fmt: skip


def line_status(item: ParsedItem, product: Product | None) -> ItemStatus:
    """The book's own catalogue decides: the parser's grammar may predate a product change."""
    if product is None:
        return "unknown_code"
    if item.status == "needs_variant" or any(a not in item.attributes for a in product.attributes):
        return "needs_variant"
    return "matched"


class OrderBook:
    def __init__(
        self,
        shop_id: str,
        livestream_id: str,
        products: Mapping[str, Product],
        repeat_comment: RepeatRule,
        open_for_orders: bool = True,
    ) -> None:
        self.shop_id = shop_id
        self.livestream_id = livestream_id
        self.repeat_comment: RepeatRule = repeat_comment
        self.is_open = open_for_orders
        # offsets are per Kafka partition: one watermark for each partition comments came from
        self.watermarks: dict[int, int] = {}
        self.last_seq = 0
        self._products: dict[str, Product] = dict(products)
        self._held: dict[str, int] = {}  # units reserved by live lines, per product code
        self._queues: dict[str, list[Request]] = {}
        self._drafts: dict[str, Draft] = {}
        self._customers: dict[str, Customer] = {}
        self._seen: set[str] = set()
        self._unattributed: list[Json] = []
        self._changed: dict[str, Draft] = {}

    # -- reading -----------------------------------------------------------------------------

    def drafts(self) -> list[Json]:
        return [self._json(d) for d in sorted(self._drafts.values(), key=lambda d: d.seq)]

    def customers(self) -> dict[str, Json]:
        return {uid: c.facts.to_json() for uid, c in self._customers.items()}

    def unattributed(self) -> list[Json]:
        return [dict(entry) for entry in self._unattributed]

    # -- changing ----------------------------------------------------------------------------

    def apply(self, events: Sequence[CommentEvent]) -> list[Json]:
        """Apply a batch in order; return the drafts it changed, by seq."""
        validate_events(events)
        for event in events:
            self._apply_one(event)
        return self._finish()

    def set_products(self, products: Mapping[str, Product]) -> list[Json]:
        """A mid-live product change: it applies to the next comments; lines keep their price.

        A stock raise serves the product's queue at once; such a change is no comment, so it
        does not move `updated_at`.
        """
        self._products = dict(products)
        for code in self._products:
            self._serve(code, None)
        return self._finish()

    def close(self) -> None:
        self.is_open = False

    @property
    def watermark(self) -> int:
        """The highest watermark over the partitions (-1 before any comment)."""
        return max(self.watermarks.values(), default=-1)

    # -- one comment -------------------------------------------------------------------------

    def _apply_one(self, event: CommentEvent) -> None:
        if event.offset <= self.watermarks.get(event.partition, -1):
            return
        self.watermarks[event.partition] = event.offset
        if event.comment_id in self._seen:
            return
        self._seen.add(event.comment_id)
        if event.user_id is None:
            self._unattributed.append(unattributed_entry(event))
            return
        customer = self._customer_facts(event.user_id, event)
        if not self.is_open:
            return
        if event.intent == "order" and event.items:
            self._order(event.user_id, customer, event)
        elif event.intent == "cancel":
            self._cancel(event.user_id, customer, event)

    def _customer_facts(self, user_id: str, event: CommentEvent) -> Customer:
        customer = self._customers.get(user_id)
        if customer is None:
            customer = Customer(CustomerFacts(event.platform, user_id))
            self._customers[user_id] = customer
        facts = customer.facts
        facts.platform = event.platform
        if event.user_name:
            facts.name = event.user_name
        if event.phone:
            facts.phone = event.phone
        draft = self._drafts.get(user_id)
        if self.is_open and draft is not None and draft.customer != facts:
            draft.customer = facts.copy()
            self._touch(user_id, draft, event)
        return customer

    def _order(self, user_id: str, customer: Customer, event: CommentEvent) -> None:
        signature = order_signature(event.items)
        repeat = customer.last_order == signature
        customer.last_order = signature
        if repeat and self.repeat_comment == "ignore":
            return
        draft = self._drafts.get(user_id)
        if draft is None:
            self.last_seq += 1
            draft = Draft(self.last_seq, customer.facts.copy(), event.created_at, event.created_at)
            self._drafts[user_id] = draft
        elif draft.status == "cancelled":
            # Reopen: same number, no lines; what was cancelled stays on record in the history.
            draft.history.extend(draft.lines)
            draft.lines = []
            draft.status = "open"
        for item in event.items:
            self._add_item(user_id, draft, item, event.comment_id)
        self._touch(user_id, draft, event)

    def _add_item(self, user_id: str, draft: Draft, item: ParsedItem, comment_id: str) -> None:
        product = self._products.get(item.code)
        known = product is not None
        line = next((ln for ln in draft.lines if ln.code == item.code
                     and ln.attributes == item.attributes and ln.known == known), None)  # fmt: skip
        if line is None:
            line = Line(
                id=draft.next_line_id,
                code=item.code,
                name=product.name if product else None,
                attributes=dict(item.attributes),
                qty=item.qty,
                status=line_status(item, product),
                unit_price=product.price if product else None,
                comment_ids=[comment_id],
            )
            draft.next_line_id += 1
            draft.lines.append(line)
        else:
            line.qty += item.qty
            if line.comment_ids[-1] != comment_id:
                line.comment_ids.append(comment_id)
        if product is not None:
            self._request(user_id, line, product, item.qty)

    def _request(self, user_id: str, line: Line, product: Product, units: int) -> None:
        held = self._held.get(product.code, 0)
        take = units if product.stock is None else max(0, min(units, product.stock - held))
        line.reserved += take
        self._held[product.code] = held + take
        rest = units - take
        if rest:
            queue = self._queues.setdefault(product.code, [])
            queue.append(Request(user_id, line.id, rest))
            if line.waiting == 0:
                line.waitlist = len(queue)
            line.waiting += rest

    def _cancel(self, user_id: str, customer: Customer, event: CommentEvent) -> None:
        customer.last_order = None
        draft = self._drafts.get(user_id)
        if draft is None or draft.status == "cancelled":
            return
        doomed = [line for line in draft.lines if cancels(event.items, line)]
        if event.items and not doomed:
            return
        self._release(user_id, draft, doomed if event.items else draft.lines, event)
        if len(doomed) == len(draft.lines) or not event.items:
            draft.status = "cancelled"  # its lines stay in `lines`, for the record
        else:
            gone = {line.id for line in doomed}
            draft.lines = [line for line in draft.lines if line.id not in gone]
            draft.history.extend(doomed)
        self._touch(user_id, draft, event)

    # -- stock -------------------------------------------------------------------------------

    def _release(
        self, user_id: str, draft: Draft, lines: Sequence[Line], event: CommentEvent
    ) -> None:
        """Take lines out of stock: drop their waiting requests, then free their units.

        All requests go first so that freed units never serve a line that is leaving too.
        """
        freed: list[str] = []
        for line in lines:
            if line.waiting:
                queue = self._queues[line.code]
                queue[:] = [r for r in queue if (r.user_id, r.line_id) != (user_id, line.id)]
            line.waiting = 0
            line.waitlist = None
            if line.reserved:
                self._held[line.code] -= line.reserved
                line.reserved = 0
                freed.append(line.code)
        for code in dict.fromkeys(freed):
            self._serve(code, event)

    def _serve(self, code: str, event: CommentEvent | None) -> None:
        """Released or added units go to the head of the queue, partially if need be."""
        product = self._products.get(code)
        queue = self._queues.get(code)
        if product is None or not queue:
            return
        while queue:
            available = None if product.stock is None else product.stock - self._held.get(code, 0)
            if available is not None and available <= 0:
                return
            head = queue[0]
            take = head.units if available is None else min(available, head.units)
            draft = self._drafts[head.user_id]
            line = draft.line(head.line_id)
            line.reserved += take
            line.waiting -= take
            self._held[code] = self._held.get(code, 0) + take
            head.units -= take
            if head.units == 0:
                queue.pop(0)
            if line.waiting == 0:
                line.waitlist = None
            self._touch(head.user_id, draft, event)

    # -- bookkeeping -------------------------------------------------------------------------

    def _touch(self, user_id: str, draft: Draft, event: CommentEvent | None) -> None:
        self._changed[user_id] = draft
        if event is not None:
            draft.updated_at = event.created_at

    def _finish(self) -> list[Json]:
        """Queue places moved by this batch change drafts too (without moving updated_at)."""
        for queue in self._queues.values():
            first: dict[tuple[str, int], int] = {}
            for place, request in enumerate(queue, start=1):
                first.setdefault((request.user_id, request.line_id), place)
            for (user_id, line_id), place in first.items():
                draft = self._drafts[user_id]
                line = draft.line(line_id)
                if line.waitlist != place:
                    line.waitlist = place
                    self._changed[user_id] = draft
        changed = sorted(self._changed.values(), key=lambda d: d.seq)
        self._changed = {}
        return [self._json(d) for d in changed]

    def _json(self, draft: Draft) -> Json:
        return draft.to_json(self.shop_id, self.livestream_id)


def cancels(items: Sequence[ParsedItem], line: Line) -> bool:
    """A cancel item names a line by its code and any subset of its attributes."""
    return any(
        line.code == item.code
        and all(line.attributes.get(k) == v for k, v in item.attributes.items())
        for item in items
    )


def unattributed_entry(event: CommentEvent) -> Json:
    return {
        "comment_id": event.comment_id,
        "created_at": event.created_at,
        "intent": event.intent,
        "items": [item.to_dict() for item in event.items],
    }
