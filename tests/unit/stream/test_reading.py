"""The pipeline's remembering grammar reads every text exactly as the grammar does."""

from __future__ import annotations

import pytest

from cli.samples import DEMO_SHOP, generate
from config.loader import load_shop
from parsers import compile_grammar
from stream import reading
from stream.reading import RememberingGrammar

SHOP = load_shop(DEMO_SHOP)


def test_every_sample_comment_reads_as_the_grammar_reads_it() -> None:
    grammar = compile_grammar(SHOP)
    remembering = RememberingGrammar(compile_grammar(SHOP))
    comments = generate(3000, 400)
    texts = [c.text for c in comments]
    assert len(set(texts)) < len(texts) / 2  # most are repeats: they are answered from memory
    for comment in comments:
        expected = grammar.parse(comment.text, comment.id).to_dict()
        assert remembering.parse(comment.text, comment.id).to_dict() == expected


def test_a_repeated_text_gets_results_of_its_own() -> None:
    remembering = RememberingGrammar(compile_grammar(SHOP))
    first = remembering.parse("chốt A12 M đỏ 2", "c1")
    first.items[0].attributes["size"] = "XXL"  # whatever one caller does with its result
    first.items.clear()
    second = remembering.parse("chốt A12 M đỏ 2", "c2")
    assert second.comment_id == "c2"
    assert [item.to_dict() for item in second.items] == [
        {"code": "A12", "qty": 2, "attributes": {"size": "M", "color": "đỏ"}, "status": "matched"}
    ]
    assert second.items[0] is not remembering.parse("chốt A12 M đỏ 2", "c3").items[0]


def test_what_it_keeps_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "TEXTS_KEPT", 50)
    remembering = RememberingGrammar(compile_grammar(SHOP))
    for n in range(500):
        remembering.parse(f"A12 M {n}")
        assert len(remembering._kept) <= 50
    long_text = "chốt A12 M đỏ " + "nha " * reading.LONGEST_KEPT
    remembering.parse(long_text)
    assert long_text not in remembering._kept
