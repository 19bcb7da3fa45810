"""The order book: ARCHITECTURE.md "Order semantics" as pure, in-memory Python.

This is the reference for the Redis Function in lua/orderbook.lua, which carries out the same rules
atomically; tests/integration/test_store.py runs both on the same events and requires equal drafts.
Decisions where the architecture is silent are listed in orders/README.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import orjson

from config.shop import Product
from orders.events import CREATING_ACTIONS, CommentEvent, validate_events, validate_op
from orders.model import (
    CommandStatus,
    Customer,
    CustomerFacts,
    Draft,
    Json,
    Line,
    ReasonTuple,
    Request,
)
from parsers.models import ItemStatus, ParsedItem

RepeatRule = Literal["ignore", "add"]
OrderSignature = tuple[tuple[str, tuple[tuple[str, str], ...], int], ...]
CommandAnswer = tuple[CommandStatus, list[ReasonTuple], Json | None, list[Json]]


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
        self._drafts: dict[str, Draft] = {}  # user id -> their current draft
        self._by_seq: dict[int, Draft] = {}  # every draft, finalised ones included
        self._customers: dict[str, Customer] = {}
        self._seen: set[str] = set()
        self._unattributed: list[Json] = []
        self._changed: dict[str, Draft] = {}
        # command id -> (status, reasons, seq of the draft found or None): idempotence
        self._commands: dict[str, tuple[CommandStatus, list[ReasonTuple], int | None]] = {}

    # -- reading -----------------------------------------------------------------------------

    def drafts(self) -> list[Json]:
        return [self._json(self._by_seq[seq]) for seq in sorted(self._by_seq)]

    def queues(self) -> dict[str, list[tuple[int, int, str]]]:
        """Each product's waitlist: (units, line id, user id) per request, head first."""
        return {code: [(r.units, r.line_id, r.user_id) for r in queue]
                for code, queue in sorted(self._queues.items()) if queue}  # fmt: skip

    def held(self) -> dict[str, int]:
        """Units reserved by lines, per product code (products with none left out)."""
        return {code: units for code, units in sorted(self._held.items()) if units}

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

    # -- staff commands ----------------------------------------------------------------------

    def command(self, command_id: str, op: Mapping[str, Any]) -> CommandAnswer:
        """Apply a staff command's op to the draft it addresses by seq (orders/README.md).

        Returns (status, reasons, the addressed draft, the other drafts whose content changed).
        An applied or refused outcome is kept under the command id: the same id again changes
        nothing and answers that outcome with the draft as it is now. A command whose
        `expect` (required by finalise, optional for the rest) is not the draft as it is now
        is "stale" and kept nowhere.
        """
        validate_op(command_id, op)
        stored = self._commands.get(command_id)
        if stored is not None:
            status, reasons, found = stored
            current = None if found is None else self._json(self._by_seq[found])
            return status, _copy_reasons(reasons), current, []
        seq: int = op["seq"]
        draft = self._by_seq.get(seq)
        if draft is None:
            return self._answer(command_id, None, [("draft_not_found", "seq", {"seq": seq})])
        if draft.status != "open":
            reason: ReasonTuple = ("draft_not_open", None, {"status": draft.status})
            return self._answer(command_id, draft, [reason])
        expect = op.get("expect")
        if expect is not None and not _same_view(expect, self._json(draft)):
            return "stale", [], self._json(draft), []
        refusals = self._command_problems(draft, op)
        if refusals:
            return self._answer(command_id, draft, refusals)
        user_id = draft.customer.user_id
        self._act(user_id, draft, op)
        content = {uid for uid, d in self._changed.items() if d is not draft}
        changed = self._finish_drafts()
        others = [self._json(d) for d in changed if d.customer.user_id in content]
        self._commands[command_id] = ("applied", [], seq)
        return "applied", [], self._json(draft), others

    def _answer(
        self, command_id: str, draft: Draft | None, reasons: list[ReasonTuple]
    ) -> CommandAnswer:
        """A refusal: kept under the command id, like an applied outcome."""
        self._commands[command_id] = ("refused", reasons, None if draft is None else draft.seq)
        current = None if draft is None else self._json(draft)
        return "refused", _copy_reasons(reasons), current, []

    def _command_problems(self, draft: Draft, op: Mapping[str, Any]) -> list[ReasonTuple]:
        """Every reason to refuse, once the draft is found and open; [] to apply."""
        kind = op["type"]
        if kind == "add_line":
            return self._product_problems(op["code"], op["attributes"])
        if kind not in ("pick_product", "choose_variant", "set_quantity", "remove_line"):
            return []
        position: int = op["line"]
        if position > len(draft.lines):
            return [("line_not_found", "line", {"line": position})]
        line = draft.lines[position - 1]
        at_line: dict[str, object] = {"line": position}
        if kind == "pick_product":
            reasons: list[ReasonTuple] = []
            if line.status == "custom":
                reasons.append(("custom_line", "line", at_line))
            elif line.status != "unknown_code":
                reasons.append(("not_unknown_code_line", "line", at_line))
            return reasons + self._product_problems(op["code"], op["attributes"])
        if kind == "choose_variant":
            if line.status == "custom":
                return [("custom_line", "line", at_line)]
            if line.status == "unknown_code" or line.code is None:
                return [("not_needs_variant_line", "line", at_line)]
            if line.code not in self._products:
                return [("unknown_product", "line", {"code": line.code})]
            return self._product_problems(line.code, op["attributes"])
        if (kind == "set_quantity" and line.known and op["qty"] > line.qty
                and line.code not in self._products):  # fmt: skip
            # more units are a stock request: a product out of the catalogue takes none
            return [("unknown_product", "line", {"code": line.code})]
        return []

    def _product_problems(self, code: str, attributes: Mapping[str, str]) -> list[ReasonTuple]:
        product = self._products.get(code)
        if product is None:
            return [("unknown_product", "code", {"code": code})]
        reasons: list[ReasonTuple] = []
        for name in sorted(attributes):
            value = attributes[name]
            if name not in product.attributes:
                reasons.append(
                    ("unknown_attribute", "attributes", {"code": code, "attribute": name})
                )
            elif value not in product.attributes[name]:
                params: dict[str, object] = {"code": code, "attribute": name, "value": value}
                reasons.append(("unknown_attribute_value", "attributes", params))
        return reasons

    def _act(self, user_id: str, draft: Draft, op: Mapping[str, Any]) -> None:
        """Carry out a checked op; touch the draft when its content changes."""
        kind, at = op["type"], op["at"]
        changed = True
        if kind == "set_customer":
            changed = False
            for key, value in op["contact"].items():
                if draft.contact[key] != value:
                    draft.contact[key] = value
                    changed = True
        elif kind == "pick_product":
            self._pick_product(user_id, draft, op["line"] - 1, op["code"], op["attributes"])
        elif kind == "choose_variant":
            changed = self._choose_variant(draft.lines[op["line"] - 1], op["attributes"])
        elif kind == "set_quantity":
            changed = self._set_quantity(user_id, draft.lines[op["line"] - 1], op["qty"], at)
        elif kind == "remove_line":
            line = draft.lines[op["line"] - 1]
            self._release(user_id, [line], at)
            draft.lines.remove(line)
            draft.history.append(line)
        elif kind == "add_line":
            item = ParsedItem(op["code"], op["qty"], dict(op["attributes"]), "matched")
            self._add_item(user_id, draft, item, None)
        elif kind == "add_custom_line":
            draft.lines.append(Line(id=draft.next_line_id, code=None, name=op["name"],
                                    attributes={}, qty=op["qty"], status="custom",
                                    unit_price=op["price"], comment_ids=[],
                                    reserved=op["qty"]))  # fmt: skip
            draft.next_line_id += 1
        elif kind == "assign":
            changed = draft.staff != op.get("assignee")
            draft.staff = op.get("assignee")
        else:
            changed = self._finalise(user_id, draft, op)
        if changed:
            self._touch(user_id, draft, at)

    def _pick_product(
        self, user_id: str, draft: Draft, index: int, code: str, attributes: Mapping[str, str]
    ) -> None:
        """An unknown-code line becomes a catalogue line in its place; the typed code stays
        visible in the history. The new line requests its units like a comment's item."""
        product = self._products[code]
        old = draft.lines[index]
        item = ParsedItem(code, old.qty, dict(attributes), "matched")
        line = Line(id=draft.next_line_id, code=code, name=product.name,
                    attributes=dict(attributes), qty=old.qty,
                    status=line_status(item, product), unit_price=product.price,
                    comment_ids=list(old.comment_ids))  # fmt: skip
        draft.next_line_id += 1
        draft.lines[index] = line
        draft.history.append(old)
        self._request(user_id, line, product, line.qty)

    def _choose_variant(self, line: Line, attributes: Mapping[str, str]) -> bool:
        """Merged into the line's attributes; its reservation stays; no merge with an equal
        line. Matched once every attribute of the product is set."""
        assert line.code is not None
        product = self._products[line.code]
        merged = {**line.attributes, **attributes}
        status: ItemStatus = (
            "matched" if all(a in merged for a in product.attributes) else "needs_variant"
        )
        if merged == line.attributes and status == line.status:
            return False
        line.attributes, line.status = merged, status
        return True

    def _set_quantity(self, user_id: str, line: Line, qty: int, at: str) -> bool:
        if qty == line.qty:
            return False
        if line.status == "custom":
            line.qty = line.reserved = qty
        elif not line.known or line.code is None:
            line.qty = qty
        elif qty > line.qty:
            units = qty - line.qty
            line.qty = qty
            self._request(user_id, line, self._products[line.code], units)
        else:
            self._reduce(user_id, line, line.code, line.qty - qty, at)
        return True

    def _finalise(self, user_id: str, draft: Draft, op: Mapping[str, Any]) -> bool:
        action: str = op["action"]
        if action == "save":
            changed = draft.action != "save"
            draft.action = "save"
            return changed
        customer = self._customers[user_id]
        customer.last_order = None  # a repeat of the last order is a new order now
        if action == "cancel":
            self._release(user_id, draft.lines, op["at"])
            draft.status = "cancelled"
        else:
            assert action in CREATING_ACTIONS
            # Sold: reserved units stay held for good; units still waiting leave the queues.
            for line in draft.lines:
                self._drop_waiting(user_id, line)
            draft.status = "finalised"
            draft.order_id = op["order_id"]
            draft.finalised_at = op["at"]
            draft.finalised_by = op["staff"]
        draft.action = action
        return True

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
        if (self.is_open and draft is not None and draft.status != "finalised"
                and draft.customer != facts):  # fmt: skip
            draft.customer = facts.copy()
            self._touch(user_id, draft, event.created_at)
        return customer

    def _order(self, user_id: str, customer: Customer, event: CommentEvent) -> None:
        signature = order_signature(event.items)
        repeat = customer.last_order == signature
        customer.last_order = signature
        if repeat and self.repeat_comment == "ignore":
            return
        draft = self._drafts.get(user_id)
        if draft is None or draft.status == "finalised":
            # A finalised draft stays as it is, under its number; the customer starts a new one.
            self.last_seq += 1
            draft = Draft(self.last_seq, customer.facts.copy(), event.created_at, event.created_at)
            self._drafts[user_id] = draft
            self._by_seq[draft.seq] = draft
        elif draft.status == "cancelled":
            # Reopen: same number, no lines; what was cancelled stays on record in the history.
            draft.history.extend(draft.lines)
            draft.lines = []
            draft.status = "open"
            draft.action = None  # the action it recorded (a staff cancel) no longer holds
        for item in event.items:
            self._add_item(user_id, draft, item, event.comment_id)
        self._touch(user_id, draft, event.created_at)

    def _add_item(
        self, user_id: str, draft: Draft, item: ParsedItem, comment_id: str | None
    ) -> None:
        """A comment's item, or a line staff added (no comment id)."""
        product = self._products.get(item.code)
        known = product is not None
        line = next((ln for ln in draft.lines if ln.code == item.code and ln.status != "custom"
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
                comment_ids=[] if comment_id is None else [comment_id],
            )
            draft.next_line_id += 1
            draft.lines.append(line)
        else:
            line.qty += item.qty
            if comment_id is not None and line.comment_ids[-1:] != [comment_id]:
                line.comment_ids.append(comment_id)
        if product is not None:
            self._request(user_id, line, product, item.qty)

    def _request(self, user_id: str, line: Line, product: Product, units: int) -> None:
        """line.qty already counts the units; a line that was waiting keeps its earliest place."""
        held = self._held.get(product.code, 0)
        take = units if product.stock is None else max(0, min(units, product.stock - held))
        line.reserved += take
        self._held[product.code] = held + take
        rest = units - take
        if rest:
            self._queues.setdefault(product.code, []).append(Request(user_id, line.id, rest))
            line.waiting += rest

    def _cancel(self, user_id: str, customer: Customer, event: CommentEvent) -> None:
        customer.last_order = None
        draft = self._drafts.get(user_id)
        if draft is None or draft.status != "open":
            return
        doomed = [line for line in draft.lines if cancels(event.items, line)]
        if event.items and not doomed:
            return
        self._release(user_id, doomed if event.items else draft.lines, event.created_at)
        if len(doomed) == len(draft.lines) or not event.items:
            draft.status = "cancelled"  # its lines stay in `lines`, for the record
        else:
            gone = {line.id for line in doomed}
            draft.lines = [line for line in draft.lines if line.id not in gone]
            draft.history.extend(doomed)
        self._touch(user_id, draft, event.created_at)

    # -- stock -------------------------------------------------------------------------------

    def _release(self, user_id: str, lines: Sequence[Line], at: str | None) -> None:
        """Take lines out of stock: drop their waiting requests, then free their units.

        All requests go first so that freed units never serve a line that is leaving too.
        A custom line holds no stock: its `reserved` just drops to 0.
        """
        freed: list[str] = []
        for line in lines:
            self._drop_waiting(user_id, line)
            if line.reserved and line.known and line.code is not None:
                self._held[line.code] -= line.reserved
                freed.append(line.code)
            line.reserved = 0
        for code in dict.fromkeys(freed):
            self._serve(code, at)

    def _drop_waiting(self, user_id: str, line: Line) -> None:
        if line.waiting and line.code is not None:
            queue = self._queues[line.code]
            queue[:] = [r for r in queue if (r.user_id, r.line_id) != (user_id, line.id)]
        line.waiting = 0

    def _reduce(self, user_id: str, line: Line, product_code: str, units: int, at: str) -> None:
        """Fewer units: waiting units go first (the line's latest requests), then reserved
        ones, which serve the head of the queue like a cancel's release."""
        line.qty -= units
        drop = min(units, line.waiting)
        if drop:
            queue = self._queues[product_code]
            left = drop
            for index in range(len(queue) - 1, -1, -1):
                request = queue[index]
                if (request.user_id, request.line_id) != (user_id, line.id):
                    continue
                take = min(left, request.units)
                request.units -= take
                left -= take
                if request.units == 0:
                    del queue[index]
                if left == 0:
                    break
            line.waiting -= drop
        rest = units - drop
        if rest:
            line.reserved -= rest
            self._held[product_code] -= rest
            self._serve(product_code, at)

    def _serve(self, code: str, at: str | None) -> None:
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
            self._touch(head.user_id, draft, at)

    # -- bookkeeping -------------------------------------------------------------------------

    def _touch(self, user_id: str, draft: Draft, at: str | None) -> None:
        """The draft's content changed; `at` (a comment's or a command's time) stamps it."""
        self._changed[user_id] = draft
        if at is not None:
            draft.updated_at = at

    def _finish(self) -> list[Json]:
        return [self._json(d) for d in self._finish_drafts()]

    def _finish_drafts(self) -> list[Draft]:
        """The drafts whose content changed. A place moving up the queue (someone ahead
        left) is no change of a draft: places are counted when a draft is shown."""
        changed = sorted(self._changed.values(), key=lambda d: d.seq)
        self._changed = {}
        return changed

    def _json(self, draft: Draft) -> Json:
        user_id = draft.customer.user_id
        for line in (*draft.lines, *draft.history):
            line.waitlist = self._place(user_id, line) if line.waiting else None
        return draft.to_json(self.shop_id, self.livestream_id)

    def _place(self, user_id: str, line: Line) -> int | None:
        """The 1-based place of the line's earliest waiting request in its product's queue."""
        queue = self._queues.get(line.code or "", [])
        for place, request in enumerate(queue, start=1):
            if (request.user_id, request.line_id) == (user_id, line.id):
                return place
        return None


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


def _same_view(expect: str, current: Json) -> bool:
    """The caller's view of the draft (JSON text read from the store) is the draft now."""
    try:
        return bool(orjson.loads(expect) == current)
    except orjson.JSONDecodeError:
        return False


def _copy_reasons(reasons: list[ReasonTuple]) -> list[ReasonTuple]:
    return [(code, field, dict(params)) for code, field, params in reasons]
