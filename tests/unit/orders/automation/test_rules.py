"""Automation rules at work (orders/automation/rules.py): conditions, matching, planned actions
and their deterministic command ids; rules never set each other off."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from config.automation import Action, Condition, Group, Rule
from config.shop import ShopConfig
from orders.automation.rules import (
    AUTOMATION_STAFF,
    Facts,
    command_id,
    customer_history,
    draft_facts,
    holds,
    is_automation,
    matching,
    order_facts,
    planned_actions,
    round_robin,
)
from orders.model import Json
from orders.shop.order import order_from_draft
from orders.shop.workflow import move

GETFLY_WEBSITE = "https://www.getfly.vn/dang-ky-dung-thu-phan-mem.html"
GETFLY_PAGE = "https://www.facebook.com/getfly"
CONTACT = {"name": "Chị Hoa", "phone": "0912345678", "address": "12 Lê Lợi", "ward": None,
           "province": "Hà Nội", "note": None}  # fmt: skip


def draft(**changes: Any) -> Json:
    base: Json = {
        "shop_id": "shop-test", "livestream_id": "live-1", "seq": 7, "status": "open",
        "customer": {"platform": "facebook", "user_id": "u1", "name": "Hoa", "phone": None},
        "lines": [
            {"code": "A12", "name": "Áo thun", "attributes": {"size": "M"}, "qty": 2,
             "reserved": 2, "waitlist": None, "status": "matched", "unit_price": 159000,
             "comment_ids": ["c1"]},
            {"code": "K2", "name": "Kẹp tóc", "attributes": {}, "qty": 1, "reserved": 1,
             "waitlist": None, "status": "matched", "unit_price": 45000, "comment_ids": ["c2"]},
        ],
        "history": [], "total": 363000, "created_at": "2026-05-01T10:00:00+07:00",
        "updated_at": "2026-05-01T10:01:00+07:00", "contact": dict.fromkeys(CONTACT),
        "staff": None, "action": None, "order_id": None, "finalised_at": None,
        "finalised_by": None,
    }  # fmt: skip
    return base | changes


def order(source: Json | None = None, **changes: Any) -> Json:
    made = order_from_draft(
        draft(), contact=CONTACT, order_id="live-1-7",
        source=source or {"platform": "facebook", "page_id": "p1", "livestream_id": "live-1"},
        action="create", status="new", staff="lan", at="2026-05-01T11:00:00+07:00",
        command_id="cmd-1",
    )  # fmt: skip
    return made | changes


def facts(**changes: Any) -> Facts:
    base = order_facts("order_created", order(), new_customer=True, returned=0)
    return replace(base, **changes)


def cond(**keys: Any) -> Condition:
    return Condition.model_validate(keys)


def a_rule(on: str = "order_created", when: Any = None, do: Any = None, name: str = "r",
           **extra: Any) -> Rule:  # fmt: skip
    return Rule.model_validate({"name": name, "on": on, "when": when or {},
                                "do": do or [{"add_tag": "x"}], **extra})  # fmt: skip


# -- conditions ----------------------------------------------------------------------------------

# (condition, holds for the order of `facts()`: facebook, page p1, live-1, 363.000đ, A12 + K2,
# status new, no tags, new customer, nothing returned)
CONDITIONS: list[tuple[Json, bool]] = [
    ({}, True),
    ({"platform": "facebook"}, True),
    ({"platform": "Facebook"}, True),
    ({"platform": ["tiktok", "facebook"]}, True),
    ({"platform": "tiktok"}, False),
    ({"page": "p1"}, True),
    ({"page": ["p2", "p3"]}, False),
    ({"livestream": "live-1"}, True),
    ({"livestream": "live-2"}, False),
    ({"conversation": "c1"}, False),  # a livestream order has no conversation
    ({"website": GETFLY_WEBSITE}, False),  # nor a website
    ({"total_min": 363000}, True),  # inclusive
    ({"total_min": 363001}, False),
    ({"total_max": 363000}, True),
    ({"total_max": 362999}, False),
    ({"total_min": 100000, "total_max": 500000}, True),
    ({"codes": ["B3", "a12"]}, True),  # any line, codes as the catalogue spells them
    ({"codes": "K2"}, True),
    ({"codes": ["B3", "MP10"]}, False),
    ({"status": "new"}, True),
    ({"status": ["confirmed", "shipped"]}, False),
    ({"tags": "vip"}, False),
    ({"new_customer": True}, True),
    ({"new_customer": False}, False),
    ({"returned_min": 0}, True),
    ({"returned_min": 1}, False),
    ({"platform": "facebook", "total_min": 999999}, False),  # every key must hold
]


@pytest.mark.parametrize(("keys", "expected"), CONDITIONS, ids=[str(c[0]) for c in CONDITIONS])
def test_each_condition(keys: Json, expected: bool) -> None:
    assert holds(cond(**keys), facts()) is expected


def test_tags_must_all_be_there() -> None:
    tagged = facts(tags=frozenset({"vip", "don-lon"}))
    assert holds(cond(tags=["vip"]), tagged)
    assert holds(cond(tags=["vip", "don-lon"]), tagged)
    assert not holds(cond(tags=["vip", "bom"]), tagged)


def test_returned_counts_from_the_customer() -> None:
    assert holds(cond(returned_min=2), facts(returned=2))
    assert not holds(cond(returned_min=3), facts(returned=2))
    assert holds(cond(new_customer=False), facts(new_customer=False))


def test_any_needs_one_all_needs_every() -> None:
    f = facts()
    assert holds(cond(any=[{"platform": "tiktok"}, {"codes": "A12"}]), f)
    assert not holds(cond(any=[{"platform": "tiktok"}, {"codes": "B3"}]), f)
    assert holds(cond(all=[{"platform": "facebook"}, {"codes": "A12"}]), f)
    assert not holds(cond(all=[{"platform": "facebook"}, {"codes": "B3"}]), f)
    # the keys beside any / all must hold too
    assert not holds(cond(platform="tiktok", any=[{"codes": "A12"}]), f)


def test_nesting() -> None:
    f = facts()
    # (tiktok or (facebook and big)) and (A12 or B3)
    tree = cond(
        all=[
            {"any": [{"platform": "tiktok"},
                     {"all": [{"platform": "facebook"}, {"total_min": 300000}]}]},
            {"any": [{"codes": "A12"}, {"codes": "B3"}]},
        ]
    )  # fmt: skip
    assert holds(tree, f)
    assert not holds(tree, replace(f, total=299000))
    assert holds(tree, replace(f, total=1, source={**f.source, "platform": "tiktok"}))


def test_a_condition_on_an_unknown_source_value_does_not_hold() -> None:
    f = facts(source={"platform": None, "page_id": None, "livestream_id": None,
                      "conversation_id": None, "website": None})  # fmt: skip
    assert not holds(cond(platform="facebook"), f)
    assert holds(cond(), f)


# -- facts of events -----------------------------------------------------------------------------


def test_order_facts() -> None:
    made = order({"platform": "facebook", "page_id": "p1", "website": GETFLY_WEBSITE},
                 tags=["vip"])  # fmt: skip
    f = order_facts("order_created", made, new_customer=False, returned=1)
    assert f.kind == "order" and f.shop_id == "shop-test"
    assert f.source == {"platform": "facebook", "page_id": "p1", "livestream_id": None,
                        "conversation_id": None, "website": GETFLY_WEBSITE}  # fmt: skip
    assert (f.total, f.status) == (363000, "new")
    assert f.codes == frozenset({"A12", "K2"}) and f.tags == frozenset({"vip"})
    assert (f.new_customer, f.returned) == (False, 1)
    assert f.event_key == "order_created:live-1-7"


def test_status_change_facts_come_from_the_last_history_entry() -> None:
    moved = move(order(), "confirmed", "minh", "2026-05-02T09:00:00+07:00", "cmd-9")
    f = order_facts("status_changed", moved, new_customer=False, returned=0)
    assert (f.from_status, f.to_status, f.status) == ("new", "confirmed", "confirmed")
    assert f.event_key == "status_changed:live-1-7:cmd-9"
    given = order_facts("status_changed", moved, new_customer=False, returned=0,
                        from_status="x", to_status="y", change_id="cmd-10")  # fmt: skip
    assert (given.from_status, given.to_status) == ("x", "y")
    assert given.event_key == "status_changed:live-1-7:cmd-10"


def test_draft_facts() -> None:
    f = draft_facts("draft_created", draft(), new_customer=True, returned=0)
    assert f.kind == "draft" and f.status is None and f.tags == frozenset()
    assert f.source["platform"] == "facebook" and f.source["livestream_id"] == "live-1"
    assert f.codes == {"A12", "K2"} and f.total == 363000
    assert f.event_key == "draft_created:live-1:7"
    flagged = draft_facts("customer_flagged", draft(), new_customer=False, returned=3)
    assert flagged.event_key == "customer_flagged:live-1:7"


def test_chat_draft_facts() -> None:
    chat = {
        "shop_id": "shop-test",
        "conversation_id": "conv-9",
        "page_id": "p1",
        "n": 2,
        "customer": {"platform": "facebook", "user_id": "u1"},
        "lines": [],
        "total": 0,
    }
    f = draft_facts("draft_created", chat, new_customer=True, returned=0)
    assert f.event_key == "draft_created:chat:conv-9:2"
    assert f.source["conversation_id"] == "conv-9" and f.source["page_id"] == "p1"
    assert holds(cond(conversation="conv-9", page="p1"), f)
    assert f.source["website"] is None
    widget = draft_facts("draft_created", chat | {"website": GETFLY_WEBSITE}, new_customer=True,
                         returned=0)  # fmt: skip
    assert holds(cond(website=GETFLY_WEBSITE), widget)


def test_a_promotion_is_keyed_by_line_and_cause() -> None:
    line = draft()["lines"][1]
    f = draft_facts("waitlist_promoted", draft(), new_customer=True, returned=0, line=line,
                    cause="c-55")  # fmt: skip
    assert f.event_key == "waitlist_promoted:live-1:7:K2[]:c-55"
    assert f.line == line
    with pytest.raises(ValueError, match="names its line and its cause"):
        draft_facts("waitlist_promoted", draft(), new_customer=True, returned=0, line=line)


def test_facts_know_what_each_trigger_is_about() -> None:
    with pytest.raises(ValueError, match="not an order event"):
        order_facts("draft_created", order(), new_customer=True, returned=0)
    with pytest.raises(ValueError, match="not a draft event"):
        draft_facts("order_created", draft(), new_customer=True, returned=0)
    with pytest.raises(ValueError, match="a draft_created event is about a draft, not a order"):
        replace(facts(), trigger="draft_created")


def test_customer_history() -> None:
    assert customer_history(None) == (True, 0)
    first = {"orders": ["live-1-7"], "returned": 0}
    assert customer_history(first, "live-1-7") == (True, 0)
    again = {"orders": ["live-0-3", "live-1-7"], "returned": 2}
    assert customer_history(again, "live-1-7") == (False, 2)
    assert customer_history(again) == (False, 2)


# -- matching and planning -----------------------------------------------------------------------


def test_a_rule_matches_its_trigger_only() -> None:
    rules = [a_rule("order_created", name="a"), a_rule("status_changed", name="b")]
    assert [r.name for r in matching(rules, facts())] == ["a"]


def test_from_and_to_narrow_a_status_change() -> None:
    moved = move(order(), "confirmed", "minh", "2026-05-02T09:00:00+07:00", "cmd-9")
    f = order_facts("status_changed", moved, new_customer=False, returned=0)
    rules = [
        a_rule("status_changed", name="any move"),
        a_rule("status_changed", name="to confirmed", to="confirmed"),
        a_rule("status_changed", name="new to confirmed", **{"from": "new", "to": "confirmed"}),
        a_rule("status_changed", name="to shipped", to="shipped"),
        a_rule("status_changed", name="from confirmed", **{"from": "confirmed"}),
    ]
    assert [r.name for r in matching(rules, f)] == ["any move", "to confirmed", "new to confirmed"]


def test_getflys_example_two_sources_two_owners() -> None:
    """Seed 004: on a new order, each source's customers go to one owner."""
    shop = ShopConfig.model_validate({
        "shop": {"id": "shop-test", "name": "Getfly"},
        "staff": [{"id": "lan", "name": "Lan"}, {"id": "minh", "name": "Minh"}],
        "rules": [
            {"name": "Website → Lan", "on": "order_created",
             "when": {"website": GETFLY_WEBSITE}, "do": [{"assign_owner": "lan"}]},
            {"name": "Fanpage → Minh", "on": "order_created",
             "when": {"website": GETFLY_PAGE}, "do": [{"assign_owner": "minh"}]},
        ],
    })  # fmt: skip

    def owners(website: str | None) -> list[tuple[str, Any]]:
        made = order({"platform": "website", "website": website}, order_id=f"o-{website}")
        f = order_facts("order_created", made, new_customer=True, returned=0)
        return [(p.rule, p.action.value) for p in planned_actions(shop.rules, f)]

    assert owners(GETFLY_WEBSITE) == [("Website → Lan", "lan")]
    assert owners(GETFLY_PAGE) == [("Fanpage → Minh", "minh")]
    assert owners("https://other.vn") == []
    assert owners(None) == []


