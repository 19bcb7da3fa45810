"""The live pipeline as a user runs it: `chotdon live start`, `chotdon worker`, `chotdon replay`,
`chotdon drafts --json`, `chotdon demo`, against the test stack (tests/live_support.py).

Every test has its own topics, consumer group and livestream ids, and waits for effects (the
livestream's offset watermark, committed offsets, drafts) with a deadline, never for time.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
from live_support import (
    DEMO_SHOP,
    WorkerFactory,
    as_livestream,
    check_draft_events,
    chotdon,
    comment,
    comment_events,
    committed_offsets,
    draft_events_of,
    drafts_json,
    end_offsets,
    first_difference,
    group_assignments,
    ids_on_distinct_partitions,
    last_comment_offsets,
    model_book,
    model_drafts,
    no_duplicate_comment_ids,
    partition_for,
    progress,
    read_topic,
    register,
    reset_group_to_earliest,
    shop_file,
    shop_with,
    start_replay,
    store_of,
    times,
    unique,
    wait_all_applied,
    wait_applied,
    wait_for,
    write_jsonl,
)

from cli.samples import generate
from config.settings import Settings

Json = dict[str, Any]
ICT = timezone(timedelta(hours=7))
SHOP = "shop-demo"

# A product group for the hand-written scenario: K2 is short (3 units), MP10 and B3 unlimited.
SCENARIO_PRODUCTS = """
[[products]]
code = "A12"
name = "Áo thun cotton"
price = 159000
stock = 40
[products.attributes]
size = ["S", "M", "L", "XL"]
color = ["đỏ", "đen", "trắng"]

[[products]]
code = "K2"
name = "Kẹp tóc ngọc trai"
price = 45000
stock = 3

[[products]]
code = "MP10"
name = "Son kem lì"
price = 120000

