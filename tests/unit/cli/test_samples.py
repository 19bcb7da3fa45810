"""The sample livestream generator: deterministic, valid comments, the promised mix."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import cli.samples as sample_live
from config.loader import load_shop
from stream.messages import Comment

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "sample_live.py"


def _script() -> Any:
    """benchmarks/ is not an installed package: load the command-line wrapper by its path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("sample_live_cli", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def samples() -> list[Any]:
    result: list[Any] = sample_live.generate_samples()
    return result


def test_same_arguments_same_comments() -> None:
    first = sample_live.generate(300, 50, seed=7)
    assert first == sample_live.generate(300, 50, seed=7)
    assert first != sample_live.generate(300, 50, seed=8)
    assert sample_live.generate(0) == []


def test_defaults(samples: list[Any]) -> None:
    comments: list[Comment] = [sample.comment for sample in samples]
    assert len(comments) == 3000
    assert all(isinstance(comment, Comment) for comment in comments)
    assert {(c.shop_id, c.livestream_id) for c in comments} == {("shop-demo", "live-demo")}
    assert len({comment.id for comment in comments}) == len(comments)
    assert all(a.created_at < b.created_at for a, b in itertools.pairwise(comments))
    assert comments[0].created_at >= datetime(2026, 1, 1, 13, 0, tzinfo=UTC)
    span = comments[-1].created_at - comments[0].created_at
    assert timedelta(seconds=250) < span < timedelta(seconds=350)  # 3000 at 10 a second
    people = {(c.platform, c.user_id) for c in comments if c.user_id is not None}
    assert 300 < len(people) <= 400
    platforms = Counter(comment.platform for comment in comments)
    assert set(platforms) == {"facebook", "tiktok", "shopee", "youtube"}
    assert platforms["facebook"] > platforms["tiktok"] > platforms["youtube"]


def test_the_mix(samples: list[Any]) -> None:
    share = {kind: n / len(samples) for kind, n in Counter(s.kind for s in samples).items()}
    assert 0.45 < share["chatter"] < 0.56
    assert 0.30 < share["order"] + share["repeat"] < 0.42
    assert 0.03 < share["phone"] < 0.07
    assert 0.03 < share["cancel"] < 0.07
    assert 0.01 < share["repeat"] < 0.05
    anonymous = [s for s in samples if s.comment.user_id is None]
    assert 0.003 < len(anonymous) / len(samples) < 0.02
    assert all(s.comment.user_name == "" and s.kind in ("chatter", "order") for s in anonymous)
    forms = Counter(s.form for s in samples if s.kind == "order")
    assert set(forms) == set(sample_live.ORDER_FORMS)
    texts = [s.comment.text for s in samples]
    assert any(text.isascii() and "chot" in text for text in texts)  # without diacritics
    assert any("😍" in text for text in texts)
    assert any(re.fullmatch(r"a12[smlx]+ (do|den|trang).*", text) for text in texts)  # glued


def test_phone_numbers_in_every_spelling(samples: list[Any]) -> None:
    phones = [s.comment.text for s in samples if s.kind == "phone"]
    patterns = [
        r"0\d{9}",
        r"0\d{3} \d{3} \d{3}",
        r"0\d{3}\.\d{3}\.\d{3}",
        r"0\d{3}-\d{3}-\d{3}",
        r"\+84 \d{3} \d{3} \d{3}",
        r"\+84\d{9}",
        r"(?<!\+)84\d{9}",
    ]
    for pattern in patterns:
        assert any(re.search(pattern, text) for text in phones), pattern


def test_repeats_retype_the_previous_order_of_the_same_customer(samples: list[Any]) -> None:
    last_order: dict[tuple[str, str | None], str] = {}
    repeats = 0
    for sample in samples:
        who = (sample.comment.platform, sample.comment.user_id)
        if sample.kind == "repeat":
            assert last_order[who] == sample.comment.text
            repeats += 1
        elif sample.kind == "order":
            last_order[who] = sample.comment.text
        elif sample.kind == "cancel" and not sample.items:
            last_order.pop(who, None)
    assert repeats > 30


def test_hot_products_are_oversubscribed(samples: list[Any]) -> None:
    shop = load_shop(sample_live.DEMO_SHOP)
    stock = {product.code: product.stock or 0 for product in shop.products}
    asked: Counter[str] = Counter()
    for sample in samples:
        if sample.kind == "order":
            for code, qty in sample.items:
                asked[code] += qty
    assert asked["A12"] > 3 * stock["A12"]
    assert asked["K2"] > 3 * stock["K2"]
    assert 0 < asked["V5"] <= stock["V5"]  # kept under its stock, for contrast
    unknown = set(asked) - set(stock)
    assert unknown and unknown <= set(sample_live.UNKNOWN_CODES)


def test_cancels_name_codes_the_customer_ordered(samples: list[Any]) -> None:
    ordered: dict[tuple[str, str | None], set[str]] = {}
    for sample in samples:
        who = (sample.comment.platform, sample.comment.user_id)
        if sample.kind == "order":
            ordered.setdefault(who, set()).update(code for code, _ in sample.items)
        elif sample.kind == "cancel" and sample.items:
            (code, _), *_ = sample.items
            assert code in ordered[who]
            assert code.lower() in sample.comment.text.lower()


def test_command_line_writes_json_lines(tmp_path: Path, capsysbinary: Any) -> None:
    out = tmp_path / "live.jsonl"
    argv = [
        "--comments",
        "40",
        "--customers",
        "9",
        "--livestream",
        "live-7",
        "--shop",
        "shop-x",
        "--seed",
        "3",
        "--rate",
        "2",
        "--start",
        "2026-02-01T20:00:00+07:00",
    ]
    assert _script().main([*argv, "--out", str(out)]) == 0
    comments = [Comment.from_json(line) for line in out.read_bytes().splitlines()]
    assert len(comments) == 40
    assert {(c.shop_id, c.livestream_id) for c in comments} == {("shop-x", "live-7")}
    assert comments[0].created_at > datetime(2026, 2, 1, 13, 0, tzinfo=UTC)
    assert comments == sample_live.generate(
        40,
        9,
        livestream_id="live-7",
        shop_id="shop-x",
        seed=3,
        rate=2,
        start=datetime(2026, 2, 1, 13, 0, tzinfo=UTC),
    )
    assert _script().main(argv) == 0
    assert capsysbinary.readouterr().out == out.read_bytes()


def test_command_line_refuses_a_start_without_zone(capsys: Any) -> None:
    with pytest.raises(SystemExit):
        _script().main(["--start", "2026-02-01T20:00:00"])
    assert "has no time zone" in capsys.readouterr().err
