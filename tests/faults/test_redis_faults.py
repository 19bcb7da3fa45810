"""Redis fails under a running worker: kill -9, a full disk."""

from __future__ import annotations

from fault_scenarios import Scene, redis_full_disk, redis_kill


async def test_redis_killed_loses_nothing(scene: Scene) -> None:
    report = await redis_kill(scene)
    print(report.row())
    report.assert_clean()


async def test_a_full_disk_under_redis_delays_and_loses_nothing(scene: Scene) -> None:
    report = await redis_full_disk(scene)
    print(report.row())
    report.assert_clean()
