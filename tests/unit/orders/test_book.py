"""The order book's rules on the pure model (no I/O): one scenario per rule, plus input checks."""

from __future__ import annotations

import dataclasses

import pytest
from orderbook_scenarios import (
    CATALOGUE,
    LIVE,
    SCENARIO_IDS,
    SCENARIOS,
    SHOP,
    Feed,
    Scenario,
    item,
    run_model,
)

from orders.book import OrderBook, order_signature
from orders.events import InvalidEvent
from parsers.models import ParsedItem


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_rule(scenario: Scenario) -> None:
    book, outputs = run_model(scenario)
    scenario.check(book, outputs)


def test_there_is_a_scenario_per_rule() -> None:
    assert len(SCENARIOS) >= 50
    assert len(set(SCENARIO_IDS)) == len(SCENARIO_IDS)


def _book() -> OrderBook:
    return OrderBook(SHOP, LIVE, {p.code: p for p in CATALOGUE}, "ignore")


@pytest.mark.parametrize(
    "change",
    [
        {"comment_id": ""},
        {"offset": "7"},
        {"offset": True},
        {"user_id": ""},
        {"created_at": ""},
        {"intent": "buy"},
        {"items": (ParsedItem("MP10", qty=0),)},
        {"items": (ParsedItem("MP10", qty=1_000_000_001),)},  # beyond MAX_COUNT
        {"items": (ParsedItem("MP10", qty=10**20),)},  # would not even encode (64-bit)
        {"items": (ParsedItem("MP10", status="unknown"),)},  # type: ignore[arg-type]
        {"items": (ParsedItem("", qty=1),)},
        {"items": (ParsedItem("A\x1f12"),)},
        {"items": (ParsedItem("A12", attributes={"size": ""}),)},
        {"items": (ParsedItem("A12", attributes={"size": 1}),)},  # type: ignore[dict-item]
        {"items": [ParsedItem("MP10")]},
    ],
)
def test_a_bad_event_refuses_the_whole_batch(change: dict[str, object]) -> None:
    feed = Feed()
    good = feed("u1", "order", item("MP10"))
    bad = dataclasses.replace(feed("u2", "order", item("MP10")), **change)  # type: ignore[arg-type]
    book = _book()
    with pytest.raises(InvalidEvent):
        book.apply([good, bad])
    assert book.drafts() == [] and book.watermark == -1 and book.customers() == {}


def test_an_empty_batch_changes_nothing() -> None:
    assert _book().apply([]) == []


def test_order_signature_is_a_multiset() -> None:
    a, b = item("A12", 2, size="M", color="đỏ"), item("MP10")
    same = item("A12", 2, color="đỏ", size="M")
    assert order_signature([a, b]) == order_signature([b, same])
    assert order_signature([a]) != order_signature([a, a])
    assert order_signature([item("MP10", 2)]) != order_signature([item("MP10")])


def test_drafts_are_listed_by_seq_and_returned_by_seq() -> None:
    feed = Feed()
    book = _book()
    book.apply([feed(u, "order", item("MP10")) for u in ("u3", "u1", "u2")])
    changed = book.apply([feed(u, "none", phone="0912345678") for u in ("u2", "u3", "u1")])
    assert [d["seq"] for d in changed] == [1, 2, 3]
    assert [d["customer"]["user_id"] for d in book.drafts()] == ["u3", "u1", "u2"]


def test_draft_json_shape() -> None:
    feed = Feed()
    book = _book()
    [draft] = book.apply([feed("u1", "order", item("A12", size="M", color="đỏ"))])
    assert list(draft) == [
        "shop_id",
        "livestream_id",
        "seq",
        "status",
        "customer",
        "lines",
        "history",
        "total",
        "created_at",
        "updated_at",
        "contact",
        "staff",
        "action",
        "order_id",
        "finalised_at",
        "finalised_by",
    ]
    assert list(draft["customer"]) == ["platform", "user_id", "name", "phone"]
    assert draft["contact"] == dict.fromkeys(
        ["name", "phone", "address", "ward", "province", "note"]
    )
    assert list(draft["contact"]) == ["name", "phone", "address", "ward", "province", "note"]
    assert [draft[k] for k in ("staff", "action", "order_id", "finalised_at", "finalised_by")] == [
        None
    ] * 5
    assert list(draft["lines"][0]) == [
        "code",
        "name",
        "attributes",
        "qty",
        "reserved",
        "waitlist",
        "status",
        "unit_price",
        "comment_ids",
    ]
    assert (draft["shop_id"], draft["livestream_id"]) == (SHOP, LIVE)