[[products]]
code = "B3"
name = "Quần jean"
price = 350000
[products.attributes]
size = ["28", "29", "30", "31", "32"]
"""

PEOPLE = {
    "lan": ("facebook", "100001", "Lan Nguyễn"),
    "minh": ("tiktok", "6901", "minh.shop ✨"),
    "hoa": ("shopee", "800001", "hoa.tran88"),
    "tuan": ("youtube", "UCtuan", "Tuấn Lê"),
    "mai": ("facebook", "100005", "Mai Phạm"),
}
# c01 … c15, seven seconds apart from 20:00:00 (Vietnam time).
SCRIPT = [
    ("lan", "chốt A12 M đỏ 2"),  # c01 seq 1, 2 of 40 A12
    ("minh", "K2 2"),  # c02 seq 2, 2 of the 3 K2
    ("hoa", "đẹp quá shop ơi 😍"),  # c03 chatter: no draft, no number
    ("hoa", "K2 2"),  # c04 seq 3, the last K2 and a place in the queue
    ("tuan", "lấy A12 M"),  # c05 seq 4, needs a colour: still reserves
    ("mai", "Z99 2"),  # c06 seq 5, unknown code: holds nothing
    ("lan", "0912 345 678"),  # c07 phone alone (and no platform name this time)
    ("lan", "chốt A12 M đỏ 2"),  # c08 repeat of c01: ignored
    ("tuan", "K2 1"),  # c09 queued behind hoa
    ("minh", "hủy K2"),  # c10 minh's only line: draft cancelled, 2 K2 freed -> hoa, tuan
    ("mai", "MP10 x2 sđt 0987.654.321"),  # c11 order with a phone
    ("minh", "B3 30 x2"),  # c12 reopens seq 2; the K2 line goes to history
    ("lan", "chốt A12 M đỏ 1"),  # c13 not a repeat (other qty): merges into the line
    ("hoa", "huỷ đơn giúp em"),  # c14 hoa cancels everything: 2 K2 back
    ("tuan", "K2 x2"),  # c15 tuan takes them: K2 line 3 of 3
]
START = datetime(2026, 3, 1, 20, 0, tzinfo=ICT)


def scenario_comments(livestream_id: str) -> list[Any]:
    out = []
    for number, (who, text) in enumerate(SCRIPT, start=1):
        platform, user_id, name = PEOPLE[who]
        out.append(
            comment(
                f"c{number:02d}",
                user_id,
                text,
                START + timedelta(seconds=7 * (number - 1)),
                livestream_id=livestream_id,
                name="" if number == 7 else name,
                platform=platform,
            )
        )
    return out


# What `chotdon drafts --json` must show, every field (LIVE is the test's livestream id).
EXPECTED_DRAFTS = """[
  {"shop_id": "shop-demo", "livestream_id": "LIVE", "seq": 1, "status": "open",
   "customer": {"platform": "facebook", "user_id": "100001", "name": "Lan Nguyễn",
                "phone": "0912345678"},
   "lines": [
     {"code": "A12", "name": "Áo thun cotton", "attributes": {"size": "M", "color": "đỏ"},
      "qty": 3, "reserved": 3, "waitlist": null, "status": "matched", "unit_price": 159000,
      "comment_ids": ["c01", "c13"]}],
   "history": [],
   "total": 477000, "created_at": "2026-03-01T20:00:00+07:00",
   "updated_at": "2026-03-01T20:01:24+07:00",
   "contact": {"name": null, "phone": null, "address": null, "ward": null,
               "province": null, "note": null},
   "staff": null, "action": null, "order_id": null, "finalised_at": null,
   "finalised_by": null},
  {"shop_id": "shop-demo", "livestream_id": "LIVE", "seq": 2, "status": "open",
   "customer": {"platform": "tiktok", "user_id": "6901", "name": "minh.shop ✨", "phone": null},
   "lines": [
     {"code": "B3", "name": "Quần jean", "attributes": {"size": "30"},
      "qty": 2, "reserved": 2, "waitlist": null, "status": "matched", "unit_price": 350000,
      "comment_ids": ["c12"]}],
   "history": [
     {"code": "K2", "name": "Kẹp tóc ngọc trai", "attributes": {},
      "qty": 2, "reserved": 0, "waitlist": null, "status": "matched", "unit_price": 45000,
      "comment_ids": ["c02"]}],
   "total": 700000, "created_at": "2026-03-01T20:00:07+07:00",
   "updated_at": "2026-03-01T20:01:17+07:00",
   "contact": {"name": null, "phone": null, "address": null, "ward": null,
               "province": null, "note": null},
   "staff": null, "action": null, "order_id": null, "finalised_at": null,
   "finalised_by": null},
  {"shop_id": "shop-demo", "livestream_id": "LIVE", "seq": 3, "status": "cancelled",
   "customer": {"platform": "shopee", "user_id": "800001", "name": "hoa.tran88", "phone": null},
   "lines": [
     {"code": "K2", "name": "Kẹp tóc ngọc trai", "attributes": {},
      "qty": 2, "reserved": 0, "waitlist": null, "status": "matched", "unit_price": 45000,
      "comment_ids": ["c04"]}],
   "history": [],
   "total": 0, "created_at": "2026-03-01T20:00:21+07:00",
   "updated_at": "2026-03-01T20:01:31+07:00",
   "contact": {"name": null, "phone": null, "address": null, "ward": null,
               "province": null, "note": null},
   "staff": null, "action": null, "order_id": null, "finalised_at": null,
   "finalised_by": null},
  {"shop_id": "shop-demo", "livestream_id": "LIVE", "seq": 4, "status": "open",
   "customer": {"platform": "youtube", "user_id": "UCtuan", "name": "Tuấn Lê", "phone": null},
   "lines": [
     {"code": "A12", "name": "Áo thun cotton", "attributes": {"size": "M"},
      "qty": 1, "reserved": 1, "waitlist": null, "status": "needs_variant", "unit_price": 159000,
      "comment_ids": ["c05"]},
     {"code": "K2", "name": "Kẹp tóc ngọc trai", "attributes": {},
      "qty": 3, "reserved": 3, "waitlist": null, "status": "matched", "unit_price": 45000,
      "comment_ids": ["c09", "c15"]}],
   "history": [],
   "total": 294000, "created_at": "2026-03-01T20:00:28+07:00",
   "updated_at": "2026-03-01T20:01:38+07:00",
   "contact": {"name": null, "phone": null, "address": null, "ward": null,
               "province": null, "note": null},
   "staff": null, "action": null, "order_id": null, "finalised_at": null,
   "finalised_by": null},
  {"shop_id": "shop-demo", "livestream_id": "LIVE", "seq": 5, "status": "open",
   "customer": {"platform": "facebook", "user_id": "100005", "name": "Mai Phạm",
                "phone": "0987654321"},
   "lines": [
     {"code": "Z99", "name": null, "attributes": {},
      "qty": 2, "reserved": 0, "waitlist": null, "status": "unknown_code", "unit_price": null,
      "comment_ids": ["c06"]},
     {"code": "MP10", "name": "Son kem lì", "attributes": {},
      "qty": 2, "reserved": 2, "waitlist": null, "status": "matched", "unit_price": 120000,
      "comment_ids": ["c11"]}],
   "history": [],
   "total": 240000, "created_at": "2026-03-01T20:00:35+07:00",
   "updated_at": "2026-03-01T20:01:10+07:00",
   "contact": {"name": null, "phone": null, "address": null, "ward": null,
               "province": null, "note": null},
   "staff": null, "action": null, "order_id": null, "finalised_at": null,
   "finalised_by": null}
]"""


def expected_scenario_drafts(live: str) -> list[Json]:
    drafts: list[Json] = orjson.loads(
        EXPECTED_DRAFTS.replace('"LIVE"', orjson.dumps(live).decode())
    )
    return drafts


async def test_scenario_from_topic_to_drafts(
    live: Settings, workers: WorkerFactory, tmp_path: Path
) -> None:
    """15 hand-written comments of 5 customers, replayed to Kafka, become exactly these drafts;
    every changed draft is published once per batch with its new state."""
    livestream = unique("e2e-scenario")
    products = tmp_path / "products.toml"
    products.write_text(SCENARIO_PRODUCTS, encoding="utf-8")
    started = chotdon(
        live,
        "live",
        "start",
        "--shop",
        str(DEMO_SHOP),
        "--livestream",
        livestream,
        "--products",
        str(products),
    )
    assert f"livestream {livestream} started for shop {SHOP}" in started.stdout.decode()
    worker = workers()
    comments = scenario_comments(livestream)
    replayed = chotdon(live, "replay", str(write_jsonl(tmp_path / "live.jsonl", comments)))
    assert "15 comments acknowledged by Kafka" in replayed.stderr.decode()
    last = (await last_comment_offsets(live))[livestream]
    await wait_applied(live, SHOP, livestream, last, watch=[worker])

    _, drafts = drafts_json(live, livestream)
    expected = expected_scenario_drafts(livestream)
    assert [d["seq"] for d in drafts] == [1, 2, 3, 4, 5]
    for got, want in zip(drafts, expected, strict=True):
        assert got == want, f"draft {want['seq']}"
    assert (await progress(live, SHOP, livestream))[1] == 5  # the last number given

    # The draft-events topic: one event per changed draft per batch, with the new state.
    events = draft_events_of(await read_topic(live, live.topics.draft_events), livestream)
    shop = shop_with(DEMO_SHOP, products)
    batches = check_draft_events(events, comments, shop, livestream)
    assert 1 <= batches <= 15
    final = {event.seq: event.draft for event in events}
    assert [final[seq] for seq in sorted(final)] == expected
    assert await read_topic(live, live.topics.dead_letters) == []

    table = chotdon(live, "drafts", "--livestream", livestream).stdout.decode()
    assert f"Livestream {livestream}: 5 draft orders" in table
    for name in ("Lan Nguyễn", "minh.shop ✨", "hoa.tran88", "Tuấn Lê", "Mai Phạm"):
        assert name in table
    assert "0912345678" in table and "0987654321" in table
    assert "cancelled" in table and "477.000đ" in table
    only = orjson.loads(
        chotdon(live, "drafts", "--livestream", livestream, "--json", "--seq", "4").stdout
    )
    assert only == [expected[3]]


# --------------------------------------------------------------------------- crash safety


async def test_kill_9_mid_replay_loses_nothing_and_applies_nothing_twice(
    live: Settings, workers: WorkerFactory, tmp_path: Path
) -> None:
    """3,000 comments of 300 customers; the worker is killed -9 while it is partway through;
    a new worker finishes. The drafts equal those of an uninterrupted run of the same comments
    into another livestream, and those of the pure model."""
    crashed, reference = unique("e2e-crash"), unique("e2e-reference")
    for livestream in (crashed, reference):
        chotdon(live, "live", "start", "--shop", str(DEMO_SHOP), "--livestream", livestream)
    comments = generate(3000, 300, livestream_id=crashed)
    first = workers(args=["--batch-size", "100"])
    replay = start_replay(live, write_jsonl(tmp_path / "crash.jsonl", comments), "--rate", "1000")
    partition = partition_for(crashed, live.comment_partitions)
    try:

        async def partway() -> bool:
            # Partway; the group committed something (the next worker resumes there) and the
            # worker applied 200 more since (they are delivered again, and must change nothing).
            watermark, _ = await progress(live, SHOP, crashed)
            committed = (await committed_offsets(live)).get(partition, 0)
            return watermark >= 1000 and 0 < committed <= watermark - 200

        await wait_for(partway, "the worker a good part into the replay", watch=[first])
        first.kill()
        _, err = replay.communicate(timeout=120)
    finally:
        if replay.poll() is None:
            replay.kill()
            replay.wait()
    assert replay.returncode == 0, err.decode()
    watermark_after_kill, _ = await progress(live, SHOP, crashed)
    last = (await last_comment_offsets(live))[crashed]
    assert last == len(comments) - 1  # the livestream's partition holds only these
    assert watermark_after_kill < last, "the kill came too late to test anything"
    # Nothing was acknowledged that was not applied: the group resumes at or before the
    # watermark (what lies between is redelivered, and must change nothing).
    committed = (await committed_offsets(live))[partition]
    assert 0 < committed <= watermark_after_kill - 200
    print(f"killed at watermark {watermark_after_kill}; the group resumes at {committed}")

    second = workers()
    uninterrupted_comments = generate(3000, 300, livestream_id=reference)
    chotdon(live, "replay", str(write_jsonl(tmp_path / "reference.jsonl", uninterrupted_comments)))
    offsets = await last_comment_offsets(live)
    await wait_applied(live, SHOP, crashed, offsets[crashed], watch=[second])
    await wait_applied(live, SHOP, reference, offsets[reference], watch=[second])

    _, after_crash = drafts_json(live, crashed)
    _, uninterrupted = drafts_json(live, reference)
    assert len(after_crash) > 100
    no_duplicate_comment_ids(after_crash, comment_events(comments, shop_with(DEMO_SHOP)))
    want = as_livestream(uninterrupted, crashed)
    assert after_crash == want, first_difference(after_crash, want)
    model = model_drafts(comments, shop_with(DEMO_SHOP), crashed)
    assert after_crash == model, first_difference(after_crash, model)
    assert (await progress(live, SHOP, crashed))[1] == len(after_crash)
    async with store_of(live) as store:  # customers and unattributed comments, once each
        for read in (store.customers, store.unattributed):
            assert await read(SHOP, crashed) == await read(SHOP, reference)
        assert len(await store.unattributed(SHOP, crashed)) == sum(
            1 for c in comments if c.user_id is None
        )


# --------------------------------------------------------------------------- duplicates


async def test_duplicates_and_redeliveries_change_nothing(
    live: Settings, workers: WorkerFactory, tmp_path: Path
) -> None:
    """A comment delivered twice, a whole replay produced again, and the consumer group reset
    to the earliest offsets: the drafts stay byte for byte the same. The shop adds repeats
    (`repeat_comment = "add"`), so anything applied twice would show."""
    shop_path = shop_file(tmp_path, repeat="add")
    shop = shop_with(shop_path)
    livestream = unique("e2e-dup")
    chotdon(live, "live", "start", "--shop", str(shop_path), "--livestream", livestream)
    worker = workers()
    comments = generate(200, 25, livestream_id=livestream, seed=11)
    replay_file = write_jsonl(tmp_path / "live.jsonl", comments)
    chotdon(live, "replay", str(replay_file))
    await wait_all_applied(live, SHOP, watch=[worker])

    # The same comment, twice (a producer retry).
    buyer = next(c for c in comments if c.user_id is not None)
    twice = comment(
        "dup-1",
        buyer.user_id,
        "MP10 3",
        START,
        livestream_id=livestream,
        platform=buyer.platform,
        name=buyer.user_name,
    )
    chotdon(live, "replay", str(write_jsonl(tmp_path / "twice.jsonl", [twice, twice])))
    await wait_all_applied(live, SHOP, watch=[worker])
    raw, drafts = drafts_json(live, livestream)
    model = model_drafts([*comments, twice, twice], shop, livestream)
    assert drafts == model, first_difference(drafts, model)
    mine = next(d for d in drafts if d["customer"]["user_id"] == buyer.user_id)
    with_dup = [ln for ln in mine["lines"] if "dup-1" in ln["comment_ids"]]
    assert len(with_dup) == 1 and with_dup[0]["comment_ids"].count("dup-1") == 1
    events_before = len(await read_topic(live, live.topics.draft_events))

    # The whole replay produced again (new offsets, same comment ids).
    chotdon(live, "replay", str(replay_file))
    await wait_all_applied(live, SHOP, watch=[worker])
    assert drafts_json(live, livestream)[0] == raw
    assert len(await read_topic(live, live.topics.draft_events)) == events_before

    # The consumer group reset to the earliest offsets: everything is delivered again.
    assert worker.stop() == 0
    partition = partition_for(livestream, live.comment_partitions)
    end = (await end_offsets(live, live.topics.comments))[partition]
    assert (await committed_offsets(live))[partition] == end
    await reset_group_to_earliest(live)
    assert (await committed_offsets(live))[partition] == 0
    again = workers()

    async def caught_up() -> bool:
        return (await committed_offsets(live)).get(partition) == end

    await wait_for(caught_up, "the group to commit the end of the topic again", watch=[again])
    assert drafts_json(live, livestream)[0] == raw
    current = {d["seq"]: d for d in drafts}
    records = await read_topic(live, live.topics.draft_events)
    for event in draft_events_of(records[events_before:], livestream):
        assert event.draft == current[event.seq], "a redelivery published another state"


# --------------------------------------------------------------------------- scale out


async def test_two_workers_share_the_partitions_and_agree_with_one(
    live: Settings, workers: WorkerFactory, tmp_path: Path
) -> None:
    """Four livestreams on the four partitions, their comments interleaved; two workers of one
    group share the partitions. The drafts are those one worker makes of the same comments."""
    shop = shop_with(DEMO_SHOP)
    ids = ids_on_distinct_partitions("e2e-share", 4, live.comment_partitions)
    references = [f"{livestream}-ref" for livestream in ids]
    await register(live, shop, *ids, *references)
    first, second = workers(), workers()

    async def shared() -> dict[str, list[int]]:
        members = await group_assignments(live)
        return members if len(members) == 2 and all(members.values()) else {}

    members = await wait_for(shared, "two workers sharing the partitions", watch=[first, second])
    assert sorted(p for parts in members.values() for p in parts) == [0, 1, 2, 3]

    per_live = [generate(400, 50, livestream_id=lv, seed=n) for n, lv in enumerate(ids)]
    interleaved = [c for row in zip(*per_live, strict=True) for c in row]
    chotdon(live, "replay", str(write_jsonl(tmp_path / "shared.jsonl", interleaved)))
    await wait_all_applied(live, SHOP, watch=[first, second])
    together = {lv: drafts_json(live, lv)[1] for lv in ids}
    first.stop()
    second.stop()

    alone = workers()
    renamed = [
        c.model_copy(update={"livestream_id": f"{c.livestream_id}-ref"}) for c in interleaved
    ]
    chotdon(live, "replay", str(write_jsonl(tmp_path / "alone.jsonl", renamed)))
    await wait_all_applied(live, SHOP, watch=[alone])
    for livestream, comments in zip(ids, per_live, strict=True):
        one = as_livestream(drafts_json(live, f"{livestream}-ref")[1], livestream)
        assert together[livestream] == one, first_difference(together[livestream], one)
        model = model_drafts(comments, shop, livestream)
        assert together[livestream] == model, first_difference(together[livestream], model)
        assert len(together[livestream]) > 20


# --------------------------------------------------------------------------- live start / stop

PRODUCTS_V1 = """
[[products]]
code = "K2"
name = "Kẹp tóc ngọc trai"
price = 45000
stock = 3

