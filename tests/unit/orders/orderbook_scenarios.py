"""Order-book scenarios shared by the pure model's unit tests and the Redis store's tests.

Each scenario is a catalogue and a list of steps (comment batches, product changes, a stop, staff
commands); `check` asserts the rules on the pure model. tests/integration/test_store.py runs the
same steps through the Redis Functions and requires the very same outputs step by step, then the
same drafts, customers, unattributed comments, held units and waitlists.

One file on purpose: it is one table that both suites import whole, and a scenario is read on
its own; splitting it by topic would only scatter the table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from config.shop import Product
from orders.book import OrderBook
from orders.events import CommentEvent, Intent
from parsers.models import ItemStatus, ParsedItem

Json = dict[str, Any]

SHOP = "shop-test"
LIVE = "live-1"


def product(
    code: str,
    price: int = 100_000,
    stock: int | None = None,
    name: str | None = None,
    **attributes: tuple[str, ...],
) -> Product:
    return Product(
        code=code, name=name or f"Sản phẩm {code}", price=price, stock=stock, attributes=attributes
    )


A12 = product("A12", 159_000, name="Áo thun cotton", size=("S", "M", "L"), color=("đỏ", "đen"))
B3 = product("B3", 350_000, stock=3, name="Quần jean", size=("28", "29", "30"))
MP10 = product("MP10", 120_000, name="Son kem lì")
CATALOGUE = (A12, B3, MP10)


def item(code: str, qty: int = 1, status: ItemStatus = "matched", **attrs: str) -> ParsedItem:
    return ParsedItem(code=code, qty=qty, attributes=dict(attrs), status=status)


def unknown(code: str, qty: int = 1, **attrs: str) -> ParsedItem:
    return item(code, qty, "unknown_code", **attrs)


def at(n: int) -> str:
    return f"2026-05-01T20:{n // 60:02d}:{n % 60:02d}+07:00"


def cmd_at(n: int) -> str:
    """Staff commands' times: an hour after the comments', easy to tell apart."""
    return f"2026-05-01T21:{n // 60:02d}:{n % 60:02d}+07:00"


class Feed:
    """Comments with increasing offsets and times; ids default to c<offset>."""

    def __init__(self) -> None:
        self.offset = -1
        self.commands = 0  # staff commands built so far: their times are cmd_at(1), cmd_at(2)...

    def __call__(
        self,
        user: str | None,
        intent: Intent,
        *items: ParsedItem,
        cid: str | None = None,
        phone: str | None = None,
        name: str | None = None,
        offset: int | None = None,
    ) -> CommentEvent:
        self.offset = self.offset + 1 if offset is None else offset
        return CommentEvent(
            comment_id=cid or f"c{self.offset}",
            offset=self.offset,
            platform="facebook",
            user_id=user,
            user_name=f"Khách {user}" if name is None else name,
            created_at=at(self.offset),
            intent=intent,
            phone=phone,
            items=tuple(items),
        )


@dataclass(frozen=True)
class Apply:
    events: tuple[CommentEvent, ...]


@dataclass(frozen=True)
class SetProducts:
    products: tuple[Product, ...]


@dataclass(frozen=True)
class Close:
    pass


# A finalise op's `expect`: each side puts the draft's view as it is now (CURRENT), or a view
# that is not (STALE), in its place.
CURRENT = "<the view as it is now>"
STALE = "<a view that is not>"


@dataclass(frozen=True)
class Command:
    command_id: str
    op: Json


Step = Apply | SetProducts | Close | Command
# A command step's output: (status, reasons, draft, others); other steps': the drafts changed.
Check = Callable[[OrderBook, list[Any]], None]


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    check: Check
    products: tuple[Product, ...] = CATALOGUE
    repeat: Literal["ignore", "add"] = "ignore"
    _: None = field(default=None, repr=False)


def resolve_expect(op: Json, view: str | None) -> Json:
    """The op with CURRENT or STALE replaced by a view (`view`: the draft's JSON now)."""
    if op.get("expect") == CURRENT:
        return {**op, "expect": view or ""}
    if op.get("expect") == STALE:
        return {**op, "expect": "{}"}
    return op


def model_view(book: OrderBook, seq: int) -> str | None:
    found = [d for d in book.drafts() if d["seq"] == seq]
    return orjson.dumps(found[0]).decode() if found else None


def run_command(book: OrderBook, step: Command) -> tuple[Any, ...]:
    return book.command(step.command_id, resolve_expect(step.op, model_view(book, step.op["seq"])))


def run_model(scenario: Scenario) -> tuple[OrderBook, list[Any]]:
    book = OrderBook(SHOP, LIVE, {p.code: p for p in scenario.products}, scenario.repeat)
    outputs: list[Any] = []
    for step in scenario.steps:
        if isinstance(step, Apply):
            outputs.append(book.apply(step.events))
        elif isinstance(step, SetProducts):
            outputs.append(book.set_products({p.code: p for p in step.products}))
        elif isinstance(step, Command):
            outputs.append(run_command(book, step))
        else:
            book.close()
            outputs.append([])
    return book, outputs


# -- helpers for checks ------------------------------------------------------------------------


def draft(book: OrderBook, seq: int) -> Json:
    return next(d for d in book.drafts() if d["seq"] == seq)


def of_user(book: OrderBook, user: str) -> Json:
    return next(d for d in book.drafts() if d["customer"]["user_id"] == user)


def lines(d: Json, key: str = "lines") -> list[tuple[Any, ...]]:
    """(code, attributes, qty, reserved, waitlist) per line."""
    return [
        (ln["code"], ln["attributes"], ln["qty"], ln["reserved"], ln["waitlist"]) for ln in d[key]
    ]


def seqs(output: Sequence[Json]) -> list[int]:
    return [d["seq"] for d in output]


SCENARIOS: list[Scenario] = []


def scenario(
    *steps_of: Callable[[Feed], Sequence[Step]],
    products: tuple[Product, ...] = CATALOGUE,
    repeat: Literal["ignore", "add"] = "ignore",
) -> Callable[[Check], Check]:
    """Registers the decorated check with the steps built from a fresh Feed."""

    def register(check: Check) -> Check:
        feed = Feed()
        steps = tuple(step for build in steps_of for step in build(feed))
        SCENARIOS.append(Scenario(check.__name__, steps, check, products, repeat))
        return check

    return register


def batch(*make: Callable[[Feed], CommentEvent]) -> Callable[[Feed], Sequence[Step]]:
    return lambda f: [Apply(tuple(m(f) for m in make))]


def o(user: str | None, *items: ParsedItem, **kw: Any) -> Callable[[Feed], CommentEvent]:
    return lambda f: f(user, "order", *items, **kw)


def x(user: str | None, *items: ParsedItem, **kw: Any) -> Callable[[Feed], CommentEvent]:
    return lambda f: f(user, "cancel", *items, **kw)


def n(user: str | None, **kw: Any) -> Callable[[Feed], CommentEvent]:
    return lambda f: f(user, "none", **kw)


def set_products(*products: Product) -> Callable[[Feed], Sequence[Step]]:
    return lambda f: [SetProducts(products)]


def close() -> Callable[[Feed], Sequence[Step]]:
    return lambda f: [Close()]


def cmd(command_id: str, kind: str, seq: int, **fields: Any) -> Callable[[Feed], Sequence[Step]]:
    """A staff command's op (by staff nv1), timed cmd_at(n) for the scenario's n-th command."""

    def build(f: Feed) -> Sequence[Step]:
        f.commands += 1
        op = {"type": kind, "seq": seq, "at": cmd_at(f.commands), "staff": "nv1", **fields}
        return [Command(command_id, op)]

    return build


def fin(
    command_id: str, seq: int, action: str, expect: str = CURRENT
) -> Callable[[Feed], Sequence[Step]]:
    return cmd(command_id, "finalise", seq, action=action, expect=expect,
               order_id=f"{LIVE}-{seq}")  # fmt: skip


# -- numbering ---------------------------------------------------------------------------------


@scenario(batch(o("u1", item("MP10"))))
def first_order_takes_number_1(book: OrderBook, out: list[list[Json]]) -> None:
    d = draft(book, 1)
    assert d["status"] == "open" and d["customer"]["user_id"] == "u1"
    assert d["created_at"] == d["updated_at"] == at(0)
    assert seqs(out[0]) == [1]


@scenario(
    batch(
        o("u1", item("MP10")),
        o("u2", item("MP10")),
        o("u1", item("A12", size="M")),
        o("u3", item("MP10")),
    )
)
def numbers_follow_first_order(book: OrderBook, out: list[list[Json]]) -> None:
    assert [d["customer"]["user_id"] for d in book.drafts()] == ["u1", "u2", "u3"]
    assert len(lines(of_user(book, "u1"))) == 2
    assert seqs(out[0]) == [1, 2, 3]


@scenario(
    batch(n("u1"), x("u2"), x("u4", item("MP10")), o("u3", item("MP10"))),
    batch(o("u1", item("MP10"))),
)
def none_and_cancel_take_no_number(book: OrderBook, out: list[list[Json]]) -> None:
    assert [(d["seq"], d["customer"]["user_id"]) for d in book.drafts()] == [(1, "u3"), (2, "u1")]
    assert book.last_seq == 2


@scenario(batch(o("u1", item("MP10"))), batch(x("u1")), batch(o("u2", item("MP10"))))
def numbers_are_never_reused(book: OrderBook, out: list[list[Json]]) -> None:
    assert draft(book, 1)["status"] == "cancelled"
    assert of_user(book, "u2")["seq"] == 2


@scenario(batch(o("u1"), o("u2", item("MP10"))))
def order_intent_without_items_creates_nothing(book: OrderBook, out: list[list[Json]]) -> None:
    assert [d["customer"]["user_id"] for d in book.drafts()] == ["u2"]


# -- lines -------------------------------------------------------------------------------------


@scenario(
    batch(
        o("u1", item("A12", 1, size="M", color="đỏ")), o("u1", item("A12", 2, size="M", color="đỏ"))
    )
)
def same_code_and_attributes_merge(book: OrderBook, out: list[list[Json]]) -> None:
    d = draft(book, 1)
    assert lines(d) == [("A12", {"size": "M", "color": "đỏ"}, 3, 3, None)]
    assert d["lines"][0]["comment_ids"] == ["c0", "c1"]
    assert d["total"] == 3 * 159_000


@scenario(
    batch(
        o("u1", item("A12", size="M", status="needs_variant")),
        o("u1", item("A12", size="M", color="đỏ")),
    )
)
def different_attributes_make_a_new_line(book: OrderBook, out: list[list[Json]]) -> None:
    d = draft(book, 1)
    assert [ln["attributes"] for ln in d["lines"]] == [{"size": "M"}, {"size": "M", "color": "đỏ"}]
    assert [ln["status"] for ln in d["lines"]] == ["needs_variant", "matched"]


@scenario(
    batch(o("u1", item("B3", size="29")), o("u1", item("MP10")), o("u1", item("B3", 2, size="29")))
)
def lines_keep_first_appearance_order(book: OrderBook, out: list[list[Json]]) -> None:
    assert [(ln[0], ln[2]) for ln in lines(draft(book, 1))] == [("B3", 3), ("MP10", 1)]


@scenario(batch(o("u1", item("MP10"), item("MP10", 2))))
def same_item_twice_in_one_comment(book: OrderBook, out: list[list[Json]]) -> None:
    d = draft(book, 1)
    assert lines(d) == [("MP10", {}, 3, 3, None)]
    assert d["lines"][0]["comment_ids"] == ["c0"]


@scenario(batch(o("u1", item("A12", size="M", color="đen"))))
def line_shows_product_name_and_price(book: OrderBook, out: list[list[Json]]) -> None:
    line = draft(book, 1)["lines"][0]
    assert (line["name"], line["unit_price"], line["status"]) == (
        "Áo thun cotton",
        159_000,
        "matched",
    )


@scenario(batch(o("u1", item("A12", size="M")), o("u1", item("A12", 1, "needs_variant"))))
def catalogue_decides_needs_variant(book: OrderBook, out: list[list[Json]]) -> None:
    # The parser said matched, but A12 has size and colour: the book's catalogue decides.
    assert [ln["status"] for ln in draft(book, 1)["lines"]] == ["needs_variant", "needs_variant"]


# -- repeats -----------------------------------------------------------------------------------


@scenario(batch(o("u1", item("MP10", 2))), batch(o("u1", item("MP10", 2))))
def repeat_comment_is_ignored(book: OrderBook, out: list[list[Json]]) -> None:
    assert lines(draft(book, 1)) == [("MP10", {}, 2, 2, None)]
    assert out[1] == []


@scenario(
    batch(
        o("u1", item("MP10"), item("A12", size="M", color="đỏ")),
        o("u1", item("A12", size="M", color="đỏ"), item("MP10")),
    )
)
def repeat_in_any_order_is_ignored(book: OrderBook, out: list[list[Json]]) -> None:
    assert [ln[2] for ln in lines(draft(book, 1))] == [1, 1]


@scenario(batch(o("u1", item("MP10", 2)), o("u1", item("MP10", 3))))
def different_quantity_is_no_repeat(book: OrderBook, out: list[list[Json]]) -> None:
    assert lines(draft(book, 1)) == [("MP10", {}, 5, 5, None)]


@scenario(batch(o("u1", item("MP10")), o("u1", item("MP10"), item("MP10"))))
def repeat_compares_multisets(book: OrderBook, out: list[list[Json]]) -> None:
    assert lines(draft(book, 1))[0][2] == 3


@scenario(batch(o("u1", item("MP10", 2)), o("u1", item("MP10", 2))), repeat="add")
def repeat_rule_add_adds(book: OrderBook, out: list[list[Json]]) -> None:
    assert lines(draft(book, 1)) == [("MP10", {}, 4, 4, None)]


@scenario(batch(o("u1", item("MP10")), n("u1", phone="0912345678"), x("u2"), o("u1", item("MP10"))))
def other_intents_between_do_not_matter(book: OrderBook, out: list[list[Json]]) -> None:
    assert lines(draft(book, 1))[0][2] == 1


@scenario(
    batch(o("u1", item("MP10")), o("u1", item("A12", size="S", color="đen")), o("u1", item("MP10")))
)
def only_the_previous_order_counts(book: OrderBook, out: list[list[Json]]) -> None:
    assert [ln[2] for ln in lines(draft(book, 1))] == [2, 1]


@scenario(batch(o("u1", item("MP10")), x("u1", item("B3")), o("u1", item("MP10"))))
def cancel_clears_repeat_memory(book: OrderBook, out: list[list[Json]]) -> None:
    assert lines(draft(book, 1))[0][2] == 2


@scenario(batch(o("u1", item("MP10")), o("u2", item("MP10"))))
def repeat_is_per_customer(book: OrderBook, out: list[list[Json]]) -> None:
    assert [lines(d)[0][2] for d in book.drafts()] == [1, 1]


@scenario(
    batch(o("u1", item("MP10")), o("u1", item("MP10"), cid="c9")),
    batch(o("u1", item("MP10"), phone="0987654321")),
)
def ignored_repeat_still_brings_the_phone(book: OrderBook, out: list[list[Json]]) -> None:
    d = draft(book, 1)
    assert lines(d)[0][2] == 1 and d["customer"]["phone"] == "0987654321"
    assert d["updated_at"] == at(2)


# -- cancels -----------------------------------------------------------------------------------


@scenario(
    batch(
        o("u1", item("A12", size="M", color="đỏ")),
        o("u1", item("A12", size="L")),
        o("u1", item("MP10")),
        x("u1", item("A12")),
    )
)
def cancel_by_code_removes_every_variant(book: OrderBook, out: list[list[Json]]) -> None:
    d = draft(book, 1)
    assert d["status"] == "open" and [ln[0] for ln in lines(d)] == ["MP10"]
    assert lines(d, "history") == [
        ("A12", {"size": "M", "color": "đỏ"}, 1, 0, None),
        ("A12", {"size": "L"}, 1, 0, None),
    ]
    assert d["updated_at"] == at(3) and d["total"] == 120_000


@scenario(
    batch(
        o("u1", item("A12", size="M", color="đỏ")),
        o("u1", item("A12", size="M", color="đen")),
        o("u1", item("A12", size="L", color="đỏ")),
        x("u1", item("A12", color="đỏ")),
    )
)
def cancel_names_an_attribute_subset(book: OrderBook, out: list[list[Json]]) -> None:
    d = draft(book, 1)
    assert [ln[1] for ln in lines(d)] == [{"size": "M", "color": "đen"}]
    assert len(d["history"]) == 2


@scenario(
    batch(o("u1", item("A12", size="M", color="đỏ"))),
    batch(x("u1", item("A12", size="L")), x("u1", item("B3"))),
)
def cancel_matching_nothing_changes_nothing(book: OrderBook, out: list[list[Json]]) -> None:
    d = draft(book, 1)
    assert d["status"] == "open" and len(d["lines"]) == 1 and out[1] == []


@scenario(
    batch(o("u1", item("B3", 2, size="29")), o("u1", item("MP10"))),
    batch(x("u1", item("B3"), item("MP10"))),
)
def cancel_leaving_no_line_cancels_the_draft(book: OrderBook, out: list[list[Json]]) -> None:
    d = draft(book, 1)
    assert d["status"] == "cancelled" and d["history"] == [] and d["total"] == 0
    assert lines(d) == [("B3", {"size": "29"}, 2, 0, None), ("MP10", {}, 1, 0, None)]


@scenario(batch(o("u1", item("B3", size="29")), x("u1")))
def cancel_without_items_cancels_the_draft(book: OrderBook, out: list[list[Json]]) -> None:
    d = draft(book, 1)
    assert d["status"] == "cancelled" and lines(d) == [("B3", {"size": "29"}, 1, 0, None)]
    assert d["updated_at"] == at(1)


@scenario(
    batch(o("u1", item("MP10")), o("u1", item("B3", size="28"))),
    batch(x("u1", item("MP10"))),
    batch(x("u1", item("B3"))),
)
def removal_then_last_line_cancel(book: OrderBook, out: list[list[Json]]) -> None:
    d = draft(book, 1)
    assert d["status"] == "cancelled"
    assert [ln[0] for ln in lines(d)] == ["B3"] and [ln[0] for ln in lines(d, "history")] == [
        "MP10"
    ]


@scenario(batch(o("u1", item("MP10")), x("u1")), batch(x("u1"), x("u1", item("MP10"))))
def cancel_of_cancelled_draft_changes_nothing(book: OrderBook, out: list[list[Json]]) -> None:
    assert out[1] == [] and draft(book, 1)["updated_at"] == at(1)


@scenario(
    batch(o("u1", item("B3", size="28")), o("u1", item("MP10", 2)), x("u1")),
    batch(o("u1", item("A12", size="S", color="đen"))),
)
def order_after_cancel_reopens_with_history(book: OrderBook, out: list[list[Json]]) -> None:
    d = draft(book, 1)
    assert d["status"] == "open" and d["created_at"] == at(0) and d["updated_at"] == at(3)
    assert lines(d) == [("A12", {"size": "S", "color": "đen"}, 1, 1, None)]
    assert lines(d, "history") == [("B3", {"size": "28"}, 1, 0, None), ("MP10", {}, 2, 0, None)]
    assert book.last_seq == 1


@scenario(batch(o("u1", item("MP10")), x("u1", item("MP10"))), batch(o("u1", item("MP10"))))
def reopen_after_cancel_by_items(book: OrderBook, out: list[list[Json]]) -> None:
    d = draft(book, 1)
    assert d["status"] == "open" and lines(d) == [("MP10", {}, 1, 1, None)]
    assert lines(d, "history") == [("MP10", {}, 1, 0, None)]


@scenario(
    batch(o("u1", item("B3", 2, size="28")), o("u2", item("B3", 2, size="29")), x("u1")),
    batch(o("u3", item("B3", 2, size="30")), o("u1", item("B3", size="28"))),
)
def reopened_draft_queues_at_the_back(book: OrderBook, out: list[list[Json]]) -> None:
    # B3 stock 3: u1 cancels and frees 2 -> u2 gets all 2; u3 gets 1 and waits for 1; u1 waits.
    assert lines(of_user(book, "u2")) == [("B3", {"size": "29"}, 2, 2, None)]
    assert lines(of_user(book, "u3")) == [("B3", {"size": "30"}, 2, 1, 1)]
    assert lines(of_user(book, "u1")) == [("B3", {"size": "28"}, 1, 0, 2)]


# -- stock -------------------------------------------------------------------------------------


@scenario(batch(o("u1", item("B3", 2, size="28")), o("u2", item("B3", 1, size="29"))))
def stock_is_reserved_while_it_lasts(book: OrderBook, out: list[list[Json]]) -> None:
    assert [lines(d)[0][3] for d in book.drafts()] == [2, 1]
    assert [lines(d)[0][4] for d in book.drafts()] == [None, None]


@scenario(
    batch(
        o("u1", item("B3", 2, size="28")),
        o("u2", item("B3", 3, size="29")),
        o("u3", item("B3", 1, size="30")),
    )
)
def partial_reservation_then_waitlist(book: OrderBook, out: list[list[Json]]) -> None:
    assert lines(of_user(book, "u2")) == [("B3", {"size": "29"}, 3, 1, 1)]
    assert lines(of_user(book, "u3")) == [("B3", {"size": "30"}, 1, 0, 2)]
    assert of_user(book, "u2")["total"] == 350_000


@scenario(
    batch(
        o("u1", item("B3", 3, size="28")),
        o("u2", item("B3", size="29")),
        o("u3", item("B3", size="30")),
        o("u2", item("B3", 2, size="29")),
    )
)
def more_units_for_a_waiting_line_join_the_back(book: OrderBook, out: list[list[Json]]) -> None:
    assert lines(of_user(book, "u2")) == [("B3", {"size": "29"}, 3, 0, 1)]
    assert lines(of_user(book, "u3"))[0][4] == 2


@scenario(
    batch(
        o("u1", item("B3", 3, size="28")),
        o("u2", item("B3", 3, size="29")),
        o("u3", item("B3", 1, size="30")),
    ),
    batch(x("u1", item("B3"))),
)
def released_units_go_to_the_head_partially(book: OrderBook, out: list[list[Json]]) -> None:
    assert lines(of_user(book, "u2")) == [("B3", {"size": "29"}, 3, 3, None)]
    assert lines(of_user(book, "u3")) == [("B3", {"size": "30"}, 1, 0, 1)]
    assert of_user(book, "u1")["status"] == "cancelled"
    # The serving comment stamps u2; u3 only moved up the queue: its place is counted when it
    # is shown, its draft did not change.
    assert of_user(book, "u2")["updated_at"] == at(3)
    assert of_user(book, "u3")["updated_at"] == at(2)
    assert seqs(out[1]) == [1, 2]


@scenario(
    batch(o("u1", item("B3", 3, size="28")), o("u2", item("B3", 4, size="29"))), batch(x("u1"))
)
def partly_served_request_stays_at_the_head(book: OrderBook, out: list[list[Json]]) -> None:
    assert lines(of_user(book, "u2")) == [("B3", {"size": "29"}, 4, 3, 1)]


@scenario(
    batch(
        o("u1", item("B3", 3, size="28")),
        o("u2", item("B3", size="29")),
        o("u3", item("B3", size="30")),
        o("u4", item("B3", size="28")),
    ),
    batch(x("u3")),
)
def cancel_of_a_waiting_line_moves_the_queue_up(book: OrderBook, out: list[list[Json]]) -> None:
    assert [lines(of_user(book, u))[0][4] for u in ("u2", "u4")] == [1, 2]
    assert seqs(out[1]) == [3]  # u4 moved up a place: shown so, no change of its draft
    assert of_user(book, "u4")["updated_at"] == at(3)


@scenario(
    batch(
        o("u1", item("B3", 2, size="28")),
        o("u1", item("B3", 2, size="29")),
        o("u2", item("B3", size="30")),
    ),
    batch(x("u1", item("B3", size="28"))),
)
def removed_line_releases_to_the_queue(book: OrderBook, out: list[list[Json]]) -> None:
    # u1's size-29 line waited for 1 unit: it is first in the queue and gets one of the 2 freed.
    assert lines(of_user(book, "u1")) == [("B3", {"size": "29"}, 2, 2, None)]
    assert lines(of_user(book, "u2")) == [("B3", {"size": "30"}, 1, 1, None)]


@scenario(
    batch(
        o("u1", item("B3", 2, size="28")),
        o("u1", item("B3", 3, size="29")),
        o("u2", item("B3", size="30")),
    ),
    batch(x("u1")),
)
def cancelled_lines_never_serve_each_other(book: OrderBook, out: list[list[Json]]) -> None:
    assert lines(of_user(book, "u1")) == [
        ("B3", {"size": "28"}, 2, 0, None),
        ("B3", {"size": "29"}, 3, 0, None),
    ]
    assert lines(of_user(book, "u2")) == [("B3", {"size": "30"}, 1, 1, None)]


@scenario(batch(o("u1", item("MP10", 50)), o("u2", item("MP10", 7))))
def unlimited_stock_reserves_everything(book: OrderBook, out: list[list[Json]]) -> None:
    assert [lines(d)[0][2:] for d in book.drafts()] == [(50, 50, None), (7, 7, None)]


@scenario(batch(o("u1", unknown("Z99", 2), item("MP10")), o("u1", unknown("Z99", 1))))
def unknown_code_lines_hold_nothing(book: OrderBook, out: list[list[Json]]) -> None:
    d = draft(book, 1)
    z = d["lines"][0]
    assert (z["code"], z["qty"], z["reserved"], z["name"], z["unit_price"], z["status"]) == (
        "Z99",
        3,
        0,
        None,
        None,
        "unknown_code",
    )
    assert d["total"] == 120_000


@scenario(batch(o("u1", unknown("Z99")), o("u1", item("MP10")), x("u1", unknown("Z99"))))
def unknown_codes_can_be_cancelled(book: OrderBook, out: list[list[Json]]) -> None:
    d = draft(book, 1)
    assert [ln[0] for ln in lines(d)] == ["MP10"] and [ln[0] for ln in lines(d, "history")] == [
        "Z99"
    ]


@scenario(batch(o("u1", item("B3", 2, "needs_variant")), o("u2", item("B3", 2, size="28"))))
def needs_variant_lines_draw_on_stock(book: OrderBook, out: list[list[Json]]) -> None:
    assert lines(of_user(book, "u1")) == [("B3", {}, 2, 2, None)]
    assert lines(of_user(book, "u2")) == [("B3", {"size": "28"}, 2, 1, 1)]
    assert of_user(book, "u1")["lines"][0]["status"] == "needs_variant"


@scenario(
    batch(*[o(f"u{i:03d}", item("T1")) for i in range(100)]),
    batch(x("u003"), x("u050"), x("u007", item("T1"))),
    products=(product("T1", 99_000, stock=10),),
)
def hundred_customers_for_ten_units(book: OrderBook, out: list[list[Json]]) -> None:
    drafts = book.drafts()
    assert [d["customer"]["user_id"] for d in drafts] == [f"u{i:03d}" for i in range(100)]
    reserved = [d["customer"]["user_id"] for d in drafts if d["lines"][0]["reserved"] == 1]
    # u003 and u007 freed their units to u010 and u011; u050 left the queue.
    assert reserved == [f"u{i:03d}" for i in (0, 1, 2, 4, 5, 6, 8, 9, 10, 11)]
    waiting = [
        (d["customer"]["user_id"], d["lines"][0]["waitlist"])
        for d in drafts
        if d["status"] == "open" and d["lines"][0]["waitlist"] is not None
    ]
    assert waiting[0] == ("u012", 1) and waiting[-1] == ("u099", 87) and len(waiting) == 87
    assert sum(d["lines"][0]["reserved"] for d in drafts) == 10


@scenario(
    batch(*[o(f"u{i}", item("T1", 2)) for i in range(5)]),
    products=(product("T1", 10_000, stock=5),),
)
def waitlist_places_follow_comment_order(book: OrderBook, out: list[list[Json]]) -> None:
    assert [lines(d)[0][3:] for d in book.drafts()] == [
        (2, None),
        (2, None),
        (1, 1),
        (0, 2),
        (0, 3),
    ]


# -- customers ---------------------------------------------------------------------------------


@scenario(
    batch(n("u1", phone="0912345678"), x("u1", phone="0912000000")), batch(o("u1", item("MP10")))
)
def phone_before_the_draft_lands_on_it(book: OrderBook, out: list[list[Json]]) -> None:
    assert draft(book, 1)["customer"]["phone"] == "0912000000"
    assert book.customers()["u1"]["phone"] == "0912000000"


@scenario(
    batch(o("u1", item("MP10"), phone="0912345678")),
    batch(n("u1", phone="0987654321")),
    batch(n("u1")),
)
def latest_phone_wins_and_changes_the_draft(book: OrderBook, out: list[list[Json]]) -> None:
    d = draft(book, 1)
    assert d["customer"]["phone"] == "0987654321" and d["updated_at"] == at(1)
    assert seqs(out[1]) == [1] and out[2] == []


@scenario(
    batch(n("u1", name="Lan"), o("u1", item("MP10"), name="")),
    batch(n("u1", name="Lan Nguyễn")),
    batch(n("u1", name="")),
)
def name_is_the_latest_non_empty(book: OrderBook, out: list[list[Json]]) -> None:
    assert draft(book, 1)["customer"]["name"] == "Lan Nguyễn"
    assert out[2] == []


@scenario(batch(n("u1", name="")))
def customer_without_name_or_phone(book: OrderBook, out: list[list[Json]]) -> None:
    assert book.customers() == {
        "u1": {"platform": "facebook", "user_id": "u1", "name": None, "phone": None}
    }
    assert book.drafts() == []


@scenario(
    batch(o(None, item("MP10"), name="Ẩn danh"), x(None), n(None, phone="0912345678")),
    batch(o("u1", item("MP10"))),
)
def comments_without_commenter_are_unattributed(book: OrderBook, out: list[list[Json]]) -> None:
    assert [u["comment_id"] for u in book.unattributed()] == ["c0", "c1", "c2"]
    assert book.unattributed()[0] == {
        "comment_id": "c0",
        "created_at": at(0),
        "intent": "order",
        "items": [{"code": "MP10", "qty": 1, "attributes": {}, "status": "matched"}],
    }
    assert [d["customer"]["user_id"] for d in book.drafts()] == ["u1"]
    assert book.customers().keys() == {"u1"}


# -- delivery ----------------------------------------------------------------------------------


@scenario(
    batch(o("u1", item("MP10"), cid="dup")),
    batch(o("u1", item("MP10", 5), cid="dup")),
    batch(o("u2", item("MP10"), cid="x"), o("u2", item("MP10"), cid="x")),
)
def a_comment_id_applies_once(book: OrderBook, out: list[list[Json]]) -> None:
    assert [lines(d)[0][2] for d in book.drafts()] == [1, 1]
    assert out[1] == []


@scenario(
    batch(o("u1", item("MP10"), offset=5), o("u2", item("MP10"), offset=6)),
    batch(
        o("u3", item("MP10"), offset=6),
        o("u4", item("MP10"), offset=2),
        o("u5", item("MP10"), offset=7),
    ),
)
def offsets_at_or_below_the_watermark_are_skipped(book: OrderBook, out: list[list[Json]]) -> None:
    assert [d["customer"]["user_id"] for d in book.drafts()] == ["u1", "u2", "u5"]
    assert book.watermark == 7


def _replay(f: Feed) -> Sequence[Step]:
    first = (
        f("u1", "order", item("B3", 2, size="28")),
        f("u2", "order", item("B3", 2, size="29")),
        f("u1", "cancel"),
    )
    return [Apply(first), Apply(first), Apply(first[1:])]


@scenario(_replay)
def a_replayed_batch_changes_nothing(book: OrderBook, out: list[list[Json]]) -> None:
    assert out[1] == [] and out[2] == []
    assert lines(of_user(book, "u2")) == [("B3", {"size": "29"}, 2, 2, None)]


# -- the livestream ----------------------------------------------------------------------------


@scenario(
    batch(o("u1", item("MP10"))),
    close(),
    batch(
        o("u1", item("MP10", 3)),
        x("u1"),
        o("u2", item("MP10"), phone="0912345678"),
        n("u1", phone="0987654321"),
    ),
)
def closed_livestream_records_but_changes_no_draft(book: OrderBook, out: list[list[Json]]) -> None:
    assert out[2] == []
    assert lines(draft(book, 1)) == [("MP10", {}, 1, 1, None)]
    assert draft(book, 1)["customer"]["phone"] is None
    assert book.customers()["u1"]["phone"] == "0987654321"
    assert book.customers()["u2"]["phone"] == "0912345678"
    assert len(book.drafts()) == 1 and book.watermark == 4


@scenario(
    batch(o("u1", item("MP10")), o("u2", unknown("Z99"))),
    set_products(A12, B3, product("MP10", 125_000), product("Z99", 5_000)),
    batch(
        o("u1", item("MP10", 2)),
        o("u3", item("MP10")),
        o("u2", item("Z99", 2)),
        o("u4", item("Z99", 2)),
    ),
)
def product_change_applies_to_next_comments(book: OrderBook, out: list[list[Json]]) -> None:
    assert out[1] == []
    assert of_user(book, "u1")["lines"][0]["unit_price"] == 120_000  # a line keeps its price
    assert of_user(book, "u1")["total"] == 3 * 120_000
    assert of_user(book, "u3")["lines"][0]["unit_price"] == 125_000
    u2 = of_user(book, "u2")["lines"]
    assert [(ln["status"], ln["unit_price"]) for ln in u2] == [
        ("unknown_code", None),
        ("matched", 5_000),
    ]
    assert of_user(book, "u4")["total"] == 10_000


@scenario(
    batch(
        o("u1", item("B3", 3, size="28")),
        o("u2", item("B3", 2, size="29")),
        o("u3", item("B3", 2, size="30")),
    ),
    set_products(A12, product("B3", 350_000, stock=6, size=("28", "29", "30")), MP10),
)
def stock_raise_serves_the_queue(book: OrderBook, out: list[list[Json]]) -> None:
    assert lines(of_user(book, "u2"))[0][3:] == (2, None)
    assert lines(of_user(book, "u3"))[0][3:] == (1, 1)
    assert seqs(out[1]) == [2, 3]
    assert of_user(book, "u2")["updated_at"] == at(1)  # a product change is no comment


@scenario(
    batch(o("u1", item("B3", 3, size="28")), o("u2", item("B3", size="29"))),
    set_products(A12, product("B3", 350_000, stock=1, size=("28", "29", "30")), MP10),
    batch(x("u1", item("B3"))),
)
def stock_cut_keeps_reservations(book: OrderBook, out: list[list[Json]]) -> None:
    assert out[1] == []
    assert lines(of_user(book, "u2")) == [("B3", {"size": "29"}, 1, 1, None)]


@scenario(
    batch(o("u1", item("B3", 3, size="28")), o("u2", item("B3", size="29"))),
    set_products(A12, product("B3", 350_000, size=("28", "29", "30")), MP10),
)
def unlimited_stock_serves_every_waiting_line(book: OrderBook, out: list[list[Json]]) -> None:
    assert lines(of_user(book, "u2")) == [("B3", {"size": "29"}, 1, 1, None)]


@scenario(
    batch(o("u1", item("MP10"))),
    set_products(A12, B3),
    batch(o("u1", item("MP10", 2)), x("u1", item("MP10"))),
)
def removed_product_becomes_unknown(book: OrderBook, out: list[list[Json]]) -> None:
    d = draft(book, 1)
    assert d["status"] == "cancelled"
    assert [(ln["status"], ln["reserved"]) for ln in d["lines"]] == [
        ("matched", 0),
        ("unknown_code", 0),
    ]


# -- staff commands ----------------------------------------------------------------------------


def status_of(out: Any) -> tuple[Any, Any]:
    """A command output's status and reasons."""
    return out[0], out[1]


def contact(**given: str | None) -> Json:
    keys = ("name", "phone", "address", "ward", "province", "note")
    return {key: given.get(key) for key in keys}


@scenario(
    batch(o("u1", item("MP10"), phone="0912345678")),
    cmd("k1", "set_customer", 1, contact={"name": "Lan Nguyễn", "phone": "0987654321",
                                          "address": "12 Lê Lợi", "province": "Hà Nội"}),
    batch(n("u1", phone="0911111111")),
    cmd("k2", "set_customer", 1, contact={"address": None, "note": "giao giờ hành chính"}),
)  # fmt: skip
def set_customer_keeps_a_contact_of_its_own(book: OrderBook, out: list[Any]) -> None:
    d = draft(book, 1)
    assert d["contact"] == contact(name="Lan Nguyễn", phone="0987654321", province="Hà Nội",
                                   note="giao giờ hành chính")  # fmt: skip
    # a comment's phone lands on the customer copy, never on what staff set
    assert d["customer"]["phone"] == "0911111111"
    assert d["updated_at"] == cmd_at(2)
    assert out[1] == ("applied", [], out[1][2], []) and out[1][2]["contact"]["address"]


@scenario(
    batch(o("u1", item("MP10"))),
    cmd("k1", "set_customer", 1, contact={"name": "Lan"}),
    cmd("k2", "set_customer", 1, contact={"name": "Lan"}),
)
def set_customer_with_the_same_values_changes_nothing(book: OrderBook, out: list[Any]) -> None:
    assert status_of(out[2]) == ("applied", [])
    assert out[2][2] == draft(book, 1) and draft(book, 1)["updated_at"] == cmd_at(1)


@scenario(
    batch(o("u1", unknown("Z99", 2), item("MP10"))),
    cmd("k1", "pick_product", 1, line=1, code="B3", attributes={"size": "28"}),
)
def pick_product_replaces_an_unknown_code_line(book: OrderBook, out: list[Any]) -> None:
    d = draft(book, 1)
    assert lines(d) == [("B3", {"size": "28"}, 2, 2, None), ("MP10", {}, 1, 1, None)]
    new = d["lines"][0]
    assert (new["name"], new["status"], new["unit_price"]) == ("Quần jean", "matched", 350_000)
    assert new["comment_ids"] == ["c0"]
    # the code the customer typed stays visible
    assert lines(d, "history") == [("Z99", {}, 2, 0, None)]
    assert d["history"][0]["status"] == "unknown_code"
    assert d["total"] == 2 * 350_000 + 120_000 and d["updated_at"] == cmd_at(1)
    assert out[1] == ("applied", [], d, [])
    assert book.held() == {"B3": 2, "MP10": 1}


@scenario(
    batch(
        o("u1", item("B3", 2, size="28")),
        o("u2", item("B3", 2, size="29")),
        o("u3", unknown("B33", 2)),
    ),
    cmd("k1", "pick_product", 3, line=1, code="B3", attributes={}),
)
def pick_product_waits_at_the_back(book: OrderBook, out: list[Any]) -> None:
    assert lines(of_user(book, "u3")) == [("B3", {}, 2, 0, 2)]
    assert of_user(book, "u3")["lines"][0]["status"] == "needs_variant"
    assert book.queues() == {"B3": [(1, 1, "u2"), (2, 2, "u3")]}


@scenario(
    batch(o("u1", item("MP10"), unknown("Z99"))),
    cmd("k1", "pick_product", 1, line=1, code="A12",
        attributes={"size": "XL", "fabric": "cotton", "color": "đen"}),
    cmd("k2", "pick_product", 1, line=2, code="Z98", attributes={}),
    cmd("k3", "pick_product", 1, line=3, code="MP10", attributes={}),
    cmd("k4", "pick_product", 9, line=1, code="MP10", attributes={}),
)  # fmt: skip
def pick_product_refusals_list_every_reason(book: OrderBook, out: list[Any]) -> None:
    assert status_of(out[1]) == ("refused", [
        ("not_unknown_code_line", "line", {"line": 1}),
        ("unknown_attribute", "attributes", {"code": "A12", "attribute": "fabric"}),
        ("unknown_attribute_value", "attributes", {"code": "A12", "attribute": "size",
                                                   "value": "XL"}),
    ])  # fmt: skip
    assert status_of(out[2]) == ("refused", [("unknown_product", "code", {"code": "Z98"})])
    assert status_of(out[3]) == ("refused", [("line_not_found", "line", {"line": 3})])
    assert out[4] == ("refused", [("draft_not_found", "seq", {"seq": 9})], None, [])
    assert out[3][2] == draft(book, 1) and draft(book, 1)["updated_at"] == at(0)


@scenario(
    batch(o("u1", item("A12", 2, size="M"))),
    cmd("k1", "choose_variant", 1, line=1, attributes={"color": "đỏ"}),
    batch(o("u1", item("A12", size="M", color="đỏ"))),
)
def choose_variant_completes_a_line(book: OrderBook, out: list[Any]) -> None:
    d = draft(book, 1)
    # the comment after it merges into the line: same code, same attributes now
    assert lines(d) == [("A12", {"size": "M", "color": "đỏ"}, 3, 3, None)]
    assert d["lines"][0]["status"] == "matched" and d["lines"][0]["comment_ids"] == ["c0", "c1"]
    assert out[1][2]["updated_at"] == cmd_at(1) and out[1][2]["lines"][0]["reserved"] == 2


@scenario(
    batch(
        o("u1", item("A12", size="M", color="đỏ")),
        o("u1", item("A12", size="M", status="needs_variant")),
    ),
    cmd("k1", "choose_variant", 1, line=2, attributes={"color": "đỏ"}),
    batch(o("u1", item("A12", 2, size="M", color="đỏ"))),
)
def choose_variant_keeps_an_equal_line_apart(book: OrderBook, out: list[Any]) -> None:
    assert lines(draft(book, 1)) == [
        ("A12", {"size": "M", "color": "đỏ"}, 3, 3, None),
        ("A12", {"size": "M", "color": "đỏ"}, 1, 1, None),
    ]


@scenario(
    batch(o("u1", unknown("Z99"), item("A12", size="M"))),
    cmd("k0", "add_custom_line", 1, name="Quà tặng", price=0, qty=1),
    cmd("k1", "choose_variant", 1, line=1, attributes={"size": "M"}),
    cmd("k2", "choose_variant", 1, line=3, attributes={"size": "M"}),
    cmd("k3", "choose_variant", 1, line=2, attributes={"color": "tím", "size": "M"}),
    cmd("k4", "choose_variant", 1, line=2, attributes={"chất liệu": "lụa"}),
    cmd("k5", "pick_product", 1, line=3, code="MP10", attributes={}),
    cmd("k6", "choose_variant", 1, line=2, attributes={"size": "L"}),
)
def choose_variant_refusals(book: OrderBook, out: list[Any]) -> None:
    assert status_of(out[2]) == ("refused", [("not_needs_variant_line", "line", {"line": 1})])
    assert status_of(out[3]) == ("refused", [("custom_line", "line", {"line": 3})])
    assert status_of(out[4]) == ("refused", [("unknown_attribute_value", "attributes",
                                              {"code": "A12", "attribute": "color",
                                               "value": "tím"})])  # fmt: skip
    assert status_of(out[5]) == (
        "refused",
        [("unknown_attribute", "attributes", {"code": "A12", "attribute": "chất liệu"})],
    )
    assert status_of(out[6]) == ("refused", [("custom_line", "line", {"line": 3})])
    # a chosen value replaces the one the comment gave; still needs a colour
    assert status_of(out[7]) == ("applied", [])
    assert lines(draft(book, 1))[1] == ("A12", {"size": "L"}, 1, 1, None)
    assert draft(book, 1)["lines"][1]["status"] == "needs_variant"


@scenario(
    batch(o("u1", item("B3", 1, size="28")), o("u2", item("B3", 1, size="29"))),
    cmd("k1", "set_quantity", 1, line=1, qty=3),
    batch(o("u3", item("B3", size="30"))),
    cmd("k2", "set_quantity", 1, line=1, qty=4),
)
def set_quantity_up_reserves_then_waits_at_the_back(book: OrderBook, out: list[Any]) -> None:
    assert out[1][2]["lines"][0]["reserved"] == 2 and out[1][2]["lines"][0]["waitlist"] == 1
    # more units for a waiting line join the back; the line keeps its earliest place
    assert lines(of_user(book, "u1")) == [("B3", {"size": "28"}, 4, 2, 1)]
    assert lines(of_user(book, "u3")) == [("B3", {"size": "30"}, 1, 0, 2)]
    assert book.queues() == {"B3": [(1, 1, "u1"), (1, 1, "u3"), (1, 1, "u1")]}


@scenario(
    batch(
        o("u1", item("B3", 2, size="28")),
        o("u2", item("B3", 3, size="29")),
        o("u3", item("B3", 1, size="30")),
        o("u2", item("B3", 1, size="29")),
    ),
    cmd("k1", "set_quantity", 2, line=1, qty=2),
    cmd("k2", "set_quantity", 2, line=1, qty=1),
    cmd("k3", "set_quantity", 1, line=1, qty=1),
)
def set_quantity_down_drops_waiting_units_first(book: OrderBook, out: list[Any]) -> None:
    # u2 (4 asked, 1 held) gives back its latest waiting units: the back request, then one of
    # the first; its place stays
    assert lines(out[1][2]) == [("B3", {"size": "29"}, 2, 1, 1)] and out[1][3] == []
    # its last waiting unit goes: u3 moves up, which is no change of u3's own
    assert lines(out[2][2]) == [("B3", {"size": "29"}, 1, 1, None)] and out[2][3] == []
    # u1 gives back a held unit: it serves the head of the queue, u3
    assert seqs(out[3][3]) == [3]
    u3 = of_user(book, "u3")
    assert lines(u3) == [("B3", {"size": "30"}, 1, 1, None)] and u3["updated_at"] == cmd_at(3)
    assert book.queues() == {} and book.held() == {"B3": 3}


@scenario(
    batch(
        o("u1", item("B3", 3, size="28")),
        o("u2", item("B3", 2, size="29")),
        o("u3", item("B3", 1, size="30")),
    ),
    cmd("k1", "set_quantity", 1, line=1, qty=2),
)
def set_quantity_down_serves_the_head_partially(book: OrderBook, out: list[Any]) -> None:
    assert seqs(out[1][3]) == [2]
    assert lines(of_user(book, "u2")) == [("B3", {"size": "29"}, 2, 1, 1)]
    assert lines(of_user(book, "u3")) == [("B3", {"size": "30"}, 1, 0, 2)]
    assert of_user(book, "u3")["updated_at"] == at(2)


@scenario(
    batch(o("u1", unknown("Z99", 2))),
    cmd("k1", "add_custom_line", 1, name="Túi quà", price=20_000, qty=1),
    cmd("k2", "set_quantity", 1, line=1, qty=5),
    cmd("k3", "set_quantity", 1, line=2, qty=3),
)
def set_quantity_of_unknown_and_custom_lines(book: OrderBook, out: list[Any]) -> None:
    d = draft(book, 1)
    assert lines(d) == [("Z99", {}, 5, 0, None), (None, {}, 3, 3, None)]
    assert d["lines"][1] == {"code": None, "name": "Túi quà", "attributes": {}, "qty": 3,
                             "reserved": 3, "waitlist": None, "status": "custom",
                             "unit_price": 20_000, "comment_ids": []}  # fmt: skip
    assert d["total"] == 60_000 and book.held() == {}


@scenario(
    batch(
        o("u1", item("B3", 2, size="28"), item("MP10")),
        o("u2", item("B3", 2, size="29")),
        o("u3", item("B3", size="30")),
    ),
    cmd("k1", "remove_line", 1, line=1),
)
def remove_line_releases_to_the_queue(book: OrderBook, out: list[Any]) -> None:
    d = draft(book, 1)
    assert lines(d) == [("MP10", {}, 1, 1, None)]
    assert lines(d, "history") == [("B3", {"size": "28"}, 2, 0, None)]
    assert seqs(out[1][3]) == [2, 3]
    for user in ("u2", "u3"):
        assert lines(of_user(book, user))[0][3:] == (lines(of_user(book, user))[0][2], None)
        assert of_user(book, user)["updated_at"] == cmd_at(1)


@scenario(
    batch(
        o("u1", item("B3", 3, size="28")),
        o("u2", item("B3", size="29")),
        o("u3", item("B3", size="30")),
    ),
    cmd("k1", "remove_line", 2, line=1),
    batch(o("u2", item("MP10", 2))),
)
def removing_a_waiting_line_moves_the_queue_up(book: OrderBook, out: list[Any]) -> None:
    # the draft left without lines stays open
    assert lines(out[1][2]) == [] and out[1][2]["status"] == "open" and out[1][2]["total"] == 0
    assert out[1][3] == []  # u3 only moved up
    assert lines(of_user(book, "u3")) == [("B3", {"size": "30"}, 1, 0, 1)]
    d = draft(book, 2)
    assert lines(d) == [("MP10", {}, 2, 2, None)]
    assert lines(d, "history") == [("B3", {"size": "29"}, 1, 0, None)]


@scenario(
    batch(o("u1", item("MP10"))),
    cmd("k1", "add_line", 1, code="MP10", attributes={}, qty=2),
    cmd("k2", "add_line", 1, code="A12", attributes={"size": "S"}, qty=1),
    batch(o("u1", item("A12", size="S"))),
)
def add_line_merges_like_a_comment_item(book: OrderBook, out: list[Any]) -> None:
    d = draft(book, 1)
    assert lines(d) == [("MP10", {}, 3, 3, None), ("A12", {"size": "S"}, 2, 2, None)]
    assert [ln["comment_ids"] for ln in d["lines"]] == [["c0"], ["c1"]]
    assert out[2][2]["lines"][1]["comment_ids"] == []
    assert d["lines"][1]["status"] == "needs_variant"


@scenario(
    batch(o("u1", item("B3", 3, size="28")), o("u2", item("MP10"))),
    cmd("k1", "add_line", 2, code="B3", attributes={"size": "29"}, qty=2),
    cmd("k2", "add_line", 2, code="B4", attributes={}, qty=1),
    cmd("k3", "add_line", 2, code="B3", attributes={"size": "31"}, qty=1),
)
def add_line_waits_for_stock(book: OrderBook, out: list[Any]) -> None:
    assert lines(draft(book, 2)) == [("MP10", {}, 1, 1, None), ("B3", {"size": "29"}, 2, 0, 1)]
    assert status_of(out[2]) == ("refused", [("unknown_product", "code", {"code": "B4"})])
    assert status_of(out[3]) == ("refused", [("unknown_attribute_value", "attributes",
                                              {"code": "B3", "attribute": "size",
                                               "value": "31"})])  # fmt: skip


@scenario(
    batch(o("u1", item("B3", 3, size="28"))),
    cmd("k1", "add_custom_line", 1, name="Phí ship", price=30_000, qty=1),
    batch(x("u1", item("B3"))),
    batch(x("u1")),
    batch(o("u1", item("MP10"))),
)
def custom_lines_hold_no_stock(book: OrderBook, out: list[Any]) -> None:
    # a cancel naming codes never names a custom line: the draft stays open with it
    after_cancel = out[2][0]
    assert after_cancel["status"] == "open" and lines(after_cancel) == [(None, {}, 1, 1, None)]
    assert after_cancel["total"] == 30_000
    # a whole-draft cancel keeps it in `lines` with reserved 0; a reopen moves it to history
    assert out[3][0]["status"] == "cancelled" and out[3][0]["total"] == 0
    d = draft(book, 1)
    assert lines(d) == [("MP10", {}, 1, 1, None)]
    assert lines(d, "history") == [("B3", {"size": "28"}, 3, 0, None), (None, {}, 1, 0, None)]
    assert book.held() == {"MP10": 1}


@scenario(
    batch(o("u1", item("MP10"))),
    cmd("k1", "assign", 1, assignee="lan"),
    cmd("k2", "assign", 1, assignee="lan"),
)
def assign_sets_the_staff(book: OrderBook, out: list[Any]) -> None:
    d = draft(book, 1)
    assert d["staff"] == "lan" and d["updated_at"] == cmd_at(1)
    assert status_of(out[2]) == ("applied", [])


@scenario(
    batch(o("u1", item("MP10"))),
    fin("k1", 1, "save"),
    batch(o("u1", item("A12", size="S", color="đen"))),
)
def finalise_save_keeps_the_draft_open(book: OrderBook, out: list[Any]) -> None:
    d = draft(book, 1)
    assert (d["status"], d["action"], d["order_id"], d["finalised_at"]) == (
        "open", "save", None, None)  # fmt: skip
    assert len(d["lines"]) == 2 and book.last_seq == 1


@scenario(
    batch(o("u1", item("B3", 3, size="28")), o("u2", item("B3", 2, size="29"))),
    fin("k1", 1, "cancel"),
    cmd("k2", "set_customer", 1, contact={"name": "Lan"}),
    batch(o("u1", item("B3", size="28"))),
)
def finalise_cancel_releases_like_a_cancel_comment(book: OrderBook, out: list[Any]) -> None:
    cancelled = out[1][2]
    assert (cancelled["status"], cancelled["action"]) == ("cancelled", "cancel")
    assert lines(cancelled) == [("B3", {"size": "28"}, 3, 0, None)]
    assert seqs(out[1][3]) == [2] and out[1][3][0]["updated_at"] == cmd_at(1)
    assert status_of(out[2]) == ("refused", [("draft_not_open", None, {"status": "cancelled"})])
    # an order comment reopens it, as after a cancel comment
    d = draft(book, 1)
    assert (d["status"], d["action"]) == ("open", None)
    assert lines(d) == [("B3", {"size": "28"}, 1, 1, None)]
    assert lines(d, "history") == [("B3", {"size": "28"}, 3, 0, None)]


@scenario(
    batch(o("u1", item("B3", 2, size="28"), phone="0912345678")),
    cmd("k0", "set_customer", 1, contact={"name": "Lan", "address": "1 Lê Lợi",
                                          "province": "Hà Nội"}),
    fin("k1", 1, "create"),
    batch(n("u1", phone="0987654321"), x("u1")),
    batch(o("u1", item("B3", 2, size="28"))),
    cmd("k2", "set_customer", 1, contact={"note": "x"}),
    fin("k3", 1, "create"),
    cmd("k4", "set_quantity", 2, line=1, qty=1),
)  # fmt: skip
def finalise_create_sells_the_draft(book: OrderBook, out: list[Any]) -> None:
    sold = draft(book, 1)
    assert (sold["status"], sold["action"], sold["order_id"]) == ("finalised", "create", "live-1-1")
    assert (sold["finalised_at"], sold["finalised_by"], sold["updated_at"]) == (
        cmd_at(2), "nv1", cmd_at(2))  # fmt: skip
    assert out[2][2] == sold
    # later comments: no change to the finalised draft; the next order starts draft 2
    assert out[3] == [] and sold["customer"]["phone"] == "0912345678"
    assert book.customers()["u1"]["phone"] == "0987654321"
    new = draft(book, 2)
    assert new["customer"] == {"platform": "facebook", "user_id": "u1", "name": "Khách u1",
                               "phone": "0987654321"}  # fmt: skip
    assert new["contact"] == contact() and new["created_at"] == at(3)
    # its units stay sold: 1 of 3 left for the new draft
    assert lines(out[4][0]) == [("B3", {"size": "28"}, 2, 1, 1)]
    refused = ("refused", [("draft_not_open", None, {"status": "finalised"})])
    assert status_of(out[5]) == refused and out[5][2] == sold
    assert status_of(out[6]) == refused
    assert lines(draft(book, 2)) == [("B3", {"size": "28"}, 1, 1, None)]
    assert book.held() == {"B3": 3} and book.last_seq == 2


@scenario(
    batch(o("u1", item("MP10"))),
    fin("k1", 1, "deliver_now"),
    batch(o("u1", item("MP10"))),
)
def a_repeat_after_finalising_is_a_new_order(book: OrderBook, out: list[Any]) -> None:
    assert [d["status"] for d in book.drafts()] == ["finalised", "open"]
    assert lines(draft(book, 2)) == [("MP10", {}, 1, 1, None)]


@scenario(
    batch(o("u1", item("MP10"))),
    fin("k1", 1, "send_to_store", expect=STALE),
    fin("k1", 1, "send_to_store"),
)
def finalise_on_a_stale_view_is_stale(book: OrderBook, out: list[Any]) -> None:
    assert out[1][:2] == ("stale", []) and out[1][2]["status"] == "open"
    # a stale outcome is not kept: the same command id, on the current view, applies
    assert status_of(out[2]) == ("applied", [])
    assert draft(book, 1)["action"] == "send_to_store"


@scenario(
    batch(o("u1", item("MP10"))),
    cmd("k1", "set_quantity", 1, line=1, qty=3, expect=STALE),
    cmd("k1", "set_quantity", 1, line=1, qty=3, expect=CURRENT),
    cmd("k2", "set_customer", 1, contact={"name": "Lan"}),
)
def any_command_with_a_stale_view_is_stale(book: OrderBook, out: list[Any]) -> None:
    """Two staff on one draft: the second, sent on a view the first changed, acts on nothing."""
    assert out[1][:2] == ("stale", []) and lines(out[1][2]) == [("MP10", {}, 1, 1, None)]
    assert status_of(out[2]) == ("applied", []) and lines(out[2][2])[0][2] == 3
    assert status_of(out[3]) == ("applied", [])  # no expect: applied on whatever is current


@scenario(
    batch(
        o("u1", item("B3", 3, size="28")),
        o("u2", item("B3", 2, size="29")),
        o("u3", item("B3", size="30")),
    ),
    fin("k1", 2, "create"),
    batch(x("u1")),
)
def finalising_drops_units_still_waiting(book: OrderBook, out: list[Any]) -> None:
    assert lines(out[1][2]) == [("B3", {"size": "29"}, 2, 0, None)] and out[1][3] == []
    # the freed units go to u3, never to the finalised draft
    assert lines(draft(book, 2)) == [("B3", {"size": "29"}, 2, 0, None)]
    assert lines(of_user(book, "u3")) == [("B3", {"size": "30"}, 1, 1, None)]
    assert book.queues() == {} and book.held() == {"B3": 1}


@scenario(
    batch(o("u1", item("B3", 2, size="28"))),
    cmd("k1", "set_quantity", 1, line=1, qty=3),
    cmd("k1", "set_quantity", 1, line=1, qty=1),
    cmd("k2", "set_quantity", 1, line=5, qty=1),
    cmd("k2", "set_quantity", 1, line=1, qty=1),
    cmd("k3", "assign", 7, assignee="lan"),
    cmd("k3", "assign", 7, assignee="lan"),
)
def a_command_id_applies_once(book: OrderBook, out: list[Any]) -> None:
    d = draft(book, 1)
    assert lines(d) == [("B3", {"size": "28"}, 3, 3, None)] and d["updated_at"] == cmd_at(1)
    assert out[2] == ("applied", [], d, [])
    assert out[3] == out[4] == ("refused", [("line_not_found", "line", {"line": 5})], d, [])
    assert out[5] == out[6] == ("refused", [("draft_not_found", "seq", {"seq": 7})], None, [])


@scenario(
    batch(o("u1", item("MP10", 2))),
    close(),
    cmd("k1", "set_quantity", 1, line=1, qty=1),
    fin("k2", 1, "create"),
)
def a_stopped_livestream_takes_commands(book: OrderBook, out: list[Any]) -> None:
    assert status_of(out[2]) == status_of(out[3]) == ("applied", [])
    assert draft(book, 1)["status"] == "finalised" and book.held() == {"MP10": 1}


@scenario(
    batch(o("u1", item("MP10", 2), item("B3", 1, "needs_variant"))),
    set_products(A12),
    cmd("k1", "set_quantity", 1, line=1, qty=3),
    cmd("k2", "choose_variant", 1, line=2, attributes={"size": "28"}),
    cmd("k3", "set_quantity", 1, line=1, qty=1),
    cmd("k4", "remove_line", 1, line=2),
)
def lines_of_a_product_out_of_the_catalogue(book: OrderBook, out: list[Any]) -> None:
    assert status_of(out[2]) == ("refused", [("unknown_product", "line", {"code": "MP10"})])
    assert status_of(out[3]) == ("refused", [("unknown_product", "line", {"code": "B3"})])
    assert status_of(out[4]) == status_of(out[5]) == ("applied", [])
    assert lines(draft(book, 1)) == [("MP10", {}, 1, 1, None)]
    assert book.held() == {"MP10": 1}


SCENARIO_IDS = [s.name for s in SCENARIOS]
