"""Hostile input at every entry point: comment records, platform payloads, shop configurations
and staff commands, fuzzed with hypothesis, and oversize or deeply nested JSON for each.

Every entry point must either accept a value or refuse it with its own error and a reason a
person can read (which the agents turn into a dead letter or a refused outcome): never another
exception (a crash of the agent), never a RecursionError. No partial write can follow from
here: what is refused never reaches a store (the stores' own refusal of a whole batch is
tested in tests/integration/test_store.py).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from config.loader import ConfigError, validate_document
from config.shop import ShopConfig
from connectors.sources import ADAPTERS, SourceError
from orders.decide import command_op
from stream.messages import MAX_COMMENT_TEXT, Comment, DeadLetterReason
from stream.pipeline import _classify
from stream.staff import COMMANDS

ROOT = Path(__file__).resolve().parents[3]
DEMO = tomllib.loads((ROOT / "config" / "shops" / "demo.toml").read_text(encoding="utf-8"))
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# JSON as a producer can write it (orjson: 64-bit integers, finite floats)
integers = st.integers(min_value=-(2**63), max_value=2**63 - 1)
scalars = st.none() | st.booleans() | integers | st.floats(allow_nan=False) | st.text()


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)


json_values = st.recursive(scalars, _containers, max_leaves=20)

COMMENT = {
    "v": 1, "id": "c1", "platform": "facebook", "shop_id": "shop-demo", "livestream_id": "L1",
    "user_id": "u1", "user_name": "Lan", "text": "chốt A12 size M 2 cái",
    "created_at": "2026-03-01T20:00:00+07:00",
}  # fmt: skip
COMMAND = {
    "v": 1, "type": "set_customer", "command_id": "k1", "staff_id": "lan",
    "issued_at": "2026-03-01T20:00:00+07:00", "livestream_id": "L1", "seq": 3,
    "name": "Lan", "phone": "0912345678", "address": "12 Lê Lợi", "province": "Huế",
}  # fmt: skip


def mutated(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A valid document with some fields dropped, replaced by anything, or added."""
    keys = sorted(base)
    return st.builds(
        lambda drop, replace, extra: {
            **{k: v for k, v in base.items() if k not in drop},
            **replace,
            **extra,
        },
        st.sets(st.sampled_from(keys), max_size=3),
        st.dictionaries(st.sampled_from(keys), json_values, max_size=3),
        st.dictionaries(st.text(max_size=6), json_values, max_size=2),
    )


# -- comment records ----------------------------------------------------------------------------


def _decode_comment(raw: bytes) -> Comment | tuple[str, str]:
    """What the comment pipeline does with a record's value: a Comment, or a dead letter's
    (reason, detail)."""
    try:
        return Comment.from_json(raw)
    except ValidationError as exc:
        return _classify(raw, exc)


def _assert_comment_or_letter(raw: bytes) -> None:
    result = _decode_comment(raw)
    if isinstance(result, tuple):
        reason, detail = result
        assert reason in set(DeadLetterReason) and detail


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_are_a_comment_or_a_dead_letter(raw: bytes) -> None:
    _assert_comment_or_letter(raw)


@FUZZ
@given(mutated(COMMENT) | json_values)
def test_any_json_is_a_comment_or_a_dead_letter(document: Any) -> None:
    _assert_comment_or_letter(orjson.dumps(document))


