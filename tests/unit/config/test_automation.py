"""Automation rules and message templates in the shop's file: rule sets that can work load, the
others are refused with file, field path and reason (seed 004: Getfly's automation)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config.automation import (
    Action,
    Condition,
    Group,
    Messages,
    Rule,
    fields_for,
    template_fields,
    template_problem,
)
from config.loader import ConfigError, load_shop
from config.shop import ShopConfig
from config.staff import Staff

DEMO = Path(__file__).resolve().parents[3] / "config" / "shops" / "demo.toml"
SHOP = (
    '[shop]\nid = "shop-test"\nname = "Shop Test"\n'
    '[[staff]]\nid = "lan"\nname = "Lan"\ngroups = ["sales"]\n'
    '[[staff]]\nid = "minh"\nname = "Minh"\ngroups = ["sales", "kho"]\n'
)
MESSAGES = (
    '[messages]\norder_confirmation = "Chào {customer_name}, đơn {order_id}: {total}"\n'
    'waitlist_promotion = "Đã có {product_name} x{qty} cho đơn {seq}"\n'
    'shipping_notice = "Đơn {order_id}: {status_name}"\n'
    '[messages.templates]\ncam_on = "Cảm ơn {customer_name}!"\n'
)
GETFLY = """
[[rules]]
name = "Website dùng thử → Lan"
on = "order_created"
when = { website = "https://www.getfly.vn/dang-ky-dung-thu-phan-mem.html" }
do = [{ assign_owner = "lan" }]

[[rules]]
name = "Fanpage Getfly → Minh"
on = "order_created"
when = { website = "https://www.facebook.com/getfly" }
do = [{ assign_owner = "minh" }]
"""


def write(tmp_path: Path, text: str, *, shop: str = SHOP) -> Path:
    path = tmp_path / "shop.toml"
    path.write_text(shop + MESSAGES + text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str, *, shop: str = SHOP) -> list[tuple[str, str]]:
    path = write(tmp_path, text, shop=shop)
    with pytest.raises(ConfigError) as caught:
        load_shop(path)
    for field, reason in caught.value.problems:
        assert f"{path}: {field}: {reason}" in str(caught.value)
    return caught.value.problems


def rule(on: str, do: str, *, when: str = "", extra: str = "", name: str = "r") -> str:
    when_line = f"when = {{ {when} }}\n" if when else ""
    return f'[[rules]]\nname = "{name}"\non = "{on}"\n{extra}{when_line}do = [{do}]\n'


# -- what loads ----------------------------------------------------------------------------------


def test_getflys_example_loads(tmp_path: Path) -> None:
    shop = load_shop(write(tmp_path, GETFLY))
    first, second = shop.rules
    assert first.on == "order_created"
    assert first.when.website == ("https://www.getfly.vn/dang-ky-dung-thu-phan-mem.html",)
    assert first.do == (Action(assign_owner="lan"),)
    assert second.do[0].kind == "assign_owner" and second.do[0].value == "minh"


def test_a_full_rule_loads(tmp_path: Path) -> None:
    text = """
