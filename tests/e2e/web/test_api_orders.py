"""Orders, customers, chat orders, stats and printing through the API, on orders the worker
made from comments and staff commands."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from conftest import Staff, WebStack, comments_for, wait_drafts
from live_support import produce

from orders.connection import redis_client

pytestmark = pytest.mark.timeout(300)
CONTACT = {"name": "Lan Nguyễn", "address": "12 Lê Lợi", "province": "Hà Nội"}


async def finalised_orders(web: WebStack, staff: Staff, rows: list[tuple[str, str, str]]) -> str:
    """A livestream whose drafts, one per row, are all finalised as orders `<live>-<seq>`."""
    live = web.new_livestream()
    await produce(web.settings, comments_for(live, rows))
    drafts = await wait_drafts(staff, live, len(rows))
    for draft in drafts:
        base = f"/api/v1/livestreams/{live}/drafts/{draft['seq']}"
        phone = draft["customer"]["phone"]
        assert (
            await staff.post(base + "/set-customer", json={**CONTACT, "phone": phone})
        ).is_success
        done = await staff.post(base + "/finalise", json={"action": "create"})
        assert done.status_code == 200, done.text
    return live


async def test_status_moves_single_and_bulk_all_or_none(web: WebStack, as_staff: Any) -> None:
    thu = await as_staff("thu")
    live = await finalised_orders(web, thu, [("o1", "An", "chốt MP10 0911111111"),
                                             ("o2", "Bảo", "chốt K2 0922222222")])  # fmt: skip
    one, two = f"{live}-1", f"{live}-2"
    listed = (await thu.get("/api/v1/orders", params={"livestream": live})).json()
    assert {o["order_id"] for o in listed["items"]} == {one, two} and listed["total"] == 2
    moved = await thu.post("/api/v1/orders/status", json={"order_ids": [one], "to": "confirmed"})
    assert (
        moved.status_code == 200 and moved.json()["outcome"]["orders"][0]["status"] == "confirmed"
    )
    bulk = await thu.post("/api/v1/orders/status", json={"order_ids": [one, two], "to": "shipped"})
    assert bulk.status_code == 422  # new -> shipped is not a move of the workflow: none moves
    assert {(r["code"], r["field"]) for r in bulk.json()["reasons"]} == {
        ("illegal_transition", "to")}  # fmt: skip
    statuses = {o["order_id"]: o["status"] for o in (await thu.get(
        "/api/v1/orders", params={"livestream": live})).json()["items"]}  # fmt: skip
    assert statuses == {one: "confirmed", two: "new"}
    both = await thu.post("/api/v1/orders/status", json={"order_ids": [two], "to": "confirmed"})
    assert both.is_success
    shipped = await thu.post(
        "/api/v1/orders/status", json={"order_ids": [one, two], "to": "shipped"}
    )
    assert [o["status"] for o in shipped.json()["outcome"]["orders"]] == ["shipped", "shipped"]
    only_shipped = (
        await thu.get("/api/v1/orders", params={"status": "shipped", "q": "0922222222"})
    ).json()
    assert [o["order_id"] for o in only_shipped["items"]] == [two]


async def test_merge_print_and_customers(web: WebStack, as_staff: Any) -> None:
    thu = await as_staff("thu")
    first = await finalised_orders(web, thu, [("m1", "Mai", "chốt MP10 0933333333")])
    second = await finalised_orders(web, thu, [("m1", "Mai", "chốt K2 0933333333")])
    merged = await thu.post("/api/v1/orders/merge",
                            json={"order_ids": [f"{first}-1", f"{second}-1"]})  # fmt: skip
    assert merged.status_code == 200, merged.text
    (made,) = [o for o in merged.json()["outcome"]["orders"] if o["order_id"].startswith("M-")]
    assert {line["from_order"] for line in made["lines"]} == {f"{first}-1", f"{second}-1"}

    pdf = await thu.get(
        "/api/v1/print/orders.pdf",
        params=[("ids", made["order_id"]), ("ids", f"{first}-1"), ("kind", "label")],
    )
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"  # fmt: skip
    assert pdf.content.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf.content)) == 2  # one order a page
    slip = await thu.get("/print", params=[("ids", made["order_id"]), ("kind", "slip")])
    assert slip.status_code == 200 and made["order_id"] in slip.text and "Lan Nguyễn" in slip.text
    not_ours = await thu.get("/api/v1/print/orders.pdf", params={"ids": "nobody-1"})
    assert not_ours.status_code == 404

    customers = (await thu.get("/api/v1/customers", params={"q": "0933333333"})).json()["items"]
    (mai,) = customers
    history = (await thu.get(f"/api/v1/customers/{mai['customer_id']}")).json()
    assert {o["order_id"] for o in history["order_history"]} >= {f"{first}-1", f"{second}-1"}
    black = await thu.post("/api/v1/customers/blacklist",
                           json={"phone": "0933333333", "reason": "bom hàng"})  # fmt: skip
    assert black.status_code == 200 and black.json()["outcome"]["customer"]["blacklisted"]
    # Her next comment makes a draft flagged on the board (never dropped).
    third = web.new_livestream()
    await produce(web.settings, comments_for(third, [("m1", "Mai", "chốt MP10 0933333333")]))
    (draft,) = await wait_drafts(thu, third, 1)
    assert [w["code"] for w in draft["warnings"]] == ["blacklisted"]
    listed = (await thu.get("/api/v1/customers", params={"blacklisted": "true"})).json()["items"]
    assert mai["customer_id"] in {c["customer_id"] for c in listed}


async def test_a_chat_order_from_start_to_resume_to_order(web: WebStack, as_staff: Any) -> None:
    lan = await as_staff("lan")
    conversation = f"conv-{web.new_livestream()}"
    started = await lan.post("/api/v1/chats", json={
        "conversation_id": conversation, "platform": "facebook", "user_id": "fb-77",
        "customer_name": "Bích", "customer_phone": "0988777666"})  # fmt: skip
    assert started.status_code == 200, started.text
    draft = started.json()["draft"]
    added = await lan.post(f"/api/v1/chats/{conversation}/add-custom",
                           json={"name": "Váy may đo", "price": 450000,
                                 "expect_version": draft["version"]})  # fmt: skip
    assert added.status_code == 200
    resumed = (await lan.get("/api/v1/chats/resume")).json()["items"]
    assert conversation in {d["conversation_id"] for d in resumed}
    await lan.post(f"/api/v1/chats/{conversation}/set-customer",
                   json={"address": "5 Hai Bà Trưng", "province": "Huế"})  # fmt: skip
    done = await lan.post(f"/api/v1/chats/{conversation}/finalise", json={"action": "create"})
    assert done.status_code == 200, done.text
    order_id = done.json()["outcome"]["orders"][0]["order_id"]
    assert order_id == f"{conversation}-1"
    assert conversation not in {
        d["conversation_id"] for d in (await lan.get("/api/v1/chats/resume")).json()["items"]
    }
    again = f"{conversation}-upsell"  # fmt: skip
    upsell = await lan.post("/api/v1/chats", json={
        "conversation_id": again, "platform": "facebook", "customer_phone": "0988777666",
        "mode": "upsell"})  # fmt: skip
    assert order_id in {o["order_id"] for o in upsell.json()["outcome"]["previous_orders"]}
    dropped = await lan.post(f"/api/v1/chats/{again}/discard", json={})
    assert dropped.status_code == 200
    assert (await lan.post(f"/api/v1/chats/{again}/assign", json={"assignee": "lan"})
            ).status_code == 404  # fmt: skip


async def test_stats_messages_and_workflow(web: WebStack, as_staff: Any) -> None:
    thu = await as_staff("thu")
    live = await finalised_orders(web, thu, [("s1", "Sơn", "chốt MP10 3 cái 0944444444")])
    stats = (await thu.get("/api/v1/stats")).json()
    row = next(b for b in stats["by_livestream"] if b["livestream"] == live)
    assert (row["orders"], row["total"], row["revenue"]) == (1, 3 * 120000, 3 * 120000)
    assert (await thu.get("/api/v1/messages")).status_code == 200
    workflow = (await thu.get("/api/v1/workflow")).json()
    assert [s["key"] for s in workflow["statuses"]][:2] == ["new", "confirmed"]
    page = await thu.get("/stats")
    assert page.status_code == 200 and "<svg" in page.text


async def test_messages_show_what_the_platform_sender_made_of_each(
    web: WebStack, as_staff: Any
) -> None:
    """A message the store let go shows "pending" until a connector's sender records it, then
    the sender's state (delivered, or refused by the platform with its reason)."""
    import httpx

    from connectors.outbound import Sender
    from orders.shop.store import ShopStore

    thu = await as_staff("thu")
    client = redis_client(web.settings.redis)
    ids = [f"msg-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    try:
        shops = ShopStore(client)
        for n, message_id in enumerate(ids):
            message = {"v": 1, "message_id": message_id, "shop_id": "shop-demo",
                       "platform": "facebook", "user_id": f"u-{message_id}",
                       "template": "order_confirmation", "text": f"Cảm ơn {n}",
                       "order_id": None, "livestream_id": "l", "seq": n + 1,
                       "at": "2026-12-03T20:00:00+07:00"}  # fmt: skip
            result = await shops.record_message("shop-demo", message_id, message,
                                                lambda _state: {"channel": "message"})  # fmt: skip
            assert result.status == "applied"
        async with httpx.AsyncClient() as http:
            sender = Sender(web.settings, {}, {}, client, http, urls=None)  # type: ignore[arg-type]
            delivered = {"message_id": ids[1], "shop_id": "shop-demo", "platform": "facebook"}
            assert await sender._record(delivered, "", "delivered", platform_message_id="m.1")
            refused = {"message_id": ids[2], "shop_id": "shop-demo", "platform": "facebook"}
            assert await sender._record(refused, "", "refused", reason_code="outside_window",
                                        reason="the 24 h window is closed")  # fmt: skip
    finally:
        await client.aclose()
    listed = (await thu.get("/api/v1/messages", params={"limit": 1000})).json()["items"]
    delivery = {m["message_id"]: m["delivery"] for m in listed if m["message_id"] in ids}
    assert delivery[ids[0]] is None
    assert delivery[ids[1]]["state"] == "delivered"
    assert (delivery[ids[2]]["state"], delivery[ids[2]]["reason_code"]) == (
        "refused", "outside_window")  # fmt: skip
    page = (await thu.get("/messages")).text
    rows = {message_id: _row_of(page, f"u-{message_id}") for message_id in ids}
    assert "Chờ gửi" in rows[ids[0]]
    assert "Khách đã nhận" in rows[ids[1]]
    assert "Không tới được" in rows[ids[2]] and "outside_window" in rows[ids[2]]


def _row_of(page: str, needle: str) -> str:
    """The row of the page's table that holds `needle` (the page's data for its scripts, in
    its head, holds it too)."""
    at = page.index(needle, page.index("<tbody>"))
    return page[page.rindex("<tr", 0, at) : page.index("</tr>", at)]
