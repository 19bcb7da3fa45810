"""The shop's order statuses and staff: consistent workflows load, broken ones are refused with
file, field path and reason (seed 003: a shop renames, adds and removes statuses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.base import ConfigProblems
from config.loader import ConfigError, load_shop
from config.staff import Staff
from config.workflow import DEFAULT_ACTIONS, Status, Workflow

SHOP = '[shop]\nid = "shop-test"\nname = "Shop Test"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shop.toml"
    path.write_text(SHOP + text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str) -> list[tuple[str, str]]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_shop(path)
    for field, reason in caught.value.problems:
        assert f"{path}: {field}: {reason}" in str(caught.value)
    return caught.value.problems


def statuses(*rows: str) -> str:
    return "".join(f"[[workflow.statuses]]\n{row}\n" for row in rows)


def test_defaults_are_the_five_statuses_of_livestream_pro() -> None:
    workflow = Workflow.model_validate({})
    assert [(s.key, s.name) for s in workflow.statuses] == [
        ("new", "Vừa tạo"),
        ("confirmed", "Đã chốt"),
        ("shipped", "Đã giao"),
        ("returned", "Bị trả lại"),
        ("cancelled", "Đã hủy"),
    ]
    assert workflow.actions == {"create": "new", "deliver_now": "shipped", "send_to_store": "new"}
    by_key = {s.key: s for s in workflow.statuses}
    assert [k for k, s in by_key.items() if s.revenue] == ["new", "confirmed", "shipped"]
    assert [k for k, s in by_key.items() if s.returned] == ["returned"]
    assert by_key["new"].to == ("confirmed", "cancelled")
    assert by_key["cancelled"].to == ()


def test_a_shop_without_workflow_gets_the_defaults(tmp_path: Path) -> None:
    shop = load_shop(write(tmp_path, ""))
    assert shop.workflow == Workflow()
    assert shop.staff == ()


def test_renamed_statuses_load(tmp_path: Path) -> None:
    text = statuses(
        'key = "new"\nname = "Mới lên đơn"\nrevenue = true\nto = ["confirmed", "cancelled"]',
        'key = "confirmed"\nname = "Đã gọi chốt"\nrevenue = true\nto = ["shipped", "cancelled"]',
        'key = "shipped"\nname = "Đang ship"\nrevenue = true\nto = ["returned"]',
        'key = "returned"\nname = "Hoàn"\nreturned = true',
        'key = "cancelled"\nname = "Huỷ"',
    )
    shop = load_shop(write(tmp_path, text))
    assert [s.name for s in shop.workflow.statuses][:2] == ["Mới lên đơn", "Đã gọi chốt"]
    assert shop.workflow.status("cancelled") == Status(key="cancelled", name="Huỷ")


def test_added_status_loads(tmp_path: Path) -> None:
    text = statuses(
        'key = "new"\nname = "Vừa tạo"\nto = ["packed", "cancelled"]',
        'key = "packed"\nname = "Đã đóng gói"\ncolor = "#ff9800"\nto = ["shipped", "cancelled"]',
        'key = "shipped"\nname = "Đã giao"\nrevenue = true\nto = ["returned"]',
        'key = "returned"\nname = "Bị trả lại"\nreturned = true',
        'key = "cancelled"\nname = "Đã hủy"',
    )
    shop = load_shop(write(tmp_path, text))
    assert [s.key for s in shop.workflow.statuses] == [
        "new", "packed", "shipped", "returned", "cancelled"
    ]  # fmt: skip
    assert shop.workflow.status("packed") is not None
    assert shop.workflow.status("packed").color == "#ff9800"  # type: ignore[union-attr]


def test_removed_statuses_load_with_their_actions(tmp_path: Path) -> None:
    text = (
        '[workflow]\nactions = { create = "open", deliver_now = "done", send_to_store = "open" }\n'
        + statuses('key = "open"\nname = "Mở"\nto = ["done"]',
                   'key = "done"\nname = "Xong"\nrevenue = true')
    )  # fmt: skip
    shop = load_shop(write(tmp_path, text))
    assert [s.key for s in shop.workflow.statuses] == ["open", "done"]
    assert shop.workflow.actions == {"create": "open", "deliver_now": "done",
                                     "send_to_store": "open"}  # fmt: skip


def test_actions_not_given_keep_their_defaults(tmp_path: Path) -> None:
    shop = load_shop(write(tmp_path, '[workflow.actions]\ndeliver_now = "confirmed"\n'))
    assert shop.workflow.actions == {**DEFAULT_ACTIONS, "deliver_now": "confirmed"}


def test_a_one_status_workflow_loads(tmp_path: Path) -> None:
    text = (
        '[workflow]\nactions = { create = "ok", deliver_now = "ok", send_to_store = "ok" }\n'
        + statuses('key = "ok"\nname = "OK"\nrevenue = true')
    )
    assert len(load_shop(write(tmp_path, text)).workflow.statuses) == 1


def test_a_status_reached_only_through_others_is_reachable(tmp_path: Path) -> None:
    text = statuses(
        'key = "new"\nname = "A"\nto = ["b"]',
        'key = "b"\nname = "B"\nto = ["c"]',
        'key = "c"\nname = "C"\nto = ["shipped"]',
        'key = "shipped"\nname = "D"\nto = ["new"]',  # cycles are fine
    )
    assert len(load_shop(write(tmp_path, text)).workflow.statuses) == 4


def test_unknown_target_is_refused_naming_status_and_target(tmp_path: Path) -> None:
    text = statuses(
        'key = "new"\nname = "Vừa tạo"\nto = ["shipped"]',
        'key = "shipped"\nname = "Đã giao"\nto = ["returned", "lost"]',
        'key = "returned"\nname = "Bị trả lại"',
    )
    assert refused(tmp_path, text) == [
        ("workflow.statuses[1].to", "status 'shipped' moves to 'lost', which is not a status"),
    ]


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    text = statuses(
        'key = "new"\nname = "Vừa tạo"\nto = ["shipped"]',
        'key = "shipped"\nname = "Đã giao"',
        'key = "new"\nname = "Mới"',
    )
    assert refused(tmp_path, text) == [
        ("workflow.statuses[2].key", "status 'new' is already defined at statuses[0]"),
    ]


def test_an_unreachable_status_is_refused_naming_it(tmp_path: Path) -> None:
    text = statuses(
        'key = "new"\nname = "Vừa tạo"\nto = ["cancelled"]',
        'key = "shipped"\nname = "Đã giao"',
        'key = "limbo"\nname = "Lơ lửng"\nto = ["new"]',
        'key = "cancelled"\nname = "Đã hủy"',
    )
    problems = refused(tmp_path, text)
    assert problems == [
        ("workflow.statuses[2]", "status 'limbo' cannot be reached: no finalise action gives it "
                                 "and no reachable status moves to it"),
    ]  # fmt: skip


def test_an_action_naming_no_status_is_refused(tmp_path: Path) -> None:
    text = '[workflow.actions]\ncreate = "draft"\n'
    assert refused(tmp_path, text) == [
        ("workflow.actions.create", "finalise action 'create' gives status 'draft', which is not "
                                    "a status (set workflow.actions.create)"),
    ]  # fmt: skip


def test_a_default_action_left_behind_by_renamed_statuses_is_refused(tmp_path: Path) -> None:
    text = statuses('key = "moi"\nname = "Mới"\nto = ["xong"]', 'key = "xong"\nname = "Xong"')
    problems = refused(tmp_path, text)
    # the three defaults name statuses that are gone; reachability waits until they are fixed
    assert [field for field, _ in problems] == [
        "workflow.actions.create", "workflow.actions.deliver_now", "workflow.actions.send_to_store"
    ]  # fmt: skip
    assert "'new'" in problems[0][1] and "'shipped'" in problems[1][1]


def test_no_status_at_all_is_refused(tmp_path: Path) -> None:
    assert refused(tmp_path, "[workflow]\nstatuses = []\n") == [
        ("workflow.statuses", "a workflow needs at least one status"),
    ]


def test_an_unknown_action_is_refused(tmp_path: Path) -> None:
    problems = refused(tmp_path, '[workflow.actions]\nship = "shipped"\n')
    assert problems == [
        ("workflow.actions.ship", "Input should be 'create', 'deliver_now' or 'send_to_store'")
    ]


def test_a_bad_key_is_refused(tmp_path: Path) -> None:
    problems = refused(tmp_path, statuses('key = "Đã giao"\nname = "x"'))
    assert problems[0][0] == "workflow.statuses[0].key"


def test_a_typo_in_a_status_is_refused(tmp_path: Path) -> None:
    problems = refused(tmp_path, statuses('key = "new"\nname = "x"\nrevenu = true'))
    assert problems == [
        (
            "workflow.statuses[0].revenu",
            "unknown setting (check its spelling against COMMENT_SYNTAX.md)",
        )
    ]


def test_every_fault_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        statuses(
            'key = "new"\nname = "A"\nto = ["nowhere"]',
            'key = "shipped"\nname = "B"\nto = ["elsewhere"]',
            'key = "new"\nname = "C"',
        )
        + '[[staff]]\nid = "lan"\nname = "Lan"\n[[staff]]\nid = "lan"\nname = "Lan B"\n'
    )
    fields = [field for field, _ in refused(tmp_path, text)]
    assert fields == [
        "workflow.statuses[2].key",
        "workflow.statuses[0].to",
        "workflow.statuses[1].to",
        "staff[1].id",
    ]


def test_staff_load(tmp_path: Path) -> None:
    text = '[[staff]]\nid = "lan"\nname = "Lan"\n[[staff]]\nid = "minh"\nname = "Minh"\n'
    shop = load_shop(write(tmp_path, text))
    assert shop.staff == (Staff(id="lan", name="Lan"), Staff(id="minh", name="Minh"))


def test_duplicate_staff_ids_are_refused_ignoring_case(tmp_path: Path) -> None:
    text = (
        '[[staff]]\nid = "lan"\nname = "Lan"\n[[staff]]\nid = "minh"\nname = "Minh"\n'
        '[[staff]]\nid = "Lan"\nname = "Lan Anh"\n'
    )
    assert refused(tmp_path, text) == [
        ("staff[2].id", "staff id 'Lan' is already used at staff[0]")
    ]


def test_a_bad_staff_id_is_refused(tmp_path: Path) -> None:
    problems = refused(tmp_path, '[[staff]]\nid = "lan anh"\nname = "Lan"\n')
    assert problems[0][0] == "staff[0].id"


def test_built_in_code_is_checked_too() -> None:
    """Outside the loader the same check raises, listing every fault one a line."""
    with pytest.raises(ValueError, match=r"statuses\[0\]\.to: status 'a' moves to 'b'"):
        Workflow(statuses=(Status(key="a", name="A", to=("b",)),),
                 actions={"create": "a", "deliver_now": "a", "send_to_store": "a"})  # fmt: skip


def test_config_problems_reads_as_lines() -> None:
    problems = ConfigProblems([(("statuses", 2, "to"), "bad"), ((), "whole")])
    assert str(problems) == "statuses[2].to: bad\nwhole"


def test_status_lookup() -> None:
    workflow = Workflow()
    assert workflow.status("shipped") is not None
    assert workflow.status("gone") is None


def test_the_demo_shop_lists_lan_minh_and_thu() -> None:
    demo = Path(__file__).resolve().parents[3] / "config" / "shops" / "demo.toml"
    shop = load_shop(demo)
    assert [person.id for person in shop.staff] == ["lan", "minh", "thu"]
    assert not shop.permissions.sales.stats and shop.permissions.sales.change_status
    assert shop.workflow == Workflow()
