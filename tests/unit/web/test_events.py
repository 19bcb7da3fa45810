"""Event positions (the SSE ids): written by chotdon, read back exactly, anything else refused;
and the partition of a livestream's draft events, as Kafka's default partitioner puts them."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import murmur2

from web.events import BadPosition, Position, draft_partition, event_draft


def test_a_position_reads_back_as_written() -> None:
    position = Position(2, 1045, ((0, 12), (1, 40), (3, 0)))
    assert position.encode() == "2:1045|0:12,1:40,3:0"
    assert Position.decode(position.encode()) == position
    assert Position.decode("0:0|") == Position(0, 0, ())


@pytest.mark.parametrize("text", ["", "garbage", "1:x|0:1", "1:2|0", "1:-1|", "1:1|0:-3"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(BadPosition):
        Position.decode(text)


def test_the_draft_partition_is_the_producers_one() -> None:
    partitions = [0, 1, 2, 3]
    for livestream in ("live-1", "live-demo", "web-3fa2"):
        expected = (murmur2(livestream.encode()) & 0x7FFFFFFF) % len(partitions)
        assert draft_partition(livestream, partitions) == expected


def test_an_event_draft_carries_its_version_and_warnings() -> None:
    event = {"seq": 3, "draft": {"seq": 3, "lines": []}, "warnings": [{"code": "blacklisted"}]}
    shown = event_draft(event)
    assert len(shown["version"]) == 40 and shown["warnings"] == [{"code": "blacklisted"}]
