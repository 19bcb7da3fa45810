"""Staff commands on the pure model: what the scenario table does not show (malformed ops, how a
stored outcome answers later, how `expect` is compared). The rules themselves are scenarios in
orderbook_scenarios.py, run here by test_book.py and against Redis by tests/integration."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from orderbook_scenarios import CATALOGUE, LIVE, SHOP, Feed, item, unknown

from orders.book import OrderBook
from orders.commands import CONTACT_FIELDS
from orders.events import CONTACT_KEYS as OP_CONTACT_KEYS
from orders.events import InvalidCommand, op_problem
from orders.model import CONTACT_KEYS

Json = dict[str, Any]


def _book() -> OrderBook:
    book = OrderBook(SHOP, LIVE, {p.code: p for p in CATALOGUE}, "ignore")
    feed = Feed()
    book.apply([feed("u1", "order", item("B3", 2, size="28"), unknown("Z9")),
                feed("u2", "order", item("B3", 2, size="29"))])  # fmt: skip
    return book


def op(kind: str, seq: int = 1, **fields: Any) -> Json:
    return {"type": kind, "seq": seq, "at": "2026-05-01T21:00:00+07:00", "staff": "nv1", **fields}


def _view(book: OrderBook, seq: int) -> str:
    return orjson.dumps(next(d for d in book.drafts() if d["seq"] == seq)).decode()


GOOD = [
    op("set_customer", contact={"name": "Lan", "note": None}),
    op("pick_product", line=2, code="MP10", attributes={}),
    op("choose_variant", line=1, attributes={"size": "29"}),
    op("set_quantity", line=1, qty=1),
    op("remove_line", line=1),
    op("add_line", code="MP10", attributes={}, qty=2),
    op("add_custom_line", name="Quà", price=0, qty=1),
    op("assign", assignee="lan"),
    op("assign", assignee=None),
    op("finalise", action="save", expect="{}"),
    op("finalise", action="cancel", expect="{}", order_id=None),
    op("finalise", action="create", expect="{}", order_id="live-1-1"),
]


@pytest.mark.parametrize("good", GOOD, ids=lambda o: o["type"])
def test_well_formed_ops(good: Json) -> None:
    assert op_problem("k1", good) is None


BAD = [
    ("k1", "not an op"),
    ("", op("assign", assignee="lan")),
    ("k1", op("sell")),
    ("k1", op("assign", seq=0, assignee="lan")),
    ("k1", op("assign", seq=True, assignee="lan")),
    ("k1", {**op("assign", assignee="lan"), "at": ""}),
    ("k1", {**op("assign", assignee="lan"), "staff": None}),
    ("k1", op("assign", assignee="")),
    ("k1", op("set_customer", contact={"email": "a@b"})),
    ("k1", op("set_customer", contact={"phone": 912345678})),
    ("k1", op("set_customer", contact=["name"])),
    ("k1", op("pick_product", line=0, code="MP10", attributes={})),
    ("k1", op("pick_product", line=1, code="", attributes={})),
    ("k1", op("pick_product", line=1, code="A\x1f1", attributes={})),
    ("k1", op("pick_product", line=1, code="MP10")),
    ("k1", op("choose_variant", line=1, attributes={"size": ""})),
    ("k1", op("choose_variant", line=1, attributes={"size": 28})),
    ("k1", op("set_quantity", line=1, qty=0)),
    ("k1", op("set_quantity", line=1, qty=2.0)),
    ("k1", op("remove_line", line="1")),
    ("k1", op("add_line", code="MP10", attributes={}, qty=10**10)),
    ("k1", op("add_custom_line", name="", price=0, qty=1)),
    ("k1", op("add_custom_line", name="Quà", price=-1, qty=1)),
    ("k1", op("finalise", action="ship", expect="{}", order_id="x")),
    ("k1", op("finalise", action="create", expect=None, order_id="x")),
    ("k1", op("finalise", action="create", expect="{}")),
    ("k1", op("finalise", action="save", expect="{}", order_id=7)),
]


@pytest.mark.parametrize(("command_id", "bad"), BAD)
def test_a_malformed_op_is_refused_before_anything(command_id: str, bad: Any) -> None:
    book = _book()
    before = book.drafts()
    with pytest.raises(InvalidCommand):
        book.command(command_id, bad)
    assert book.drafts() == before
    # nothing was kept under the id either
    assert book.command("k1", op("assign", assignee="lan"))[0] == "applied"


def test_a_kept_outcome_answers_with_the_draft_as_it_is_now() -> None:
    book = _book()
    status, reasons, draft, others = book.command("k1", op("set_quantity", line=1, qty=3))
    assert (status, reasons, others) == ("applied", [], [])
    assert draft is not None and draft["lines"][0]["qty"] == 3
    book.command("k2", op("assign", assignee="lan"))
    again = book.command("k1", op("set_quantity", line=1, qty=1))
    assert again[:2] == ("applied", []) and again[3] == []
    assert again[2] is not None and again[2]["staff"] == "lan" and again[2]["lines"][0]["qty"] == 3


def test_a_kept_refusal_answers_the_same_reasons() -> None:
    book = _book()
    first = book.command("k1", op("pick_product", line=1, code="Z1", attributes={"a": "b"}))
    reasons = [("not_unknown_code_line", "line", {"line": 1}),
               ("unknown_product", "code", {"code": "Z1"})]  # fmt: skip
    assert first[:2] == ("refused", reasons)
    # the answer is a copy: a caller changing it changes nothing kept
    first[1][0][2]["line"] = 99
    assert book.command("k1", op("remove_line", line=1))[:2] == ("refused", reasons)


def test_expect_is_compared_as_json() -> None:
    """The Python model compares parsed JSON (key order and spacing do not matter); the Redis
    Function compares the exact bytes of the stored view (the caller sends back what it read)."""
    book = _book()
    view = orjson.loads(_view(book, 1))
    reordered = orjson.dumps(dict(reversed(list(view.items())))).decode()
    assert book.command("k1", op("finalise", action="save", expect=reordered))[0] == "applied"
    assert book.command("k2", op("finalise", action="save", expect="not json"))[0] == "stale"


def test_a_stale_finalise_is_kept_nowhere() -> None:
    book = _book()
    stale = op("finalise", action="create", expect="{}", order_id="live-1-1")
    assert book.command("k1", stale)[:2] == ("stale", [])
    fresh = {**stale, "expect": _view(book, 1)}
    status, _, draft, _ = book.command("k1", fresh)
    assert status == "applied" and draft is not None and draft["status"] == "finalised"


def test_drafts_after_finalising_are_listed_by_seq() -> None:
    book = _book()
    book.command("k1", op("finalise", action="create", expect=_view(book, 1), order_id="o-1"))
    feed = Feed()
    feed.offset = 10
    book.apply([feed("u1", "order", item("MP10")), feed("u3", "order", item("MP10"))])
    assert [(d["seq"], d["customer"]["user_id"], d["status"]) for d in book.drafts()] == [
        (1, "u1", "finalised"),
        (2, "u2", "open"),
        (3, "u1", "open"),
        (4, "u3", "open"),
    ]


def test_contact_keys_are_the_commands_contact_fields() -> None:
    assert CONTACT_KEYS == CONTACT_FIELDS
    assert set(CONTACT_FIELDS) == OP_CONTACT_KEYS