[[rules]]
name = "Đơn lớn"
on = "status_changed"
from = "new"
to = "confirmed"
[rules.when]
platform = ["Facebook", "tiktok"]
codes = ["a12", "V5"]
total_min = 500000
total_max = 5000000
status = "confirmed"
tags = ["vip"]
new_customer = false
returned_min = 0
any = [{ page = "p1" }, { livestream = ["l1", "l2"] }, { conversation = "c1" }]
all = [{ any = [{ website = "https://shop.vn" }, { tags = ["x"] }] }]
[[rules.do]]
assign_staff = { group = "sales" }
[[rules.do]]
assign_owner = "minh"
[[rules.do]]
add_tag = "don-lon"
[[rules.do]]
set_status = "shipped"
[[rules.do]]
send_message = "cam_on"
"""
    (loaded,) = load_shop(write(tmp_path, text)).rules
    assert (loaded.from_status, loaded.to_status) == ("new", "confirmed")
    assert loaded.when.platform == ("facebook", "tiktok")  # lower case
    assert loaded.when.codes == ("A12", "V5")  # upper case, as product codes are
    assert loaded.when.status == ("confirmed",)  # one or many
    assert loaded.when.any is not None and loaded.when.any[1].livestream == ("l1", "l2")
    assert loaded.do[0].value == Group(group="sales")
    assert [action.kind for action in loaded.do] == [
        "assign_staff", "assign_owner", "add_tag", "set_status", "send_message"
    ]  # fmt: skip


def test_a_shop_round_trips_through_json(tmp_path: Path) -> None:
    """The store keeps ShopConfig as JSON: rules (with `from` / `to`) must read back the same."""
    text = rule(
        "status_changed",
        '{ send_message = "shipping_notice" }',
        extra='from = "confirmed"\nto = "shipped"\n',
        when='any = [{ codes = "A1" }]',
    )
    shop = load_shop(write(tmp_path, text + GETFLY))
    dumped = shop.model_dump_json()
    assert '"from":"confirmed"' in dumped
    assert ShopConfig.model_validate_json(dumped) == shop


def test_rules_are_built_in_python_by_field_name() -> None:
    built = Rule(name="r", on="status_changed", from_status="new", to_status="shipped",
                 do=(Action(send_message="x"),))  # fmt: skip
    document = {"name": "r", "on": "status_changed", "from": "new", "to": "shipped",
                "do": [{"send_message": "x"}]}  # fmt: skip
    assert Rule.model_validate(document) == built


def test_a_shop_without_rules_or_messages() -> None:
    shop = ShopConfig.model_validate({"shop": {"id": "s", "name": "S"}})
    assert shop.rules == ()
    assert shop.messages == Messages()
    assert shop.messages.template("order_confirmation") is None


def test_staff_groups_default_to_none() -> None:
    assert Staff(id="lan", name="Lan").groups == ()


def test_without_a_staff_list_any_staff_id_is_accepted_but_no_group(tmp_path: Path) -> None:
    bare = '[shop]\nid = "shop-test"\nname = "Shop Test"\n'
    shop = load_shop(write(tmp_path, rule("order_created", '{ assign_owner = "ai-cung-duoc" }'),
                           shop=bare))  # fmt: skip
    assert shop.rules[0].do[0].value == "ai-cung-duoc"
    assert refused(tmp_path, rule("order_created", '{ assign_owner = { group = "sales" } }'),
                   shop=bare) == [
        ("rules[0].do[0].assign_owner.group", "unknown group 'sales' (no staff member is in it)")
    ]  # fmt: skip


def test_the_demo_shop_defines_the_three_templates() -> None:
    shop = load_shop(DEMO)
    for name in ("order_confirmation", "waitlist_promotion", "shipping_notice"):
        assert shop.messages.template(name), name
    groups = {person.id: person.groups for person in shop.staff}
    assert groups == {"lan": ("sales",), "minh": ("sales",), "thu": ()}  # thu manages, not sells
    assert shop.rules == ()


def test_the_demo_shops_commented_rules_load_once_uncommented(tmp_path: Path) -> None:
    text = DEMO.read_text(encoding="utf-8")
    block = text[text.index("# [[rules]]") :]
    rules = re.sub(r"^# ?", "", block, flags=re.MULTILINE)
    path = tmp_path / "demo.toml"
    path.write_text(text[: text.index("# [[rules]]")] + rules, encoding="utf-8")
    shop = load_shop(path)
    assert len(shop.rules) == 7
    assert {r.on for r in shop.rules} == {"order_created", "status_changed", "waitlist_promoted",
                                          "customer_flagged"}  # fmt: skip


# -- refusals, each at its place -----------------------------------------------------------------

REFUSALS: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "unknown staff (owner)",
        rule("order_created", '{ add_tag = "a" }, { assign_owner = "x" }'),
        [("rules[0].do[1].assign_owner", "unknown staff 'x'")],
    ),
    (
        "unknown staff (staff)",
        rule("draft_created", '{ assign_staff = "Lan" }'),  # ids are exact
        [("rules[0].do[0].assign_staff", "unknown staff 'Lan'")],
    ),
    (
        "unknown group",
        rule("order_created", '{ assign_staff = { group = "marketing" } }'),
        [
            (
                "rules[0].do[0].assign_staff.group",
                "unknown group 'marketing' (no staff member is in it)",
            )
        ],
    ),
    (
        "unknown status (set_status)",
        rule("status_changed", '{ set_status = "packed" }'),
        [("rules[0].do[0].set_status", "unknown status 'packed'")],
    ),
    (
        "unknown status (from)",
        rule("status_changed", '{ add_tag = "a" }', extra='from = "draft"\n'),
        [("rules[0].from", "unknown status 'draft'")],
    ),
    (
        "unknown status (to)",
        rule("status_changed", '{ add_tag = "a" }', extra='to = "done"\n'),
        [("rules[0].to", "unknown status 'done'")],
    ),
    (
        "unknown status (nested condition)",
        rule(
            "order_created",
            '{ add_tag = "a" }',
            when='any = [{ codes = "A1" }, { all = [{ status = ["new", "paid"] }] }]',
        ),
        [("rules[0].when.any[1].all[0].status", "unknown status 'paid'")],
    ),
    (
        "unknown template",
        rule("order_created", '{ send_message = "xin_chao" }'),
        [
            (
                "rules[0].do[0].send_message",
                "unknown template 'xin_chao' (templates: "
                "order_confirmation, waitlist_promotion, shipping_notice, cam_on)",
            )
        ],
    ),
    (
        "template field the trigger lacks",
        rule("draft_created", '{ send_message = "order_confirmation" }'),
        [
            (
                "rules[0].do[0].send_message",
                "template 'order_confirmation' uses {order_id}, which "
                "draft_created events do not have",
            )
        ],
    ),
    (
        "line fields outside a waitlist promotion",
        rule("order_created", '{ send_message = "waitlist_promotion" }'),
        [
            (
                "rules[0].do[0].send_message",
                "template 'waitlist_promotion' uses {product_name}, "
                "which order_created events do not have",
            )
        ],
    ),
    (
        "set_status and add_tag on draft_created",
        rule("draft_created", '{ set_status = "new" }, { add_tag = "x" }'),
        [
            (
                "rules[0].do[0].set_status",
                "set_status acts on orders only; a draft_created rule acts on a draft",
            ),
            (
                "rules[0].do[1].add_tag",
                "add_tag acts on orders only; a draft_created rule acts on a draft",
            ),
        ],
    ),
    (
        "add_tag on waitlist_promoted",
        rule("waitlist_promoted", '{ add_tag = "x" }'),
        [
            (
                "rules[0].do[0].add_tag",
                "add_tag acts on orders only; a waitlist_promoted rule acts on a draft",
            )
        ],
    ),
    (
        "set_status on customer_flagged (a draft)",
        rule("customer_flagged", '{ set_status = "cancelled" }'),
        [
            (
                "rules[0].do[0].set_status",
                "set_status acts on orders only; a customer_flagged rule acts on a draft",
            )
        ],
    ),
    (
        "status and tags conditions on a draft",
        rule(
            "draft_created",
            '{ assign_staff = "lan" }',
            when='tags = ["vip"], any = [{ status = "new" }]',
        ),
        [
            (
                "rules[0].when.tags",
                "a draft_created rule acts on a draft, which has no tags (orders only)",
            ),
            (
                "rules[0].when.any[0].status",
                "a draft_created rule acts on a draft, which has no status (orders only)",
            ),
        ],
    ),
    (
        "from / to without status_changed",
        rule("order_created", '{ add_tag = "a" }', extra='from = "new"\nto = "shipped"\n'),
        [
            ("rules[0].from", "`from` narrows a status_changed rule only, not order_created"),
            ("rules[0].to", "`to` narrows a status_changed rule only, not order_created"),
        ],
    ),
    (
        "duplicate rule names, ignoring case",
        rule("order_created", '{ add_tag = "a" }', name="Chia đơn")
        + rule("order_created", '{ add_tag = "b" }', name="chia đơn"),
        [("rules[1].name", "rule name 'chia đơn' is already used at rules[0]")],
    ),
    (
        "a move the workflow never allows",
        rule("status_changed", '{ set_status = "new" }', extra='to = "shipped"\n'),
        [
            (
                "rules[0].do[0].set_status",
                "no status this rule sees moves to 'new': the order "
                "would stay where it is (see workflow.statuses[].to)",
            )
        ],
    ),
    (
        "no action in an action",
        rule("order_created", "{ }"),
        [
            (
                "rules[0].do[0]",
                "give exactly one of assign_owner, assign_staff, add_tag, set_status, send_message",
            )
        ],
    ),
    (
        "two actions in one",
        rule("order_created", '{ add_tag = "a", set_status = "confirmed" }'),
        [
            (
                "rules[0].do[0]",
                "give exactly one of assign_owner, assign_staff, add_tag, "
                "set_status, send_message (got add_tag, set_status)",
            )
        ],
    ),
    (
        "no actions",
        rule("order_created", ""),
        [("rules[0].do", "give at least one")],
    ),
    (
        "an impossible total",
        rule("order_created", '{ add_tag = "a" }', when="total_min = 500, total_max = 100"),
        [("rules[0].when", "total_min 500 is above total_max 100: no order can match")],
    ),
    (
        "an empty list of values",
        rule("order_created", '{ add_tag = "a" }', when='codes = [], page = ["p", " "]'),
        [
            ("rules[0].when.page[1]", "Value should have at least 1 item after validation, not 0"),
            ("rules[0].when.codes", "give at least one"),
        ],
    ),
    (
        "a typo in a condition",
        rule("order_created", '{ add_tag = "a" }', when='platfrom = "facebook"'),
        [
            (
                "rules[0].when.platfrom",
                "unknown setting (check its spelling against COMMENT_SYNTAX.md)",
            )
        ],
    ),
    (
        "an empty any",
        rule("order_created", '{ add_tag = "a" }', when="any = []"),
        [("rules[0].when.any", "give at least one")],
    ),
]


@pytest.mark.parametrize(("case", "text", "expected"), REFUSALS, ids=[c[0] for c in REFUSALS])
def test_refusals_name_field_and_reason(
    tmp_path: Path, case: str, text: str, expected: list[tuple[str, str]]
) -> None:
    assert refused(tmp_path, text) == expected


def test_an_unknown_trigger_is_refused(tmp_path: Path) -> None:
    problems = refused(tmp_path, rule("order_paid", '{ add_tag = "a" }'))
    assert problems[0][0] == "rules[0].on"
    assert "'order_created'" in problems[0][1]


def test_the_brief_example_message(tmp_path: Path) -> None:
    path = write(tmp_path, rule("order_created", '{ add_tag = "a" }', name="a")
                 + rule("order_created", '{ assign_owner = "x" }', name="b"))  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        load_shop(path)
    assert str(caught.value) == f"{path}: rules[1].do[0].assign_owner: unknown staff 'x'"


def test_every_rule_fault_is_reported_at_once(tmp_path: Path) -> None:
    text = (rule("order_created", '{ assign_owner = "x" }', name="a")
            + rule("draft_created", '{ set_status = "nope" }', name="b"))  # fmt: skip
    assert [field for field, _ in refused(tmp_path, text)] == [
        "rules[0].do[0].assign_owner", "rules[1].do[0].set_status"
    ]  # fmt: skip


def test_the_automation_staff_id_is_reserved(tmp_path: Path) -> None:
    shop = SHOP + '[[staff]]\nid = "Automation"\nname = "Robot"\n'
    assert refused(tmp_path, "", shop=shop) == [
        ("staff[2].id", "staff id 'Automation' is reserved for automation rules")
    ]


TEMPLATE_REFUSALS = [
    ('order_confirmation = "Chào {ten_khach}"', "messages.order_confirmation",
     "unknown field {ten_khach} (fields: customer_name, order_id, seq, lines, total, "
     "status_name, shop_name, livestream_id, code, product_name, qty)"),
    ('shipping_notice = "Đơn {order_id"', "messages.shipping_notice",
     "expected '}' before end of string"),
    ('waitlist_promotion = "{0} và {}"', "messages.waitlist_promotion",
     "{0} is not a field: write a field name, like {order_id} (a literal brace is written "
     "{{ or }})"),
    ('templates = { gia = "{total:>10}" }', "messages.templates.gia",
     "{total} has a format: write just {total}"),
    ('templates = { hi = "{customer_name!r}" }', "messages.templates.hi",
     "{customer_name} has a format: write just {customer_name}"),
    ('templates = { x = "{order_id.upper}" }', "messages.templates.x",
     "{order_id.upper} is not a field: write a field name, like {order_id} (a literal brace is "
     "written {{ or }})"),
    ('templates = { shipping_notice = "Đơn {order_id}" }', "messages.templates.shipping_notice",
     "'shipping_notice' is a built-in template: set it as messages.shipping_notice"),
    ('templates = { "Xin Chào" = "hi" }', "messages.templates.Xin Chào",
     "String should match pattern '^[a-z][a-z0-9_]*$'"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "field", "reason"), TEMPLATE_REFUSALS)
def test_broken_templates_are_refused(tmp_path: Path, line: str, field: str, reason: str) -> None:
    path = tmp_path / "shop.toml"
    path.write_text(SHOP + "[messages]\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_shop(path)
    assert caught.value.problems == [(field, reason)]


def test_literal_braces_are_fine() -> None:
    assert template_problem("{{khuyến mãi}} cho {customer_name}") is None
    assert template_fields("{{x}} {seq} {seq} {lines}") == {"seq", "lines"}


def test_fields_by_trigger() -> None:
    assert "order_id" in fields_for("order_created")
    assert "product_name" not in fields_for("order_created")
    assert {"product_name", "qty", "code", "seq"} <= fields_for("waitlist_promoted")
    assert "status_name" not in fields_for("waitlist_promoted")
    assert "order_id" not in fields_for("customer_flagged")


def test_conditions_normalise_one_or_many() -> None:
    condition = Condition.model_validate({"platform": "TikTok", "codes": "a12", "page": ["p"]})
    assert (condition.platform, condition.codes, condition.page) == (("tiktok",), ("A12",), ("p",))
    assert Condition.model_validate({"any": [{"all": [{"tags": "vip"}]}]}).walk() == [
        ((), Condition(any=(Condition(all=(Condition(tags=("vip",)),)),))),
        (("any", 0), Condition(all=(Condition(tags=("vip",)),))),
        (("any", 0, "all", 0), Condition(tags=("vip",))),
    ]


def test_messages_lists_its_templates() -> None:
    messages = Messages(shipping_notice="Đơn {order_id}", templates={"cam_on": "Cảm ơn"})
    assert messages.names() == ["shipping_notice", "cam_on"]
    assert messages.template("cam_on") == "Cảm ơn"
    assert messages.template("order_confirmation") is None
    assert messages.template("nothing") is None
