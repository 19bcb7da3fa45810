"""Staff commands through the Redis store: what only the store does.

The rules are compared with the pure model in test_store.py (scenarios and random streams with
commands between comments); here: the outcome kept under the command id in `P:cmds`, `expect`
compared with the stored view byte for byte, malformed ops refused by the Lua function itself,
and the keys the commands touch. Set CHOTDON_TEST_STORE_REDIS to use a Redis of your own (see
test_store.py).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import redis.asyncio
from redis.crc import key_slot
from store_support import all_keys, scenarios

from config.shop import Product
from orders.events import InvalidCommand
from orders.store import DraftStore, StoreError, livestream_prefix, shop_livestreams_key

Json = dict[str, Any]


S = scenarios()
LIVE = "live-c"
META = f"{livestream_prefix(S.SHOP, LIVE)}:meta"
CMDS = f"{livestream_prefix(S.SHOP, LIVE)}:cmds"


@pytest.fixture
async def store(client: redis.asyncio.Redis) -> DraftStore:
    store = DraftStore(client)
    await store.load_functions()
    await store.register_livestream(S.SHOP, LIVE, S.CATALOGUE, "ignore", shop_config_json=b"{}")
    return store


def op(kind: str, seq: int = 1, n: int = 1, **fields: Any) -> Json:
    return {"type": kind, "seq": seq, "at": S.cmd_at(n), "staff": "nv1", **fields}


async def _view(store: DraftStore, seq: int) -> str:
    raw = await store.draft_raw(S.SHOP, LIVE, seq)
    assert raw is not None
    return raw.decode()


async def _orders(store: DraftStore, feed: Any, *comments: tuple[str, Any]) -> list[Json]:
    return await store.apply_comments(
        S.SHOP, LIVE, [feed(user, "order", *items) for user, items in comments]
    )


async def test_an_outcome_is_kept_under_its_command_id(
    store: DraftStore, client: redis.asyncio.Redis
) -> None:
    feed = S.Feed()
    await _orders(store, feed, ("u1", [S.item("B3", 2, size="28")]))
    first = await store.apply_draft_command(S.SHOP, LIVE, "k1", op("set_quantity", line=1, qty=3))
    assert (first.status, first.reasons, first.others, first.duplicate) == (
        "applied",
        [],
        [],
        False,
    )
    assert first.draft is not None and first.draft["lines"][0]["qty"] == 3
    # the draft changes afterwards; the same id answers the kept outcome and today's draft
    await store.apply_comments(S.SHOP, LIVE, [feed("u1", "none", phone="0912345678")])
    again = await store.apply_draft_command(S.SHOP, LIVE, "k1", op("set_quantity", line=1, qty=1))
    assert (again.status, again.reasons, again.others, again.duplicate) == ("applied", [], [], True)
    assert again.draft == await store.draft(S.SHOP, LIVE, 1)
    assert again.draft is not None and again.draft["lines"][0]["qty"] == 3
    assert again.draft["customer"]["phone"] == "0912345678"
    assert await client.hget(CMDS, "k1") == b"applied\x1f1\x1f[]"


async def test_a_refusal_is_kept_too(store: DraftStore) -> None:
    missing = await store.apply_draft_command(S.SHOP, LIVE, "k1", op("assign", 4, assignee="x"))
    assert (missing.status, missing.reasons, missing.draft) == (
        "refused", [("draft_not_found", "seq", {"seq": 4})], None)  # fmt: skip
    feed = S.Feed()
    await _orders(store, feed, *[(f"u{i}", [S.item("MP10")]) for i in range(1, 5)])
    # draft 4 exists now, but k1 was answered: the same answer again, with no draft
    again = await store.apply_draft_command(S.SHOP, LIVE, "k1", op("assign", 4, assignee="x"))
    assert (again.status, again.reasons, again.draft, again.duplicate) == (
        "refused", [("draft_not_found", "seq", {"seq": 4})], None, True)  # fmt: skip
    bad = op("choose_variant", 2, line=1, attributes={"màu": "đỏ"})
    refused = await store.apply_draft_command(S.SHOP, LIVE, "k2", bad)
    reasons = [("unknown_attribute", "attributes", {"code": "MP10", "attribute": "màu"})]
    assert (refused.status, refused.reasons) == ("refused", reasons)
    assert refused.draft == await store.draft(S.SHOP, LIVE, 2)


async def test_finalise_compares_the_view_byte_for_byte(
    store: DraftStore, client: redis.asyncio.Redis
) -> None:
    feed = S.Feed()
    await _orders(store, feed, ("u1", [S.item("MP10")]))
    note = 'giao sau 5/6, gọi "chị Lan" trước \\ cảm ơn'
    await store.apply_draft_command(
        S.SHOP, LIVE, "k1", op("set_customer", contact={"name": "Lan", "note": note})
    )
    read = await _view(store, 1)
    # the draft changes between the read and the finalise: stale, and nothing is kept
    await store.apply_comments(S.SHOP, LIVE, [feed("u1", "none", phone="0912345678")])
    finalise = op("finalise", n=2, action="create", expect=read, order_id=f"{LIVE}-1")
    stale = await store.apply_draft_command(S.SHOP, LIVE, "k2", finalise)
    assert (stale.status, stale.reasons, stale.others, stale.duplicate) == ("stale", [], [], False)
    assert stale.draft == await store.draft(S.SHOP, LIVE, 1)
    assert not await client.hexists(CMDS, "k2")
    # the same JSON written otherwise is not the view either
    current = await _view(store, 1)
    rewritten = orjson.dumps(orjson.loads(current)).decode()
    assert rewritten != current
    resent = await store.apply_draft_command(S.SHOP, LIVE, "k2", {**finalise, "expect": rewritten})
    assert resent.status == "stale"
    done = await store.apply_draft_command(S.SHOP, LIVE, "k2", {**finalise, "expect": current})
    assert done.status == "applied" and done.draft is not None
    assert (done.draft["status"], done.draft["order_id"], done.draft["contact"]["note"]) == (
        "finalised", f"{LIVE}-1", note)  # fmt: skip
    assert done.draft == orjson.loads(await _view(store, 1))


@pytest.mark.parametrize(
    ("command_id", "raw", "message"),
    [
        ("", orjson.dumps(op("assign", assignee="lan")), "no command id"),
        ("k1", b"{not json", "not JSON"),
        ("k1", b"[1, 2]", "unknown type"),
        ("k1", orjson.dumps(op("sell")), "unknown type"),
        ("k1", orjson.dumps(op("assign", seq=0, assignee="lan")), "seq"),
        ("k1", orjson.dumps({**op("assign", assignee="lan"), "at": ""}), "no at"),
        ("k1", orjson.dumps(op("set_customer", contact={"email": "x"})), "contact"),
        ("k1", orjson.dumps(op("pick_product", line=1, code="A\x1f1", attributes={})), "code"),
        ("k1", orjson.dumps(op("choose_variant", line=1, attributes={"size": ""})), "attributes"),
        ("k1", orjson.dumps(op("set_quantity", line=1, qty=0)), "qty"),
        ("k1", orjson.dumps(op("add_custom_line", name="x", price=-5, qty=1)), "price"),
        ("k1", orjson.dumps(op("finalise", action="ship", expect="")), "action"),
        ("k1", orjson.dumps(op("finalise", action="create", expect="")), "order_id"),
    ],
)
async def test_malformed_ops_are_refused_by_the_function_itself(
    store: DraftStore, client: redis.asyncio.Redis, command_id: str, raw: bytes, message: str
) -> None:
    """The Python check is bypassed: the Lua function validates before reading or writing."""
    await _orders(store, S.Feed(), ("u1", [S.item("MP10")]))
    before = await store.drafts(S.SHOP, LIVE)
    with pytest.raises(redis.exceptions.ResponseError, match=message):
        await client.fcall("chotdon_command", 1, META, command_id, raw)
    assert await store.drafts(S.SHOP, LIVE) == before
    assert not await client.exists(CMDS)


async def test_the_store_checks_ops_before_calling(store: DraftStore) -> None:
    with pytest.raises(InvalidCommand):
        await store.apply_draft_command(S.SHOP, LIVE, "k1", op("set_quantity", line=1, qty=0))
    with pytest.raises(StoreError, match="not registered"):
        await store.apply_draft_command(S.SHOP, "nope", "k1", op("assign", assignee="lan"))


async def test_custom_lines_and_finalised_drafts_keep_to_the_hash_tag(
    store: DraftStore, client: redis.asyncio.Redis
) -> None:
    feed = S.Feed()
    await _orders(store, feed, ("u1", [S.item("B3", 2, size="28")]),
                  ("u2", [S.item("B3", 2, size="29")]))  # fmt: skip
    await store.apply_draft_command(
        S.SHOP, LIVE, "k1", op("add_custom_line", name="Phí ship", price=30_000, qty=1)
    )
    finalise = op("finalise", n=2, action="create", expect=await _view(store, 1), order_id="o1")
    sold = await store.apply_draft_command(S.SHOP, LIVE, "k2", finalise)
    assert sold.draft is not None and sold.draft["total"] == 2 * 350_000 + 30_000
    await _orders(store, feed, ("u1", [S.item("MP10")]))
    assert [(d["seq"], d["status"]) for d in await store.drafts(S.SHOP, LIVE)] == [
        (1, "finalised"), (2, "open"), (3, "open")]  # fmt: skip
    assert await store.stock(S.SHOP, LIVE) == ({"B3": 3, "MP10": 1}, {"B3": [(1, 1, "u2")]})
    keys = sorted(k.decode() if isinstance(k, bytes) else k for k in await all_keys(client))
    outside = ("chotdon:livestream:", shop_livestreams_key(S.SHOP))  # registry and shop index
    tagged = [k for k in keys if not k.startswith(outside)]
    assert f"{livestream_prefix(S.SHOP, LIVE)}:cmds" in tagged
    assert len({key_slot(k.encode()) for k in tagged}) == 1


async def test_registration_keeps_attribute_values(store: DraftStore) -> None:
    """Values are part of what a registration is: the same catalogue again changes nothing,
    another value is a new version, and commands check against it."""
    info = await store.livestream_info(LIVE)
    assert info is not None and info.config_version == 1
    await store.register_livestream(S.SHOP, LIVE, S.CATALOGUE, "ignore", shop_config_json=b"{}")
    assert (await store.livestream_info(LIVE)).config_version == 1  # type: ignore[union-attr]
    await _orders(store, S.Feed(), ("u1", [S.item("B3", size="31")]))
    refused = await store.apply_draft_command(
        S.SHOP, LIVE, "k1", op("choose_variant", line=1, attributes={"size": "31"})
    )
    assert refused.reasons == [("unknown_attribute_value", "attributes",
                                {"code": "B3", "attribute": "size", "value": "31"})]  # fmt: skip
    b3 = Product(code="B3", name="Quần jean", price=350_000, stock=3,
                 attributes={"size": ("28", "29", "30", "31")})  # fmt: skip
    await store.register_livestream(
        S.SHOP, LIVE, (S.A12, b3, S.MP10), "ignore", shop_config_json=b"{}"
    )
    assert (await store.livestream_info(LIVE)).config_version == 2  # type: ignore[union-attr]
    applied = await store.apply_draft_command(
        S.SHOP, LIVE, "k2", op("choose_variant", line=1, attributes={"size": "31"})
    )
    assert applied.status == "applied"
