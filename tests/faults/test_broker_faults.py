"""The Kafka broker fails under a running worker: kill -9 and away for a minute; a full disk."""

from __future__ import annotations

from fault_scenarios import Scene, broker_kill, kafka_full_disk


async def test_a_broker_killed_for_a_minute_loses_nothing(scene: Scene) -> None:
    report = await broker_kill(scene)
    print(report.row())
    report.assert_clean()


async def test_a_full_disk_under_kafka_loses_nothing(scene: Scene) -> None:
    report = await kafka_full_disk(scene)
    print(report.row())
    report.assert_clean()
