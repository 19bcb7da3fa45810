"""What the store tests share: the scenario table of the unit tests, and a store with its Redis
Functions loaded on the test Redis (tests/conftest.py `redis_client`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import redis.asyncio

from orders.store import DraftStore


def scenarios() -> ModuleType:
    """The scenario table lives beside the unit tests; the model and the store share it."""
    name = "orderbook_scenarios"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parent / "unit" / "orders" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def client(redis_client: redis.asyncio.Redis) -> redis.asyncio.Redis:
    return redis_client


@pytest.fixture
async def store(client: redis.asyncio.Redis) -> DraftStore:
    store = DraftStore(client)
    await store.load_functions()
    return store