[[products]]
code = "MP10"
name = "Son kem lì"
price = 120000
"""

PRODUCTS_V2 = """
[[products]]
code = "K2"
name = "Kẹp tóc ngọc trai"
price = 50000
stock = 10

[[products]]
code = "MP10"
name = "Son kem lì"
price = 120000

[[products]]
code = "N1"
name = "Nón lá"
price = 99000
stock = 5
"""


def first_line(draft: Json, *fields: str) -> tuple[Any, ...]:
    return tuple(draft["lines"][0][field] for field in fields)


async def test_live_start_again_changes_products_for_what_follows_and_stop_freezes_orders(
    live: Settings, workers: WorkerFactory, tmp_path: Path
) -> None:
    livestream = unique("e2e-live")
    v1, v2 = tmp_path / "v1.toml", tmp_path / "v2.toml"
    v1.write_text(PRODUCTS_V1, encoding="utf-8")
    v2.write_text(PRODUCTS_V2, encoding="utf-8")
    start = ["live", "start", "--shop", str(DEMO_SHOP), "--livestream", livestream]
    out = chotdon(live, *start, "--products", str(v1)).stdout.decode()
    assert "2 products (1 with limited stock)" in out
    chotdon(live, *start, "--products", str(v1))  # again: harmless, nothing changes
    async with store_of(live) as store:
        info = await store.livestream_info(livestream)
        assert info is not None
        assert (info.shop_id, info.open, info.config_version) == (SHOP, True, 1)
    worker = workers()
    clock = times(START, 5)

    def say(cid: str, user: str, text: str) -> Any:
        return comment(cid, user, text, next(clock), livestream_id=livestream, name=user.upper())

    before = [
        say("a1", "u1", "K2 2"),
        say("a2", "u2", "K2 2"),
        say("a3", "u3", "N1 1"),
        say("a4", "u4", "K2 1"),
    ]
    chotdon(live, "replay", str(write_jsonl(tmp_path / "before.jsonl", before)))
    await wait_all_applied(live, SHOP, watch=[worker])
    _, drafts = drafts_json(live, livestream)
    assert [first_line(d, "code", "reserved", "waitlist", "status") for d in drafts] == [
        ("K2", 2, None, "matched"),
        ("K2", 1, 1, "matched"),
        ("N1", 0, None, "unknown_code"),
        ("K2", 0, 2, "matched"),
    ]

    # More K2 and a new code, mid-live: the waiting customers are served at once.
    events_before = len(await read_topic(live, live.topics.draft_events))
    out = chotdon(live, *start, "--products", str(v2)).stdout.decode()
    assert "3 products (2 with limited stock)" in out
    async with store_of(live) as store:
        info = await store.livestream_info(livestream)
        assert info is not None and info.config_version == 2
    _, promoted = drafts_json(live, livestream)
    assert [(d["lines"][0]["reserved"], d["lines"][0]["waitlist"]) for d in promoted] == [
        (2, None),
        (2, None),
        (0, None),
        (1, None),
    ]
    assert promoted[1]["updated_at"] == drafts[1]["updated_at"]  # no comment of theirs did it
    assert promoted[2] == drafts[2]  # the unknown N1 line stays as it was
    published = draft_events_of(
        (await read_topic(live, live.topics.draft_events))[events_before:], livestream
    )
    assert sorted((e.seq, e.comment_ids) for e in published) == [(2, []), (4, [])]
    assert {e.seq: e.draft for e in published} == {2: promoted[1], 4: promoted[3]}

    during = [say("b1", "u3", "N1 2"), say("b2", "u5", "K2 1"), say("b3", "u1", "K2 1")]
    chotdon(live, "replay", str(write_jsonl(tmp_path / "during.jsonl", during)))
    await wait_all_applied(live, SHOP, watch=[worker])
    _, drafts = drafts_json(live, livestream)
    u3 = drafts[2]["lines"]
    assert [(ln["code"], ln["status"], ln["unit_price"], ln["reserved"]) for ln in u3] == [
        ("N1", "unknown_code", None, 0),
        ("N1", "matched", 99000, 2),
    ]
    assert [(ln["qty"], ln["unit_price"]) for ln in drafts[0]["lines"]] == [(3, 45000)]
    assert drafts[4]["customer"]["user_id"] == "u5"
    assert [(ln["unit_price"], ln["reserved"]) for ln in drafts[4]["lines"]] == [(50000, 1)]

    # Stopped: orders and cancels change nothing, phones land on the customer only.
    stopped = chotdon(live, "live", "stop", "--livestream", livestream).stdout.decode()
    assert f"livestream {livestream} stopped" in stopped
    frozen = drafts_json(live, livestream)[0]
    after = [
        say("c1", "u6", "K2 1"),
        say("c2", "u1", "hủy K2"),
        say("c3", "u1", "0987 654 321"),
        say("c4", "u2", "MP10 1"),
    ]
    chotdon(live, "replay", str(write_jsonl(tmp_path / "after.jsonl", after)))
    await wait_all_applied(live, SHOP, watch=[worker])
    assert drafts_json(live, livestream)[0] == frozen
    async with store_of(live) as store:
        customers = await store.customers(SHOP, livestream)
        assert customers["u1"]["phone"] == "0987654321"
        assert "u6" in customers
        assert (await store.progress(SHOP, livestream))[1] == 5

    # The model, given the same product change and stop, agrees.
    shop_v1, shop_v2 = shop_with(DEMO_SHOP, v1), shop_with(DEMO_SHOP, v2)
    everything = [*before, *during, *after]
    offsets = list(range(len(everything)))
    events_v1 = comment_events(everything, shop_v1, offsets)
    events_v2 = comment_events(everything, shop_v2, offsets)
    book = model_book(shop_v1, livestream)
    book.apply(events_v1[: len(before)])
    book.set_products({p.code: p for p in shop_v2.products})
    book.apply(events_v2[len(before) : len(before) + len(during)])
    book.close()
    book.apply(events_v2[len(before) + len(during) :])
    final = drafts_json(live, livestream)[1]
    assert final == book.drafts(), first_difference(final, book.drafts())

    never = chotdon(live, "live", "stop", "--livestream", unique("never"), check=False)
    assert never.returncode == 1 and b"was never started" in never.stderr


# --------------------------------------------------------------------------- the demo


async def test_demo_runs_end_to_end_and_a_second_run_changes_nothing(
    live: Settings, stack: Settings
) -> None:
    """`chotdon demo` on the test stack. Its `stack up` must find the running stack, which it
    recognises by the pid files in its stack dir: a stack dir of its own would make it refuse
    the ports as taken by another process, so it gets the test stack's (its own topics and
    consumer group still, and the demo's files for this livestream are removed afterwards)."""
    import dataclasses

    settings = dataclasses.replace(live, stack_dir=stack.stack_dir)
    livestream = unique("e2e-demo")
    args = [
        "demo",
        "--comments",
        "600",
        "--customers",
        "80",
        "--show",
        "5",
        "--livestream",
        livestream,
        "--no-dashboard",  # the dashboard's end of the demo: tests/e2e/web/test_demo.py
    ]
    try:
        first = chotdon(settings, *args, timeout=240)
        raw, drafts = drafts_json(settings, livestream)
        out = first.stdout.decode()
        assert f"Livestream {livestream}: 5 of {len(drafts)} draft orders" in out
        assert "STT" in out and "customer" in out
        assert drafts[0]["customer"]["name"] in out
        assert f"{len(drafts)} drafts (showing 5)" in first.stderr.decode()
        model = model_drafts(
            generate(600, 80, livestream_id=livestream), shop_with(DEMO_SHOP), livestream
        )
        # Staff finished one complete draft with two commands: finalised, with the address
        # (its old province mapped), as an order; every other draft is the model's.
        (done,) = [d for d in drafts if d["status"] == "finalised"]
        assert f"staff finish draft #{done['seq']}" in first.stderr.decode()
        assert f"order {livestream}-{done['seq']} [new]" in first.stderr.decode()
        assert done["contact"]["province"] == "Tỉnh Quảng Trị"
        assert done["order_id"] == f"{livestream}-{done['seq']}"
        before = model[done["seq"] - 1]
        assert done["lines"] == before["lines"] and done["customer"] == before["customer"]
        others = [d for d in drafts if d is not done]
        rest = [d for d in model if d["seq"] != done["seq"]]
        assert others == rest, first_difference(others, rest)

        chotdon(settings, *args, timeout=240)
        assert drafts_json(settings, livestream)[0] == raw
        async with store_of(settings) as store:
            assert (await store.progress(SHOP, livestream))[0] == 2 * 600 - 1
    finally:
        demo_dir = stack.stack_dir / "demo"
        (demo_dir / f"{livestream}.jsonl").unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # shown by pytest when the test failed
            tail = (demo_dir / "worker.log").read_text().splitlines()[-40:]
            print("--- demo worker log", *tail, sep="\n")