def test_planned_actions_keep_rule_and_action_order() -> None:
    rules = [
        a_rule(name="first", do=[{"add_tag": "a"}, {"assign_staff": {"group": "sales"}}]),
        a_rule(name="skipped", when={"platform": "tiktok"}),
        a_rule(name="second", do=[{"send_message": "order_confirmation"}]),
    ]
    planned = planned_actions(rules, facts())
    assert [(p.rule, p.index, p.action) for p in planned] == [
        ("first", 0, Action(add_tag="a")),
        ("first", 1, Action(assign_staff=Group(group="sales"))),
        ("second", 0, Action(send_message="order_confirmation")),
    ]
    assert len({p.command_id for p in planned}) == 3


def test_the_same_event_plans_the_same_command_ids() -> None:
    rules = [a_rule(name="a", do=[{"add_tag": "x"}, {"add_tag": "y"}])]
    once = planned_actions(rules, order_facts("order_created", order(), new_customer=True,
                                              returned=0))  # fmt: skip
    again = planned_actions(rules, order_facts("order_created", order(), new_customer=False,
                                               returned=4))  # fmt: skip
    assert [p.command_id for p in once] == [p.command_id for p in again]
    assert all(p.command_id.startswith("auto-") and len(p.command_id) == 37 for p in once)


