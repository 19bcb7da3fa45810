"""What the store tests share: the scenario table of the unit tests, and a store with its Redis
Functions loaded, on the test Redis (tests/conftest.py `redis_client`) and on a Redis Cluster
(`redis_cluster`): every test that takes `client` or `store` runs on both."""

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


@pytest.fixture(params=["redis", "cluster"])
def client(request: pytest.FixtureRequest) -> redis.asyncio.Redis:
    """The store tests run twice: on the test Redis (`redis_client`, its database flushed) and
    on the session's Redis Cluster (`cluster_client`, every master flushed)."""
    name = "redis_client" if request.param == "redis" else "cluster_client"
    chosen: redis.asyncio.Redis = request.getfixturevalue(name)
    return chosen


@pytest.fixture
def client_url(request: pytest.FixtureRequest, client: redis.asyncio.Redis) -> str:
    """The CHOTDON_REDIS URL of `client`: for a `chotdon` command on the same Redis."""
    from live_processes import redis_test_url

    if request.node.callspec.params["client"] == "cluster":
        url: str = request.getfixturevalue("redis_cluster").url
        return url
    return redis_test_url(request.getfixturevalue("stack"))


@pytest.fixture
async def store(client: redis.asyncio.Redis) -> DraftStore:
    store = DraftStore(client)
    await store.load_functions()
    return store


async def all_keys(client: redis.asyncio.Redis) -> list[bytes | str]:
    """Every key, from every master of a cluster (KEYS alone asks one node)."""
    from redis.asyncio.cluster import RedisCluster

    if isinstance(client, RedisCluster):
        found: list[bytes | str] = await client.keys("*", target_nodes=RedisCluster.PRIMARIES)
        return found
    return list(await client.keys("*"))
