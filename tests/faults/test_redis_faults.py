"""Redis fails under a running worker: kill -9, a power loss (the append-only file older than
Kafka's committed offsets), a full disk; staff commands through the same power loss."""

from __future__ import annotations

from fault_scenarios import (
    Scene,
    commands_power_loss,
    redis_full_disk,
    redis_kill,
    redis_power_loss,
)


async def test_redis_killed_loses_nothing(scene: Scene) -> None:
    report = await redis_kill(scene)
    print(report.row())
    report.assert_clean()


async def test_redis_back_from_a_power_loss_gets_its_lost_batches_again(scene: Scene) -> None:
    report = await redis_power_loss(scene)
    print(report.row())
    report.assert_clean()


async def test_a_full_disk_under_redis_delays_and_loses_nothing(scene: Scene) -> None:
    report = await redis_full_disk(scene)
    print(report.row())
    report.assert_clean()


async def test_staff_commands_whose_effects_redis_lost_are_applied_again(scene: Scene) -> None:
    report = await commands_power_loss(scene)
    print(report.row())
    report.assert_clean()
