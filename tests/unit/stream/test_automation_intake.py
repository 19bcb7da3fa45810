"""Where the automation intake starts a partition, and the group it reads in."""

from __future__ import annotations

from stream.automation_intake import automation_group, start_offset
from stream.intake import comment_group


def test_the_group_s_own_commit_comes_first() -> None:
    # committed by this group since the upgrade: the agents' older offset no longer counts
    assert start_offset(own=120, agents=40) == 120
    assert start_offset(own=0, agents=40) == 0  # 0 is an offset, not "none"


def test_a_new_group_starts_where_the_agents_group_stood() -> None:
    # the first start after the upgrade: not the topic's start, or old events act again
    assert start_offset(own=None, agents=40) == 40


def test_a_partition_nobody_committed_starts_at_its_start() -> None:
    assert start_offset(own=None, agents=None) is None


def test_its_group_is_neither_the_agents_nor_the_comment_intake_s() -> None:
    assert automation_group("chotdon") == "chotdon.automation"
    assert automation_group("chotdon") not in ("chotdon", comment_group("chotdon"))
