"""A worker keeps the compiled grammars of the livestreams it read lately, not of every one."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import orjson
import pytest
from test_pipeline_hostile_comments import SHOP, TOPICS, Info, comments_of, records_of

import stream.pipeline
from orders.book import OrderBook
from orders.events import CommentEvent
from orders.store import Applied
from stream.pipeline import CommentPipeline


class ManyLivestreams:
    """The comment store as one order book per livestream, every livestream of the sample shop."""

    def __init__(self) -> None:
        self.books: dict[str, OrderBook] = {}
        self.infos = 0

    async def livestream_info(self, livestream_id: str) -> Info:
        self.infos += 1
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
        products = {product.code: product for product in SHOP.products}
        book = self.books.setdefault(
            livestream_id, OrderBook(shop_id, livestream_id, products, SHOP.orders.repeat_comment)
        )
        changed = book.apply(events)
        raw = [(orjson.dumps(draft), []) for draft in changed]
        return Applied(raw, [], len(changed), dict(book.watermarks))


async def _nothing(messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
    return None


def _batch_of(livestream_id: str) -> list[stream.pipeline.Record]:
    comments = [
        c.model_copy(update={"livestream_id": livestream_id, "id": f"{livestream_id}-{c.id}"})
        for c in comments_of(["chốt K2", "A12 M đỏ 2"])
    ]
    return records_of(comments)


def test_past_the_limit_the_least_recently_read_livestream_is_forgotten(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stream.pipeline, "GRAMMARS_KEPT", 3)
    store = ManyLivestreams()
    pipeline = CommentPipeline(store, _nothing, TOPICS)  # type: ignore[arg-type]

    async def read(*livestreams: str) -> None:
        for livestream_id in livestreams:
            await pipeline.handle(_batch_of(livestream_id))

    asyncio.run(read("a", "b", "c"))
    kept_a = pipeline._grammars["a"][1]
    asyncio.run(read("a", "d"))  # b is the least recently read when d comes
    assert list(pipeline._grammars) == ["c", "a", "d"]
    assert pipeline._grammars["a"][1] is kept_a  # read again, not compiled again
    asyncio.run(read("b"))  # a forgotten livestream that comments again is compiled again
    assert list(pipeline._grammars) == ["a", "d", "b"]
    assert set(store.books) == {"a", "b", "c", "d"}
