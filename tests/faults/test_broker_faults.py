"""The Kafka broker fails under a running worker: kill -9, away for a minute."""

from __future__ import annotations

from fault_scenarios import Scene, broker_kill


async def test_a_broker_killed_for_a_minute_loses_nothing(scene: Scene) -> None:
    report = await broker_kill(scene)
    print(report.row())
    report.assert_clean()
