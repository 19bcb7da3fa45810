"""`chotdon connect` as a shop runs it: a process following a (fake) Facebook live, killed -9
mid-stream and started again; and a whole live of 2,000 comments to drafts, a finalised order
and its confirmation in the (fake) customer's inbox, with no replay step anywhere."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from connect_support import (
    ConnectProcess,
    check_exactly_once,
    expected_comments,
    kafka_comments,
    live_script,
    load,
    shop_toml,
)
from fake_platforms import FakeLive, serve_fakes
from live_support import (
    WorkerFactory,
    chotdon,
    drafts_json,
    first_difference,
    model_drafts,
    unique,
    wait_applied,
    wait_for,
)

from config.settings import Settings
from orders.checks.finalise import finalise_problems

VIDEO = "900000000000001"
Json = dict[str, Any]


async def test_a_connector_killed_mid_stream_resumes_and_every_comment_counts_once(
    live: Settings, tmp_path: Path
) -> None:
    livestream = unique("fb-kill")
    shop_path = shop_toml(tmp_path, [(livestream, "facebook", VIDEO)])
    shop = load(shop_path)
    fake = FakeLive(live_script(1500))
    fake.faults.overlap = 2
    fake.faults.every = 11
    async with serve_fakes(fake) as base:
        first = ConnectProcess(live, tmp_path / "connect1.log", base, "--shop", str(shop_path),
                               "--no-sender")  # fmt: skip
        posting = asyncio.create_task(fake.post_all(rate=120))

        async def some_in_kafka() -> bool:
            assert first.alive, first.log()[-3000:]
            return len(await kafka_comments(live, livestream)) >= 300

        await wait_for(some_in_kafka, "the first comments in Kafka", interval=0.3)
        first.kill()  # kill -9: no goodbye, the cursor is wherever it was
        assert fake.posted < len(fake.script), "the live ended before the crash: too fast"
        await asyncio.sleep(1.0)
        second = ConnectProcess(live, tmp_path / "connect2.log", base, "--shop", str(shop_path),
                                "--no-sender")  # fmt: skip
        await posting
        assert await second.wait(90) == 0, second.log()[-3000:]
    await check_exactly_once(live, fake, livestream, expected_comments(fake, livestream), shop)


CONFIRM = """
[[rules]]
name = "Xác nhận đơn qua inbox"
on   = "order_created"
do   = [{ send_message = "order_confirmation" }]
"""


def _finishable(draft: Json) -> bool:
    missing = {problem.code for problem in finalise_problems(draft)}
    return draft["status"] == "open" and missing <= {
        "missing_address", "missing_province", "missing_name", "missing_phone"}  # fmt: skip


async def test_a_facebook_live_of_2000_comments_to_drafts_an_order_and_its_confirmation(
    live: Settings, workers: WorkerFactory, tmp_path: Path
) -> None:
    shop_id, livestream = unique("shop"), unique("fb-live")
    shop_path = shop_toml(tmp_path, [(livestream, "facebook", VIDEO)], extra=CONFIRM,
                          shop_id=shop_id)  # fmt: skip
    shop = load(shop_path)
    chotdon(live, "live", "start", "--shop", str(shop_path), "--livestream", livestream)
    worker = workers()
    fake = FakeLive(live_script(2000, customers=300, seed=5))
    fake.faults.sse_drop_every = 700
    async with serve_fakes(fake) as base:
        connect = ConnectProcess(live, tmp_path / "connect.log", base, "--shop", str(shop_path))
        try:
            await fake.post_all(rate=400)
            want = expected_comments(fake, livestream, shop_id=shop_id)

            async def all_in_kafka() -> list[Any] | None:
                assert connect.alive, connect.log()[-3000:]
                comments = await kafka_comments(live, livestream)
                return comments if {c.id for c in comments} == {c.id for c in want} else None

            await wait_for(all_in_kafka, "the live's comments in Kafka", interval=0.5)
            from live_support import last_comment_offsets

            last = (await last_comment_offsets(live))[livestream]
            await wait_applied(live, shop_id, livestream, last, watch=[worker])
            _, drafts = drafts_json(live, livestream)
            model = model_drafts(want, shop, livestream)
            assert drafts == model, first_difference(drafts, model)

            draft = next(d for d in drafts if _finishable(d))
            seq = str(draft["seq"])
            where = ["--livestream", livestream, "--seq", seq, "--staff", "lan"]
            chotdon(live, "order", "set-customer", *where, "--name", "Hoa Nguyễn", "--phone",
                    "0912345678", "--address", "12 Lê Lợi", "--province", "Quảng Bình")  # fmt: skip
            done = orjson.loads(chotdon(live, "order", "finalise", *where, "--action", "create",
                                        "--json").stdout)  # fmt: skip
            assert done["status"] == "applied", done
            order_id = f"{livestream}-{seq}"

            async def delivered() -> list[Json] | None:
                assert connect.alive, connect.log()[-3000:]
                return [body for body in fake.sent if order_id in body["message"]["text"]] or None

            (body,) = await wait_for(delivered, "the confirmation in the inbox", watch=[worker])
            comment_ids = [cid for line in draft["lines"] for cid in line["comment_ids"]]
            assert body["recipient"] == {"comment_id": comment_ids[-1]}  # a private reply
            assert "Hoa Nguyễn" in body["message"]["text"]

            async def logged() -> list[Json] | None:
                log = orjson.loads(chotdon(live, "messages", "--shop-id", shop_id,
                                           "--json").stdout)  # fmt: skip
                found = [m for m in log if (m.get("delivery") or {}).get("state") == "delivered"]
                return found or None

            (entry,) = await wait_for(logged, "the delivery in `chotdon messages`")
            assert entry["order_id"] == order_id and entry["channel"] == "private_reply"
            table = chotdon(live, "messages", "--shop-id", shop_id).stdout.decode()
            assert "delivered" in table
            await asyncio.sleep(1.0)
            assert len([b for b in fake.sent if order_id in b["message"]["text"]]) == 1
        finally:
            status = await connect.stop()
            print(connect.log()[-4000:])
        assert status == 0
