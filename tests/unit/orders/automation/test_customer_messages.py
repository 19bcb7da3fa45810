"""Messages to the customer's inbox (orders/automation/messages.py): templates with Vietnamese
money, and the platforms' messaging windows at their boundaries (../shared/NOTES.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from config.loader import load_shop
from orders.automation.messages import (
    Channel,
    message_channel,
    message_values,
    render,
    template_fields,
    vnd,
    window_problem,
)
from orders.model import Json
from orders.shop.order import order_from_draft

DEMO = Path(__file__).resolve().parents[4] / "config" / "shops" / "demo.toml"
CONTACT = {"name": "Chị Hoa", "phone": "0912345678", "address": "12 Lê Lợi", "ward": None,
           "province": "Hà Nội", "note": None}  # fmt: skip


def draft(**changes: Any) -> Json:
    base: Json = {
        "shop_id": "shop-demo", "livestream_id": "live-1", "seq": 7, "status": "open",
        "customer": {"platform": "facebook", "user_id": "u1", "name": "hoa.nguyen",
                     "phone": None},
        "lines": [
            {"code": "A12", "name": "Áo thun cotton", "attributes": {"size": "M", "color": "đỏ"},
             "qty": 2, "reserved": 2, "waitlist": None, "status": "matched",
             "unit_price": 159000, "comment_ids": ["c1"]},
            {"code": "MP10", "name": "Son kem lì", "attributes": {}, "qty": 1, "reserved": 1,
             "waitlist": None, "status": "matched", "unit_price": 120000, "comment_ids": ["c2"]},
        ],
        "history": [], "total": 438000, "created_at": "2026-05-01T10:00:00+07:00",
        "updated_at": "2026-05-01T10:01:00+07:00", "contact": dict.fromkeys(CONTACT),
        "staff": None, "action": None, "order_id": None, "finalised_at": None,
        "finalised_by": None,
    }  # fmt: skip
    return base | changes


def order() -> Json:
    return order_from_draft(
        draft(), contact=CONTACT, order_id="live-1-7",
        source={"platform": "facebook", "page_id": "p1", "livestream_id": "live-1"},
        action="create", status="new", staff="lan", at="2026-05-01T11:00:00+07:00",
        command_id="cmd-1",
    )  # fmt: skip


# -- money and templates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "text"),
    [(159000, "159.000đ"), (0, "0đ"), (999, "999đ"), (1000, "1.000đ"),
     (1250000, "1.250.000đ"), (-45000, "-45.000đ")],
)  # fmt: skip
def test_vnd(amount: int, text: str) -> None:
    assert vnd(amount) == text


def test_template_fields() -> None:
    assert template_fields("Chào {customer_name}, đơn {order_id}: {total} {{x}}") == {
        "customer_name", "order_id", "total"
    }  # fmt: skip
    assert template_fields("không có trường nào") == set()
    with pytest.raises(ValueError):
        template_fields("{order_id")


def test_an_order_confirmation() -> None:
    values = message_values(order(), "Thời trang Demo", status_name="Vừa tạo")
    template = ("Chào {customer_name}! {shop_name} đã lên đơn {order_id} (STT {seq}) cho bạn:\n"
                "{lines}\nTổng cộng: {total} – {status_name}")  # fmt: skip
    assert render(template, values) == (
        "Chào Chị Hoa! Thời trang Demo đã lên đơn live-1-7 (STT 7) cho bạn:\n"
        "- Áo thun cotton M, đỏ x2: 318.000đ\n"
        "- Son kem lì x1: 120.000đ\n"
        "Tổng cộng: 438.000đ – Vừa tạo"
    )


def test_order_values() -> None:
    values = message_values(order(), "Shop")
    assert values == {
        "customer_name": "Chị Hoa",  # the contact's name
        "order_id": "live-1-7",
        "seq": "7",
        "lines": "- Áo thun cotton M, đỏ x2: 318.000đ\n- Son kem lì x1: 120.000đ",
        "total": "438.000đ",
        "status_name": "new",  # without a name, the key stands in
        "shop_name": "Shop",
        "livestream_id": "live-1",
    }


def test_draft_values_show_reserved_units_only() -> None:
    waiting = draft(lines=[
        {**draft()["lines"][0], "qty": 3, "reserved": 1, "waitlist": 2},
        {**draft()["lines"][1], "reserved": 0, "waitlist": 1},
        {"code": "ZZ9", "name": None, "attributes": {}, "qty": 1, "reserved": 0, "waitlist": None,
         "status": "unknown_code", "unit_price": None, "comment_ids": ["c3"]},
    ], total=159000)  # fmt: skip
    values = message_values(waiting, "Shop")
    assert values["lines"] == "- Áo thun cotton M, đỏ x1: 159.000đ"
    assert values["total"] == "159.000đ"
    assert values["customer_name"] == "hoa.nguyen"  # no contact yet: the platform's name
    assert (values["order_id"], values["status_name"]) == ("", "")
    assert "product_name" not in values


def test_a_promoted_line() -> None:
    line = {**draft()["lines"][0], "qty": 3, "reserved": 2, "waitlist": 1}
    values = message_values(draft(), "Shop", line=line)
    assert (values["code"], values["product_name"], values["qty"]) == ("A12", "Áo thun cotton", "2")
    text = render("Đã có {product_name} x{qty} cho đơn số {seq} của {customer_name}", values)
    assert text == "Đã có Áo thun cotton x2 cho đơn số 7 của hoa.nguyen"


def test_a_chat_draft_and_a_nameless_customer() -> None:
    chat = {"shop_id": "s", "conversation_id": "conv-1", "n": 3, "status": "open",
            "customer": {"platform": "facebook", "user_id": "u", "name": None, "phone": None},
            "contact": dict.fromkeys(CONTACT),
            "lines": [{"code": None, "name": "Túi quà", "attributes": {}, "qty": 2, "reserved": 2,
                       "waitlist": None, "status": "custom", "unit_price": 15000,
                       "comment_ids": []}],
            "total": 30000}  # fmt: skip
    values = message_values(chat, "Shop")
    assert (values["customer_name"], values["seq"], values["livestream_id"]) == ("bạn", "3", "")
    assert values["lines"] == "- Túi quà x2: 30.000đ"


def test_render_refuses_a_missing_value() -> None:
    with pytest.raises(ValueError, match=r"no value for \{product_name\}"):
        render("{product_name} {order_id}", {"order_id": "x"})


def test_render_keeps_literal_braces_and_does_not_format_values() -> None:
    assert render("{{mã}} {customer_name}", {"customer_name": "{order_id}"}) == "{mã} {order_id}"


def test_the_demo_templates_render() -> None:
    shop = load_shop(DEMO)
    values = message_values(order(), shop.shop.name, status_name="Đã giao",
                            line=draft()["lines"][0])  # fmt: skip
    for name in ("order_confirmation", "waitlist_promotion", "shipping_notice"):
        template = shop.messages.template(name)
        assert template is not None
        text = render(template, values)
        assert "{" not in text and "Chị Hoa" in text, name
    confirmation = render(shop.messages.order_confirmation or "", values)
    assert "- Áo thun cotton M, đỏ x2: 318.000đ" in confirmation
    assert "438.000đ" in confirmation


# -- messaging windows ---------------------------------------------------------------------------

NOW = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def fb(**kw: Any) -> Channel | tuple[str, str]:
    return message_channel("facebook", NOW, **kw)


def test_facebook_message_within_24_hours_of_the_customers_last_message() -> None:
    assert fb(last_inbound_at=NOW - DAY + SECOND) == Channel("message")
    assert fb(last_inbound_at=NOW) == Channel("message")
    assert window_problem("facebook", NOW, last_inbound_at=NOW - DAY + SECOND) is None


def test_facebook_24_hours_exactly_is_closed() -> None:
    problem = window_problem("facebook", NOW, last_inbound_at=NOW - DAY)
    assert problem is not None and problem[0] == "window_closed"
    assert "24 hours" in problem[1]
    assert window_problem("facebook", NOW)[0] == "window_closed"  # type: ignore[index]


def test_facebook_private_reply_within_7_days_of_the_comment() -> None:
    assert fb(comment_id="c1", comment_at=NOW - 7 * DAY + SECOND) == Channel("private_reply", "c1")
    assert window_problem("facebook", NOW, comment_id="c1", comment_at=NOW - 7 * DAY + SECOND,
                          last_inbound_at=NOW - 3 * DAY) is None  # fmt: skip


def test_facebook_7_days_exactly_is_too_old() -> None:
    problem = window_problem("facebook", NOW, comment_id="c1", comment_at=NOW - 7 * DAY)
    assert problem is not None and problem[0] == "comment_too_old"
    assert "c1" in problem[1]


def test_facebook_one_private_reply_per_comment() -> None:
    problem = window_problem("facebook", NOW, comment_id="c1", comment_at=NOW - DAY,
                             replied_comment_ids={"c0", "c1"})  # fmt: skip
    assert problem is not None and problem[0] == "already_replied"
    assert fb(comment_id="c2", comment_at=NOW - DAY, replied_comment_ids={"c1"}) == Channel(
        "private_reply", "c2"
    )


def test_facebook_prefers_a_message_while_the_24_hours_are_open() -> None:
    both = fb(comment_id="c1", comment_at=NOW - DAY, replied_comment_ids=["c1"],
              last_inbound_at=NOW - timedelta(hours=2))  # fmt: skip
    assert both == Channel("message")


@pytest.mark.parametrize("platform", ["tiktok", "shopee", "TikTok"])
def test_tiktok_and_shopee_message_within_24_hours_and_never_reply_privately(
    platform: str,
) -> None:
    assert message_channel(platform, NOW, last_inbound_at=NOW - DAY + SECOND) == Channel("message")
    closed = window_problem(platform, NOW, last_inbound_at=NOW - DAY)
    assert closed is not None and closed[0] == "window_closed"
    fresh_comment = window_problem(platform, NOW, comment_id="c1", comment_at=NOW - SECOND)
    assert fresh_comment is not None and fresh_comment[0] == "window_closed"


def test_youtube_has_no_inbox() -> None:
    problem = window_problem("youtube", NOW, comment_id="c1", comment_at=NOW,
                             last_inbound_at=NOW)  # fmt: skip
    assert problem is not None and problem[0] == "no_inbox"


def test_an_unknown_platform_is_not_guessed() -> None:
    problem = window_problem("zalo", NOW, last_inbound_at=NOW)
    assert problem is not None and problem[0] == "unknown_platform"


def test_times_in_other_zones_and_in_the_future() -> None:
    hanoi = timezone(timedelta(hours=7))
    # 23:59:59 earlier, written in Hanoi time
    inbound = (NOW - DAY + SECOND).astimezone(hanoi)
    assert fb(last_inbound_at=inbound) == Channel("message")
    assert fb(last_inbound_at=NOW + timedelta(minutes=5)) == Channel("message")  # clock skew


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="aware"):
        window_problem("facebook", datetime(2026, 5, 10, 12, 0), last_inbound_at=NOW)
    with pytest.raises(ValueError, match="together"):
        window_problem("facebook", NOW, comment_id="c1")
