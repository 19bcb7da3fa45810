"""The worker scenarios with the store on a real Redis Cluster (3 masters, 3 replicas), and a
master's kill -9 mid-stream: its replica takes over, possibly behind; staff commands through
the same failover."""

from __future__ import annotations

from fault_scenarios import (
    Scene,
    cluster_failover,
    cluster_worker_kills,
    commands_cluster_failover,
)


async def test_workers_killed_on_a_redis_cluster_lose_nothing(scene: Scene) -> None:
    report = await cluster_worker_kills(scene)
    print(report.row())
    report.assert_clean()


async def test_a_cluster_master_failover_mid_stream_loses_nothing(scene: Scene) -> None:
    report = await cluster_failover(scene)
    print(report.row())
    report.assert_clean()


async def test_staff_commands_a_failed_over_shard_lost_are_applied_again(scene: Scene) -> None:
    report = await commands_cluster_failover(scene)
    print(report.row())
    report.assert_clean()
