"""Fixtures of the integration tests: `live` settings and `workers` for the live pipeline
(tests/live_processes.py), `client` and `store` for the store tests (tests/store_support.py)."""

from live_processes import live, workers
from store_support import client, client_url, store

__all__ = ["client", "client_url", "live", "store", "workers"]
