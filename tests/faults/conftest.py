"""Fixtures of the fault suite: `scene`, the per-test settings of `live` (own topics and
consumer group, database LIVE_REDIS_DB of the test Redis) and a folder; scenarios that break
Redis or Kafka start servers of their own (tests/fault_support.py) on free ports.

The suite's budget is about ten minutes of CI (each scenario's feed lasts a little longer than
its faults: tests/fault_scenarios.py `CI`); benchmarks/chaos_bench.py runs the same scenarios
longer."""

from __future__ import annotations

from pathlib import Path

import pytest
from fault_scenarios import Scene
from live_processes import live

from config.settings import Settings

__all__ = ["live", "scene"]


@pytest.fixture
def scene(live: Settings, tmp_path: Path) -> Scene:
    return Scene(live, tmp_path)
