"""Workers crash: kill -9 at random points of a live stream, two workers in the group."""

from __future__ import annotations

from fault_scenarios import CI, Scene, worker_kills

# A kill's takeover (the survivor serving the dead worker's partitions) is measured by the
# chaos benchmark against a 10 s target; here a loose bound catches a return of faust's 60 s
# session timeout.
TAKEOVER_BOUND = 20.0


async def test_workers_killed_mid_stream_lose_nothing_and_apply_nothing_twice(
    scene: Scene,
) -> None:
    report = await worker_kills(scene)
    print(report.row())
    report.assert_clean()
    assert len(report.recoveries) == CI["worker_kills"].kills
    assert report.recovery < TAKEOVER_BOUND, report.recoveries
