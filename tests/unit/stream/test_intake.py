"""Where the comment intake resumes a partition, and what it tells the store it expects."""

from __future__ import annotations

from stream.intake import comment_group, positions_key, resume_offset
from stream.pipeline import KnownWatermarks


def test_a_new_group_without_a_record_reads_from_the_start() -> None:
    assert resume_offset(None, None, []) is None
    # livestream watermarks of some other topic must not move a new group past its start
    assert resume_offset(None, None, [], [500, 900]) is None


def test_the_record_decides_when_kafka_committed_further() -> None:
    # Redis came back older than Kafka's commits: seek back to what the store applied
    assert resume_offset(committed=1000, through=599, went_back=[]) == 600


def test_never_past_kafka_s_committed_offset() -> None:
    # the record written, the commit not yet (a crash in between): replay from the commit
    assert resume_offset(committed=400, through=599, went_back=[]) == 400


def test_a_livestream_that_lost_writes_pulls_the_partition_back() -> None:
    # on Cluster one livestream's shard may lose writes that the record's shard kept
    assert resume_offset(committed=1000, through=999, went_back=[700, 850]) == 701


def test_without_a_record_the_lowest_livestream_watermark_bounds_the_commit() -> None:
    assert resume_offset(1000, None, [], [300, 950]) == 301
    assert resume_offset(1000, None, [], []) == 1000


def test_groups_and_records_are_named_apart_from_the_agents() -> None:
    assert comment_group("chotdon") == "chotdon.comments"
    assert positions_key("chotdon.comments", "t") == "chotdon:intake:chotdon.comments:t"


def test_known_watermarks_are_sent_for_the_partitions_of_a_call_only() -> None:
    known = KnownWatermarks()
    assert known.expected("L1", [0]) == {}
    known.update("L1", {0: 41, 2: 7})
    known.update("L2", {0: 99})
    assert known.expected("L1", [0, 1]) == {0: 41}
    assert known.of_partition(0) == {"L1": 41, "L2": 99}
    known.forget([0])
    assert known.expected("L1", [0, 2]) == {2: 7}
    assert known.of_partition(0) == {}
