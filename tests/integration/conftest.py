"""Fixtures of the live-pipeline tests (tests/live_processes.py): `live` settings and `workers`."""

from live_processes import live, workers

__all__ = ["live", "workers"]
