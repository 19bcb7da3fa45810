"""Fixtures of the live-pipeline tests (tests/live_processes.py): `live` settings and `workers`
(`chotdon worker` subprocesses, stopped after each test, their logs printed when it fails)."""

from live_processes import live, workers

__all__ = ["live", "workers"]