def test_a_comment_longer_than_any_platform_allows_is_refused_with_the_reason() -> None:
    """Found by the fuzzing: a 1 MB comment of `A12 ` was read as 250,000 items, every one
    of them a line merge in one Redis call: one viewer could hold Redis for seconds."""
    at_limit = Comment.model_validate({**COMMENT, "text": "A12 " * (MAX_COMMENT_TEXT // 4)})
    assert len(at_limit.text) == MAX_COMMENT_TEXT
    raw = orjson.dumps({**COMMENT, "text": "A12 " * 250_000})
    reason, detail = _decode_comment(raw)  # type: ignore[misc]
    assert reason == DeadLetterReason.INVALID_COMMENT
    assert "text" in detail and str(MAX_COMMENT_TEXT) in detail


# -- platform payloads --------------------------------------------------------------------------


@pytest.mark.parametrize("source", sorted(ADAPTERS))
@FUZZ
@given(payload=json_values | st.text(max_size=200) | st.binary(max_size=200))
def test_any_payload_is_comments_or_a_source_error(source: str, payload: Any) -> None:
    adapter = ADAPTERS[source]
    raw = payload if isinstance(payload, str | bytes) else orjson.dumps(payload)
    for given_payload in (raw, payload):
        try:
            comments = adapter(given_payload, shop_id="shop-demo", livestream_id="L1")
        except SourceError as exc:
            assert str(exc)
            continue
        assert all(isinstance(c, Comment) for c in comments)


# -- shop configurations -----------------------------------------------------------------------


@FUZZ
@given(mutated(DEMO) | json_values)
def test_any_shop_document_is_a_config_or_a_config_error(document: Any) -> None:
    try:
        validate_document(ShopConfig, document, "fuzzed shop")
    except ConfigError as exc:
        assert "fuzzed shop" in str(exc)


@FUZZ
@given(st.sampled_from(sorted(DEMO)), json_values)
def test_any_section_replaced_is_a_config_or_a_config_error(section: str, value: Any) -> None:
    try:
        validate_document(ShopConfig, {**DEMO, section: value}, "fuzzed shop")
    except ConfigError as exc:
        assert section in str(exc) or "fuzzed shop" in str(exc)


# -- staff commands ------------------------------------------------------------------------------


@FUZZ
@given(mutated(COMMAND) | json_values)
def test_any_command_is_decoded_and_its_op_built_or_refused(document: Any) -> None:
    try:
        command = COMMANDS.validate_json(orjson.dumps(document))
    except ValidationError as exc:
        assert exc.errors(include_url=False)
        return
    if hasattr(command, "seq") and command.seq is not None:
        op, problems = command_op(command)  # pure: refusals are reasons, not exceptions
        assert op or problems


# -- oversize and deeply nested, at every entry point --------------------------------------------

DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
HUGE_STRING = orjson.dumps({**COMMENT, "text": "x" * 2_000_000})
HUGE_COMMAND = orjson.dumps({**COMMAND, "address": "x" * 2_000_000})


def _comment(raw: bytes) -> None:
    Comment.from_json(raw)


def _command(raw: bytes) -> None:
    COMMANDS.validate_json(raw)


def _payload(source: str) -> Callable[[bytes], Any]:
    return lambda raw: ADAPTERS[source](raw, shop_id="s", livestream_id="l")


ENTRY_POINTS: dict[str, tuple[Callable[[bytes], Any], type[Exception]]] = {
    "comment": (_comment, ValidationError),
    "command": (_command, ValidationError),
    **{f"payload:{name}": (_payload(name), SourceError) for name in ADAPTERS},
}


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("raw", [DEEP_ARRAY, DEEP_OBJECT], ids=["deep-array", "deep-object"])
def test_deeply_nested_json_is_refused_not_a_crash(name: str, raw: bytes) -> None:
    entry, refusal = ENTRY_POINTS[name]
    try:
        entry(raw)
    except refusal as exc:
        assert str(exc)
    # accepting is fine too (an adapter that finds no comment in it): what matters is that
    # nothing else, RecursionError above all, came out


@pytest.mark.parametrize(("name", "raw"), [("comment", HUGE_STRING), ("command", HUGE_COMMAND)])
def test_oversize_records_are_refused_with_the_field(name: str, raw: bytes) -> None:
    entry, refusal = ENTRY_POINTS[name]
    with pytest.raises(refusal, match=r"text|address"):
        entry(raw)


def test_a_deeply_nested_shop_configuration_is_refused() -> None:
    nested: Any = "x"
    for _ in range(5_000):
        nested = [nested]
    with pytest.raises(ConfigError, match="huge shop"):
        validate_document(ShopConfig, {**DEMO, "products": nested}, "huge shop")