def test_different_events_plan_different_command_ids() -> None:
    rules = [a_rule("status_changed", name="a")]
    base = order()
    to_confirmed = move(base, "confirmed", "minh", "2026-05-02T09:00:00+07:00", "cmd-9")
    back = move(base, "cancelled", "minh", "2026-05-02T09:00:00+07:00", "cmd-10")
    other_order = move(order(order_id="live-1-8"), "confirmed", "minh", "t", "cmd-9")
    ids = {
        planned_actions(rules, order_facts("status_changed", moved, new_customer=True,
                                           returned=0))[0].command_id
        for moved in (to_confirmed, back, other_order)
    }  # fmt: skip
    assert len(ids) == 3


def test_command_ids_depend_on_every_part() -> None:
    ids = {
        command_id("s", "r", "order_created:o1", 0),
        command_id("s2", "r", "order_created:o1", 0),
        command_id("s", "r2", "order_created:o1", 0),
        command_id("s", "r", "order_created:o2", 0),
        command_id("s", "r", "order_created:o1", 1),
        # parts cannot run into each other
        command_id("s", "r\x1f", "order_created:o1", 0),
        command_id("s", "", "rorder_created:o1", 0),
    }
    assert len(ids) == 7
    same = command_id("s", "r", "order_created:o1", 0)
    assert same == command_id("s", "r", "order_created:o1", 0)


def test_automation_events_are_not_evaluated_again() -> None:
    assert AUTOMATION_STAFF == "automation"
    planned = planned_actions([a_rule(do=[{"set_status": "confirmed"}])], facts())[0]
    moved = move(order(), "confirmed", AUTOMATION_STAFF, "t", planned.command_id)
    assert is_automation(moved["history"][-1])  # the history entry: staff "automation"
    assert is_automation({"command_id": planned.command_id, "staff": None})  # an event or outcome
    assert is_automation({"staff_id": AUTOMATION_STAFF, "command_id": "x"})  # a command
    assert not is_automation(moved["history"][0])  # lan created it
    assert not is_automation({"staff_id": "lan", "command_id": "cmd-1"})
    assert not is_automation(order())  # an order's staff is {assigned, finalised_by}


def test_round_robin() -> None:
    members = ("lan", "minh", "hoa")
    assert [round_robin(members, turn) for turn in range(5)] == [
        "lan", "minh", "hoa", "lan", "minh"
    ]  # fmt: skip
    with pytest.raises(ValueError):
        round_robin((), 0)
