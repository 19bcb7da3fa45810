"""No comment stops a batch of the comment agent (stream/pipeline.py's CommentPipeline).

The store here is the pure order book (orders/book.py, what the Redis Function mirrors), behind
the store's own encoding of each batch (`encode_events`, orjson: what DraftStore sends to
Redis), so a parse result the real store would refuse fails here too. Hostile comments (runs of
more digits than `int()` converts, huge quantities, deeply repeated tokens, arbitrary text) are
mixed with ordinary ones: every comment must be applied, or be a dead letter with its reason,
and the batch must be handled to the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.loader import load_shop
from config.settings import Topics
from orders.book import OrderBook
from orders.events import CommentEvent
from orders.store import Applied, encode_events
from parsers import Grammar, ParsedItem, ParseResult, compile_grammar
from stream.messages import Comment, DeadLetter
from stream.pipeline import CommentPipeline, Record, comment_event

SHOP = load_shop(Path(__file__).resolve().parents[3] / "config" / "shops" / "demo.toml")
LIVE = "live-hostile"
TOPICS = Topics()
T0 = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Info:
    shop_id: str
    config_version: int
    shop_config_json: bytes


class BookStore:
    """The comment store as the order book, for one livestream of the sample shop."""

    def __init__(self) -> None:
        self.book = _book()
        self.applied: list[str] = []  # comment ids, in the order the batches applied them

    async def livestream_info(self, livestream_id: str) -> Info | None:
        if livestream_id != LIVE:
            return None
        return Info(SHOP.shop.id, 1, SHOP.model_dump_json().encode())

    async def apply_batch(
        self,
        shop_id: str,
        livestream_id: str,
        events: Sequence[CommentEvent],
        expected: Mapping[int, int] | None = None,
        *,
        checked: bool = False,
    ) -> Applied:
        assert checked  # the pipeline checks each event itself, before the batch goes out
        encode_events(events)  # raises where DraftStore could not send the batch
        seq_before = self.book.last_seq
        changed = self.book.apply(events)
        self.applied.extend(event.comment_id for event in events)
        raw = [(orjson.dumps(draft), []) for draft in changed]  # places already numbers
        return Applied(raw, [], self.book.last_seq - seq_before, dict(self.book.watermarks))


def _book() -> OrderBook:
    products = {product.code: product for product in SHOP.products}
    return OrderBook(SHOP.shop.id, LIVE, products, SHOP.orders.repeat_comment)


class Run:
    """One pipeline over a BookStore; `handle` runs a batch to the end, as the agent does."""

    def __init__(self) -> None:
        self.store = BookStore()
        self.published: list[tuple[str, bytes | None, bytes]] = []
        self.pipeline = CommentPipeline(self.store, self._publish, TOPICS)

    async def _publish(self, messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        self.published.extend(messages)

    def handle(self, records: list[Record]) -> None:
        asyncio.run(self.pipeline.handle(records))

    def dead_letters(self) -> list[DeadLetter]:
        return [
            DeadLetter.from_json(value)
            for topic, _, value in self.published
            if topic == TOPICS.dead_letters
        ]


def comments_of(texts: list[str]) -> list[Comment]:
    return [
        Comment(
            id=f"c{n}",
            platform="facebook",
            shop_id=SHOP.shop.id,
            livestream_id=LIVE,
            user_id=f"u{n % 5}",
            user_name=f"khách {n % 5}",
            text=text,
            created_at=T0 + timedelta(seconds=n),
        )
        for n, text in enumerate(texts)
    ]


def records_of(comments: list[Comment]) -> list[Record]:
    return [
        Record(TOPICS.comments, 0, offset, LIVE.encode(), comment.to_json())
        for offset, comment in enumerate(comments)
    ]


ORDINARY = ["K2 1", "MP10 2", "chốt A12 L đen", "0912 345 678", "hủy K2", "đẹp quá shop ơi 😍",
            "lấy 2 cái Z9", "hủy chốt MP10"]  # fmt: skip
WORDS = ["A12", "a1", "x2", "2c", "chốt", "hủy", "em", "Z9", "9", "sl", "😍", "số lượng", "q7"]


def repeated(words: list[str], times: int, joiner: str) -> str:
    return joiner.join(words * times)


hostile_texts = st.one_of(
    # more digits than Python converts to an int (4,300): the parser raised ValueError
    st.builds(lambda n, form: form.format("9" * n), st.integers(4_301, 8_000),
              st.sampled_from(["{}", "MP10 x{}", "A12 M đỏ sl {}", "a{}", "chốt Z9 {} cái"])),
    # quantities beyond what orjson (64 bits) and the order book (1e9) hold
    st.builds(lambda n, form: form.format(n), st.integers(10**9, 10**40),
              st.sampled_from(["MP10 x{}", "K2 sl {}", "lấy {} cái MP10", "Z99 x {}"])),
    st.builds(repeated, st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
              st.integers(50, 400), st.sampled_from([" ", "", ","])),
    st.text(max_size=200),
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(ORDINARY), hostile_texts), min_size=1, max_size=12))
def test_no_comment_stops_a_batch_and_every_comment_is_applied(texts: list[str]) -> None:
    comments = comments_of(texts)
    run = Run()
    run.handle(records_of(comments))
    assert run.dead_letters() == []
    assert run.store.applied == [comment.id for comment in comments]
    # the drafts are what the order book makes of each comment's parse
    grammar = compile_grammar(SHOP)
    model = _book()
    model.apply(
        [
            comment_event(comment, grammar.parse(comment.text, comment.id), offset, 0)
            for offset, comment in enumerate(comments)
        ]
    )
    assert run.store.book.drafts() == model.drafts()
    for item in (line for draft in model.drafts() for line in draft["lines"]):
        assert 1 <= item["qty"] <= 10**9 * len(comments)


def _parse_failing_on(
    monkeypatch: pytest.MonkeyPatch, text: str, failure: BaseException | ParseResult
) -> None:
    """The grammar raises `failure` (or returns it) for `text`: a parser bug on one comment."""
    parse = Grammar.parse

    def parse_or_fail(self: Grammar, typed: str, comment_id: str = "") -> ParseResult:
        if typed != text:
            return parse(self, typed, comment_id)
        if isinstance(failure, BaseException):
            raise failure
        return failure

    monkeypatch.setattr(Grammar, "parse", parse_or_fail)


@pytest.mark.parametrize(
    ("failure", "detail"),
    [
        (ValueError("Exceeds the limit (4300 digits)"), "ValueError: Exceeds the limit"),
        (RecursionError("maximum recursion depth exceeded"), "RecursionError"),
        # a result the order book refuses would refuse the whole batch and stop the worker
        (ParseResult("c1", "order", None, [ParsedItem("MP10", 10**20)]), "quantity"),
        (ParseResult("c1", "order", None, [ParsedItem("MP10", 0)]), "quantity"),
        (ParseResult("c1", "order", None, [ParsedItem("", 1)]), "code"),
    ],
    ids=["value-error", "recursion", "qty-1e20", "qty-0", "empty-code"],
)
def test_a_comment_the_parser_fails_on_is_a_dead_letter_and_the_batch_goes_on(
    monkeypatch: pytest.MonkeyPatch, failure: BaseException | ParseResult, detail: str
) -> None:
    _parse_failing_on(monkeypatch, "kaboom", failure)
    comments = comments_of(["K2 1", "kaboom", "MP10 2"])
    records = records_of(comments)
    run = Run()
    run.handle(records)
    assert run.store.applied == ["c0", "c2"]
    [letter] = run.dead_letters()
    assert letter.reason == "unparseable_comment"
    assert detail in letter.detail, letter.detail
    assert (letter.partition, letter.offset) == (0, 1)
    assert letter.original_value() == records[1].value
    assert letter.original_key() == LIVE.encode()
    seqs = {draft["customer"]["user_id"]: draft["seq"] for draft in run.store.book.drafts()}
    assert seqs == {"u0": 1, "u2": 2}


def test_every_batch_after_a_dead_letter_is_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    _parse_failing_on(monkeypatch, "kaboom", ValueError("boom"))
    run = Run()
    first = records_of(comments_of(["kaboom"] * 3))
    run.handle(first)
    later = [
        Record(TOPICS.comments, 0, 3 + r.offset, r.key, r.value)
        for r in records_of(comments_of(["K2 1", "MP10 2"]))
    ]
    run.handle(later)
    assert len(run.dead_letters()) == 3
    assert run.store.applied == ["c0", "c1"]


def _draft_lines(run: Run) -> list[Any]:
    return [line["code"] for draft in run.store.book.drafts() for line in draft["lines"]]


def test_a_long_run_of_digits_in_an_order_leaves_the_order() -> None:
    # the comment of issue 13 that stopped `chotdon parse`: now an order of MP10, quantity 1
    run = Run()
    run.handle(records_of(comments_of(["MP10 x" + "9" * 5_000, "K2 1"])))
    assert run.dead_letters() == []
    assert _draft_lines(run) == ["MP10", "K2"]
    assert [line["qty"] for draft in run.store.book.drafts() for line in draft["lines"]] == [1, 1]
