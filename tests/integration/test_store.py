"""The Redis store against the pure model: the Lua function must reach exactly the model's drafts.

Every scenario of tests/unit/orders/orderbook_scenarios.py runs through DraftStore (one FCALL per
batch or staff command) and is compared with orders/book.py step by step; a hypothesis-generated
differential test then throws random comment streams (duplicates, redeliveries, product changes,
random batch splits) with random staff commands between them at both. Drafts, customers,
unattributed comments, held units and waitlists must be equal after every run. Uses the test
Redis of tests/conftest.py (`redis_client`); set CHOTDON_TEST_STORE_REDIS to a redis:// URL to run
against a Redis of your own instead (its database is flushed per test).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
import redis.asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.crc import key_slot
from store_support import all_keys, scenarios

from config.shop import Product
from orders.book import OrderBook, RepeatRule
from orders.events import CommentEvent, Intent, InvalidEvent
from orders.store import (
    DraftCommandResult,
    DraftStore,
    StoreError,
    WatermarkBehind,
    encode_events,
    livestream_prefix,
    registry_key,
    shop_livestreams_key,
)
from parsers.models import ItemStatus, ParsedItem

Json = dict[str, Any]


S = scenarios()


async def _register(
    store: DraftStore, live: str, products: Sequence[Product], repeat: RepeatRule
) -> list[Json]:
    config = b'{"shop": "test"}'
    return await store.register_livestream(S.SHOP, live, products, repeat, shop_config_json=config)


async def _command(store: DraftStore, live: str, step: Any) -> DraftCommandResult:
    raw = await store.draft_raw(S.SHOP, live, step.op["seq"])
    op = S.resolve_expect(step.op, None if raw is None else raw.decode())
    return await store.apply_draft_command(S.SHOP, live, step.command_id, op)


async def _run_store(store: DraftStore, live: str, scenario: Any) -> list[Any]:
    assert await _register(store, live, scenario.products, scenario.repeat) == []
    outputs: list[Any] = []
    for step in scenario.steps:
        if isinstance(step, S.Apply):
            outputs.append(await store.apply_comments(S.SHOP, live, step.events))
        elif isinstance(step, S.SetProducts):
            outputs.append(await _register(store, live, step.products, scenario.repeat))
        elif isinstance(step, S.Command):
            result = await _command(store, live, step)
            outputs.append((result.status, result.reasons, result.draft, result.others))
        else:
            assert await store.stop_livestream(live)
            outputs.append([])
    return outputs


async def _state(store: DraftStore, live: str) -> tuple[Any, ...]:
    return (
        await store.drafts(S.SHOP, live),
        await store.customers(S.SHOP, live),
        await store.unattributed(S.SHOP, live),
        await store.progress(S.SHOP, live),
        await store.stock(S.SHOP, live),
    )


def _model_state(book: OrderBook) -> tuple[Any, ...]:
    return (
        book.drafts(),
        book.customers(),
        book.unattributed(),
        (book.watermark, book.last_seq),
        (book.held(), book.queues()),
    )


async def _replay_changes_nothing(store: DraftStore, live: str, steps: Sequence[Any]) -> None:
    """Comments and commands again: duplicates all, but for a finalise that was stale (not
    kept): it is stale again, or refused now that the draft is no longer open."""
    before = await _state(store, live)
    for step in steps:
        if isinstance(step, S.Apply):
            assert await store.apply_comments(S.SHOP, live, step.events) == []
        elif isinstance(step, S.Command):
            result = await _command(store, live, step)
            assert result.duplicate or result.status != "applied", step
            assert result.others == []
    assert await _state(store, live) == before


@pytest.mark.parametrize("scenario", S.SCENARIOS, ids=S.SCENARIO_IDS)
async def test_scenario_matches_the_model(store: DraftStore, scenario: Any) -> None:
    book, expected = S.run_model(scenario)
    outputs = await _run_store(store, S.LIVE, scenario)
    for index, (got, want) in enumerate(zip(outputs, expected, strict=True)):
        assert got == want, f"step {index}"
    assert await _state(store, S.LIVE) == _model_state(book)
    await _replay_changes_nothing(store, S.LIVE, scenario.steps)


# -- the store's own contract ------------------------------------------------------------------


async def _version(store: DraftStore, live: str) -> int:
    info = await store.livestream_info(live)
    assert info is not None
    return info.config_version


async def test_register_is_idempotent_and_versions_changes(store: DraftStore) -> None:
    assert await _register(store, "l1", S.CATALOGUE, "ignore") == []
    info = await store.livestream_info("l1")
    assert info is not None and (info.shop_id, info.open, info.config_version) == (S.SHOP, True, 1)
    assert info.shop_config_json == b'{"shop": "test"}'
    await _register(store, "l1", S.CATALOGUE, "ignore")
    assert await _version(store, "l1") == 1
    await _register(store, "l1", S.CATALOGUE[:2], "ignore")
    assert await _version(store, "l1") == 2
    assert await store.stop_livestream("l1")
    await _register(store, "l1", S.CATALOGUE, "add")
    info = await store.livestream_info("l1")
    assert info is not None and (info.open, info.config_version) == (False, 3)


async def test_unknown_livestreams(store: DraftStore) -> None:
    assert await store.livestream_info("nope") is None
    assert not await store.stop_livestream("nope")
    with pytest.raises(StoreError, match="not registered"):
        await store.apply_comments(S.SHOP, "nope", [S.Feed()("u1", "order", S.item("MP10"))])
    assert await store.drafts(S.SHOP, "nope") == []
    assert await store.draft(S.SHOP, "nope", 1) is None


async def test_a_livestream_belongs_to_one_shop(store: DraftStore) -> None:
    await _register(store, "l1", S.CATALOGUE, "ignore")
    with pytest.raises(StoreError, match="belongs to shop"):
        await store.register_livestream(
            "other-shop", "l1", S.CATALOGUE, "ignore", shop_config_json=b"{}"
        )


async def test_draft_by_seq(store: DraftStore) -> None:
    await _register(store, "l1", S.CATALOGUE, "ignore")
    feed = S.Feed()
    changed = await store.apply_comments(
        S.SHOP, "l1", [feed("u1", "order", S.item("MP10")), feed("u2", "order", S.item("MP10"))]
    )
    assert await store.draft(S.SHOP, "l1", 2) == changed[1]


async def test_a_redelivered_batch_returns_its_customers_drafts_unchanged(
    store: DraftStore,
) -> None:
    await _register(store, "l1", S.CATALOGUE, "ignore")
    feed = S.Feed()
    batch = [
        feed("u1", "order", S.item("MP10")),
        feed("u2", "order", S.item("MP10")),
        feed("u1", "none"),
    ]
    first = await store.apply_batch(S.SHOP, "l1", batch)
    assert (len(first.changed), first.redelivered, first.created) == (2, [], 2)
    before = await _state(store, "l1")
    again = await store.apply_batch(S.SHOP, "l1", batch)
    # nothing changes, but the drafts come back so their events can be published again
    assert (again.changed, again.created) == ([], 0)
    assert again.redelivered == first.changed
    assert await _state(store, "l1") == before


async def test_a_store_behind_what_the_caller_applied_refuses_the_batch(
    store: DraftStore,
) -> None:
    """The intake sends the watermarks it knows; a store below them lost writes (Redis came
    back older), and applying on top would skip the lost comments for good."""
    await _register(store, "l1", S.CATALOGUE, "ignore")
    feed = S.Feed()
    first = [feed("u1", "order", S.item("MP10")), feed("u2", "order", S.item("MP10"))]
    applied = await store.apply_batch(S.SHOP, "l1", first)
    mark = first[-1].offset
    assert applied.watermarks == {first[-1].partition: mark}
    before = await _state(store, "l1")
    later = [feed("u3", "order", S.item("MP10"))]
    with pytest.raises(WatermarkBehind, match="watermark went back"):
        await store.apply_batch(S.SHOP, "l1", later, {first[-1].partition: mark + 5})
    assert await _state(store, "l1") == before
    again = await store.apply_batch(S.SHOP, "l1", later, {first[-1].partition: mark})
    assert again.created == 1 and again.watermarks == {later[0].partition: later[0].offset}


async def test_bad_input_leaves_no_trace(store: DraftStore, client: redis.asyncio.Redis) -> None:
    """The Lua function validates everything before writing (the Python check is bypassed)."""
    await _register(store, "l1", S.CATALOGUE, "ignore")
    feed = S.Feed()
    good = feed("u1", "order", S.item("MP10"))
    before = await _state(store, "l1")
    meta = f"{livestream_prefix(S.SHOP, 'l1')}:meta"
    bad_events = [
        [good, feed("u2", "order", ParsedItem("MP10", qty=0))],
        [good, feed("u2", "order", ParsedItem("MP10", qty=1_000_000_001))],
        [good, feed("u2", "order", ParsedItem("MP10", status="nope"))],  # type: ignore[arg-type]
        [good, feed("u2", "sell")],
    ]
    for events in bad_events:
        with pytest.raises(redis.exceptions.ResponseError, match="bad event 2"):
            await client.fcall("chotdon_apply", 1, meta, encode_events(events))
        with pytest.raises(InvalidEvent):
            await store.apply_comments(S.SHOP, "l1", events)
    with pytest.raises(redis.exceptions.ResponseError, match="not a JSON array"):
        await client.fcall("chotdon_apply", 1, meta, b"{not json")
    assert await _state(store, "l1") == before


async def test_functions_are_reloaded_when_missing(
    store: DraftStore, client: redis.asyncio.Redis
) -> None:
    await client.function_flush()
    await _register(store, "l1", S.CATALOGUE, "ignore")
    assert await store.livestream_info("l1") is not None


async def test_keys_share_one_hash_tag(store: DraftStore, client: redis.asyncio.Redis) -> None:
    await _register(store, "l1", S.CATALOGUE, "ignore")
    feed = S.Feed()
    await store.apply_comments(
        S.SHOP,
        "l1",
        [
            feed("u1", "order", S.item("B3", 5, size="28")),
            feed(None, "order", S.item("B3")),
            feed("u2", "order", S.item("B3", size="28")),
            feed("u2", "cancel"),
        ],
    )
    keys = sorted(k.decode() if isinstance(k, bytes) else k for k in await all_keys(client))
    # Outside the livestream's tag: the registry (livestream -> shop) and the shop's own index of
    # its livestreams, in the shop's tag; both written by separate calls, never by a batch.
    outside = {"chotdon:livestream:l1", shop_livestreams_key(S.SHOP)}
    assert outside <= set(keys)
    tagged = [k for k in keys if k not in outside]
    assert tagged and all(k.startswith("chotdon:{shop-test:l1}:") for k in tagged)
    assert len({key_slot(k.encode()) for k in tagged}) == 1


# -- differential: random streams through both -------------------------------------------------

P1 = S.product("P1", 10_000, stock=3, size=("S", "M"))
P2 = S.product("P2", 20_000, stock=1)
P3 = S.product("P3", 30_000)
Z1 = S.product("Z1", 5_000, stock=2)
USERS = ["u1", "u2", "u3", "u4", None]
INTENTS: tuple[Intent, ...] = ("order", "order", "order", "cancel", "none")
REPEATS: tuple[RepeatRule, ...] = ("ignore", "ignore", "add")


@st.composite
def order_items(draw: st.DrawFn, for_cancel: bool = False) -> tuple[ParsedItem, ...]:
    count = draw(st.integers(0 if for_cancel else 1, 2))
    items = []
    for _ in range(count):
        code = draw(st.sampled_from(["P1", "P1", "P2", "P3", "Z1", "Z2"]))
        attrs = {}
        if code == "P1" and draw(st.booleans()):
            attrs["size"] = draw(st.sampled_from(["S", "M"]))
        status: ItemStatus = "unknown_code" if code.startswith("Z") else "matched"
        items.append(ParsedItem(code, draw(st.integers(1, 4)), attrs, status))
    return tuple(items)


@st.composite
def comment(draw: st.DrawFn) -> tuple[str | None, Intent, tuple[ParsedItem, ...], str | None, str]:
    user = draw(st.sampled_from(USERS))
    intent = draw(st.sampled_from(INTENTS))
    items: tuple[ParsedItem, ...] = ()
    if intent == "order":
        items = draw(order_items())
    elif intent == "cancel":
        items = draw(order_items(for_cancel=True))
    phone = draw(st.sampled_from([None, None, None, "0912345678", "0987654321"]))
    name = draw(st.sampled_from(["Lan", "Lan", "", "Minh"]))
    return user, intent, items, phone, name


COMMAND_KINDS = (
    "set_customer", "pick_product", "pick_product", "choose_variant", "set_quantity",
    "set_quantity", "remove_line", "add_line", "add_custom_line", "assign", "finalise",
    "finalise",
)  # fmt: skip
CONTACTS: tuple[Json, ...] = (
    {"name": "Lan", "phone": "0912345678"},
    {"address": "1 Lê Lợi", "province": "Hà Nội", "ward": "Hoàn Kiếm"},
    {"name": None, "note": ""},
    {"name": "Lan"},
)
ATTRIBUTES: tuple[dict[str, str], ...] = (
    {}, {"size": "S"}, {"size": "M"}, {"size": "XL"}, {"color": "đỏ"}, {"size": "S", "color": "đỏ"},
)  # fmt: skip


@st.composite
def staff_command(draw: st.DrawFn, index: int) -> Any:
    """A random command on one of the first drafts: well-formed, often refused, maybe stale,
    now and then reusing an earlier command id."""
    kind = draw(st.sampled_from(COMMAND_KINDS))
    seq = draw(st.sampled_from([1, 1, 1, 2, 2, 3, 3, 4, 5, 6]))
    op: Json = {"type": kind, "seq": seq, "at": S.cmd_at(index), "staff": "nv1"}
    line, qty = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    code = draw(st.sampled_from(["P1", "P1", "P2", "P3", "Z1", "Z2"]))
    attributes = draw(st.sampled_from(ATTRIBUTES))
    if kind == "set_customer":
        op["contact"] = draw(st.sampled_from(CONTACTS))
    elif kind == "pick_product":
        op.update(line=line, code=code, attributes=attributes)
    elif kind == "choose_variant":
        op.update(line=line, attributes=attributes)
    elif kind == "set_quantity":
        op.update(line=line, qty=qty)
    elif kind == "remove_line":
        op["line"] = line
    elif kind == "add_line":
        op.update(code=code, attributes=attributes, qty=qty)
    elif kind == "add_custom_line":
        op.update(name="Quà", price=draw(st.sampled_from([0, 15_000])), qty=qty)
    elif kind == "assign":
        op["assignee"] = draw(st.sampled_from(["lan", "minh", None]))
    else:
        action = draw(st.sampled_from(["create", "deliver_now", "send_to_store", "save", "cancel"]))
        expect = S.STALE if draw(st.integers(0, 5)) == 0 else S.CURRENT
        op.update(action=action, expect=expect, order_id=f"live-{seq}")
    again = draw(st.integers(0, 7)) == 0
    command_id = f"k{draw(st.integers(0, index))}" if again else f"k{index}"
    return S.Command(command_id, op)


@st.composite
def streams(draw: st.DrawFn) -> tuple[RepeatRule, list[Any]]:
    """Steps for both sides: batches (some redelivered), product changes, staff commands, maybe
    a close."""
    raw = draw(st.lists(comment(), min_size=1, max_size=40))
    events = []
    for offset, (user, intent, items, phone, name) in enumerate(raw):
        # Reused ids stand for producer retries: a new offset, an old comment id.
        cid = f"c{draw(st.integers(0, offset))}" if draw(st.integers(0, 9)) == 0 else f"c{offset}"
        at = S.at(offset)
        events.append(CommentEvent(cid, offset, "facebook", user, name, at, intent, phone, items))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(events) - 1)), max_size=6)))
    batches = [events[a:b] for a, b in zip([0, *cuts], [*cuts, len(events)], strict=True)]
    steps: list[Any] = []
    commands = 0
    for batch in batches:
        steps.append(S.Apply(tuple(batch)))
        for _ in range(draw(st.integers(0, 3))):
            commands += 1
            steps.append(draw(staff_command(commands)))
        if draw(st.integers(0, 4)) == 0:  # a redelivery of an earlier batch
            applied = [step for step in steps if isinstance(step, S.Apply)]
            steps.append(applied[draw(st.integers(0, len(applied) - 1))])
        if draw(st.integers(0, 5)) == 0:
            p1 = S.product(
                "P1", 10_000, stock=draw(st.sampled_from([0, 1, 3, 6, None])), size=("S", "M")
            )
            p2 = S.product(
                "P2",
                draw(st.sampled_from([20_000, 25_000])),
                stock=draw(st.sampled_from([0, 1, 4])),
            )
            extra = (Z1,) if draw(st.booleans()) else ()
            steps.append(S.SetProducts((p1, p2, P3, *extra)))
    if draw(st.integers(0, 7)) == 0:
        steps.insert(draw(st.integers(0, len(steps))), S.Close())
    repeat = draw(st.sampled_from(REPEATS))
    return repeat, steps


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stream=streams())
async def test_random_streams_match_the_model(
    store: DraftStore, stream: tuple[RepeatRule, list[Any]]
) -> None:
    repeat, steps = stream
    live = f"live-{uuid.uuid4().hex[:10]}"
    scenario = S.Scenario("random", tuple(steps), lambda book, out: None, (P1, P2, P3), repeat)
    book = OrderBook(S.SHOP, live, {p.code: p for p in scenario.products}, repeat)
    outputs = await _run_store(store, live, scenario)
    want: Any
    for index, step in enumerate(steps):
        if isinstance(step, S.Apply):
            want = book.apply(step.events)
        elif isinstance(step, S.SetProducts):
            want = book.set_products({p.code: p for p in step.products})
        elif isinstance(step, S.Command):
            want = S.run_command(book, step)
        else:
            book.close()
            want = []
        assert outputs[index] == want, f"step {index}: {step}"
    assert await _state(store, live) == _model_state(book)
    await _replay_changes_nothing(store, live, steps)


# -- retention: a finished livestream goes whole ------------------------------------------------


async def test_a_stopped_livestream_expires_whole_after_the_shops_retention(
    store: DraftStore, client: redis.asyncio.Redis
) -> None:
    """`[orders] retention_days` from the stop: every key of the livestream, its dedupe set and
    command outcomes included, and its registry entry expire at one moment; keys that writes
    after the stop create (comments recorded, commands finishing drafts) get the same one."""
    config = b'{"shop": "test", "orders": {"retention_days": 3}}'
    await store.register_livestream(S.SHOP, "l1", S.CATALOGUE, "ignore", shop_config_json=config)
    feed = S.Feed()
    await store.apply_comments(S.SHOP, "l1", [feed("u1", "order", S.item("B3", 5, size="28")),
                                             feed("u2", "order", S.item("MP10"))])  # fmt: skip
    prefix = livestream_prefix(S.SHOP, "l1")

    async def expiry() -> dict[str, int]:
        names = [k.decode() if isinstance(k, bytes) else k for k in await all_keys(client)]
        mine = [k for k in names if k.startswith(prefix) or k == registry_key("l1")]
        return {k: int(await client.expiretime(k)) for k in sorted(mine)}

    assert set((await expiry()).values()) == {-1}  # a live livestream keeps everything
    now = 1_900_000_000
    assert await store.stop_livestream("l1", now=now)
    deadline = now + 3 * 86400
    first = await expiry()
    assert f"{prefix}:seen" in first and registry_key("l1") in first
    assert set(first.values()) == {deadline}, first

    late = dataclasses.replace(feed("u3", "order", S.item("MP10")), partition=3)
    await store.apply_comments(S.SHOP, "l1", [late])
    op = {"type": "assign", "seq": 1, "at": "2026-05-01T21:00:01+07:00", "staff": "nv1",
          "assignee": "lan"}  # fmt: skip
    assert (await store.apply_draft_command(S.SHOP, "l1", "k1", op)).status == "applied"
    assert await store.stop_livestream("l1", now=now + 86400)  # a second stop: same deadline
    after = await expiry()
    assert f"{prefix}:cmds" not in first and f"{prefix}:cmds" in after  # made after the stop
    assert set(after.values()) == {deadline}, after


async def test_a_livestream_past_its_retention_is_gone(
    store: DraftStore, client: redis.asyncio.Redis
) -> None:
    config = b'{"shop": "test", "orders": {"retention_days": 1}}'
    await store.register_livestream(S.SHOP, "l1", S.CATALOGUE, "ignore", shop_config_json=config)
    await store.apply_comments(S.SHOP, "l1", [S.Feed()("u1", "order", S.item("MP10"))])
    assert await store.stop_livestream("l1", now=1_000_000_000)  # stopped in 2001
    assert await store.livestream_info("l1") is None
    assert await store.livestreams(S.SHOP) == []  # the shop's index forgets it when read
    assert await all_keys(client) == []
