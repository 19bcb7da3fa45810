"""Drafts through the API: the numbered list with the seeds' filters and pages, every draft
command as the worker applies it, every refusal with its code and field, and two staff on one
draft (the second gets 409 with the draft as it is now)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from conftest import Staff, WebStack, comments_for, wait_drafts
from live_support import produce

pytestmark = pytest.mark.timeout(300)

ROWS = [
    ("u1", "Lan Nguyễn", "chốt A12 size M đỏ 2 cái 0912345678"),
    ("u2", "Minh Trần", "chốt Z99 2 cái"),  # the code's shape, not sold here: an unknown code
    ("u3", "Hoa Lê", "chốt A12 L"),  # no colour: needs a variant
    ("u4", "Bình", "lấy MP10 0987654321"),
]
COMPLETE = {"name": "Lan Nguyễn", "phone": "0912345678", "address": "12 Lê Lợi",
            "province": "Quảng Bình"}  # fmt: skip


async def a_live_with_drafts(web: WebStack, staff: Staff) -> str:
    live = web.new_livestream()
    await produce(web.settings, comments_for(live, ROWS))
    await wait_drafts(staff, live, len(ROWS))
    return live


def path(live: str, seq: int, action: str = "") -> str:
    return f"/api/v1/livestreams/{live}/drafts/{seq}" + (f"/{action}" if action else "")


def line_of(draft: dict[str, Any], n: int) -> dict[str, Any]:
    line: dict[str, Any] = draft["lines"][n - 1]
    return line


async def test_the_list_has_the_seeds_filters_pages_and_an_event_position(
    web: WebStack, as_staff: Any
) -> None:
    thu = await as_staff("thu")
    live = await a_live_with_drafts(web, thu)

    async def seqs(**query: Any) -> list[int]:
        answer = await thu.get(f"/api/v1/livestreams/{live}/drafts", params=query)
        assert answer.status_code == 200, answer.text
        return [d["seq"] for d in answer.json()["items"]]

    assert await seqs() == [1, 2, 3, 4]
    assert await seqs(attention="true") == [2, 3]
    assert await seqs(q="lan") == [1]  # no diacritics typed: finds Lan
    assert await seqs(q="0987") == [4]
    assert await seqs(seq=3) == [3]
    assert await seqs(status="cancelled") == []
    await thu.post(path(live, 4, "assign"), json={"assignee": "minh"})
    assert await seqs(staff="minh") == [4]
    first = (await thu.get(f"/api/v1/livestreams/{live}/drafts?limit=3")).json()
    assert [d["seq"] for d in first["items"]] == [1, 2, 3] and first["total"] == 4
    rest = (await thu.get(f"/api/v1/livestreams/{live}/drafts?limit=3&cursor=3")).json()
    assert [d["seq"] for d in rest["items"]] == [4] and rest["next_cursor"] is None
    assert first["next_cursor"] == 3 and re.fullmatch(
        r"\d+:\d+\|(\d+:\d+,?)+", first["events_from"]
    )
    assert all(re.fullmatch(r"[0-9a-f]{40}", d["version"]) for d in first["items"])
    one = await thu.get(path(live, 2))
    assert one.headers["etag"] == f'"{one.json()["version"]}"'
    assert line_of(one.json(), 1)["status"] == "unknown_code"


async def test_every_draft_command_and_who_acted(web: WebStack, as_staff: Any) -> None:
    thu = await as_staff("thu")
    live = await a_live_with_drafts(web, thu)

    async def do(seq: int, action: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = await thu.post(path(live, seq, action), json=body)
        assert answer.status_code == 200, (action, answer.text)
        assert answer.headers["etag"] == f'"{answer.json()["draft"]["version"]}"'
        draft: dict[str, Any] = answer.json()["draft"]
        return draft

    picked = await do(2, "pick-product", {"line": 1, "code": "MP10"})
    assert (line_of(picked, 1)["code"], line_of(picked, 1)["status"]) == ("MP10", "matched")
    assert picked["history"][0]["code"] == "Z99"  # what the customer typed is kept
    chosen = await do(3, "choose-variant", {"line": 1, "attributes": {"color": "đen"}})
    assert line_of(chosen, 1)["attributes"] == {"size": "L", "color": "đen"}
    assert line_of(chosen, 1)["status"] == "matched"
    assert line_of(await do(1, "set-quantity", {"line": 1, "qty": 3}), 1)["qty"] == 3
    added = await do(1, "add-line", {"code": "A12", "attributes": {"size": "S", "color": "trắng"}})
    assert line_of(added, 2)["attributes"] == {"size": "S", "color": "trắng"}
    custom = await do(1, "add-custom", {"name": "Quà tặng", "price": 10000})
    assert (line_of(custom, 3)["status"], line_of(custom, 3)["unit_price"]) == ("custom", 10000)
    removed = await do(1, "remove-line", {"line": 3})
    assert len(removed["lines"]) == 2
    assert (await do(1, "assign", {"assignee": "lan"}))["staff"] == "lan"
    contact = (await do(1, "set-customer", COMPLETE))["contact"]
    assert contact["province"] == "Tỉnh Quảng Trị"  # the old name, mapped to today's province
    done = await do(1, "finalise", {"action": "create"})
    assert (done["status"], done["order_id"], done["finalised_by"]) == (
        "finalised", f"{live}-1", "thu")  # fmt: skip
    order = (await thu.get(f"/api/v1/orders/{live}-1")).json()
    assert order["status"] == "new" and order["staff"]["finalised_by"] == "thu"
    assert order["total"] == 3 * 159000 + 159000


async def test_every_refusal_has_its_code_field_and_status(web: WebStack, as_staff: Any) -> None:
    thu = await as_staff("thu")
    live = await a_live_with_drafts(web, thu)
    incomplete = await thu.post(path(live, 3, "finalise"), json={"action": "create"})
    assert incomplete.status_code == 422
    fields = {(r["code"], r["field"]) for r in incomplete.json()["reasons"]}
    assert {("missing_address", "address"), ("missing_province", "province"),
            ("unresolved_variant", "lines.1")} <= fields  # fmt: skip
    assert all(r["vi"] and r["en"] for r in incomplete.json()["reasons"])
    assert incomplete.json()["draft"]["seq"] == 3
    not_unknown = await thu.post(path(live, 1, "pick-product"), json={"line": 1, "code": "MP10"})
    assert not_unknown.status_code == 422
    assert [(r["code"], r["field"]) for r in not_unknown.json()["reasons"]] == [
        ("not_unknown_code_line", "line")]  # fmt: skip
    missing = await thu.post(path(live, 999, "assign"), json={"assignee": "lan"})
    assert missing.status_code == 404 and missing.json()["error"] == "draft_not_found"
    zero = await thu.post(path(live, 1, "set-quantity"), json={"line": 1, "qty": 0})
    assert zero.status_code == 422 and zero.json()["reasons"][0]["field"] == "qty"
    impostor = await thu.post(path(live, 1, "assign"), json={"assignee": "lan", "staff_id": "x"})
    assert impostor.status_code == 422 and impostor.json()["reasons"][0]["field"] == "staff_id"
    bad_phone = await thu.post(path(live, 1, "set-customer"), json={"phone": "12345"})
    assert [(r["code"], r["field"]) for r in bad_phone.json()["reasons"]] == [
        ("invalid_phone", "phone")]  # fmt: skip
    unknown_product = await thu.post(path(live, 1, "add-line"), json={"code": "NOPE1"})
    assert [(r["code"], r["field"]) for r in unknown_product.json()["reasons"]] == [
        ("unknown_product", "code")]  # fmt: skip


async def test_two_staff_on_one_draft_the_second_gets_409_with_the_draft_now(
    web: WebStack, as_staff: Any
) -> None:
    lan, minh = await as_staff("lan"), await as_staff("minh")
    live = await a_live_with_drafts(web, lan)
    etag = (await lan.get(path(live, 1))).headers["etag"]
    answers = await asyncio.gather(
        lan.post(path(live, 1, "set-customer"), json={"address": "1 Lê Lợi"},
                 headers={"If-Match": etag}),
        minh.post(path(live, 1, "set-customer"), json={"address": "99 Trần Phú"},
                  headers={"If-Match": etag}),
    )  # fmt: skip
    assert sorted(a.status_code for a in answers) == [200, 409]
    won = next(a for a in answers if a.status_code == 200).json()["draft"]
    lost = next(a for a in answers if a.status_code == 409).json()
    assert lost["error"] == "draft_changed" and lost["draft"] == won
    assert (await lan.get(path(live, 1))).json()["contact"]["address"] == won["contact"]["address"]
    clash = await lan.post(path(live, 1, "assign"), json={"assignee": "lan",
                                                          "expect_version": "0" * 40},
                           headers={"If-Match": etag})  # fmt: skip
    assert clash.status_code == 400 and clash.json()["error"] == "version_mismatch"


async def test_the_same_command_id_acts_once(web: WebStack, as_staff: Any) -> None:
    thu = await as_staff("thu")
    live = await a_live_with_drafts(web, thu)
    await thu.post(path(live, 4, "set-customer"), json={**COMPLETE, "phone": "0987654321"})
    body = {"action": "create", "command_id": f"fin-{live}"}
    first = await thu.post(path(live, 4, "finalise"), json=body)
    again = await thu.post(path(live, 4, "finalise"), json=body)
    assert first.status_code == again.status_code == 200
    assert first.json()["outcome"]["orders"] == again.json()["outcome"]["orders"]
    orders = (await thu.get("/api/v1/orders", params={"livestream": live})).json()["items"]
    assert [o["order_id"] for o in orders] == [f"{live}-4"]


async def test_a_livestream_starts_with_its_own_products_and_stops(
    web: WebStack, as_staff: Any
) -> None:
    thu = await as_staff("thu")
    live = f"api-{web.livestreams[-1] if web.livestreams else 'x'}-own"
    products = [{"code": "N1", "name": "Nón lá", "price": 90000, "stock": 3}]
    started = await thu.post("/api/v1/livestreams", json={"livestream_id": live,
                                                          "products": products})  # fmt: skip
    assert started.status_code == 201, started.text
    shown = (await thu.get(f"/api/v1/livestreams/{live}")).json()
    assert [(p["code"], p["stock"], p["held"]) for p in shown["products"]] == [("N1", 3, 0)]
    bad = await thu.post("/api/v1/livestreams", json={
        "livestream_id": live, "products": [{"code": "N 1", "name": "x", "price": 1}]})  # fmt: skip
    assert bad.status_code == 422 and bad.json()["reasons"][0]["field"].startswith("products")
    assert live in {
        i["livestream_id"] for i in (await thu.get("/api/v1/livestreams")).json()["items"]
    }
    assert (await thu.post(f"/api/v1/livestreams/{live}/stop")).json()["open"] is False
