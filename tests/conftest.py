"""Fixtures shared by every test folder.

Integration tests get a real Kafka broker and Redis server from the session-scoped `stack`
fixture: a TEST stack on its own ports and stack dir (Kafka 127.0.0.1:19092, controller 19093,
Redis 127.0.0.1:16379, data in .stack/test), so a developer's `chotdon stack up` on the default
ports is never touched. It is started on first use (about 5 s when the jars are cached) and
stopped and wiped when the last test session using it ends; set CHOTDON_TEST_KEEP_STACK=1 to
leave it running between sessions (stop it with `CHOTDON_STACK_DIR=.stack/test chotdon stack
down`). A test stack started by hand that way is never stopped by the tests.

CHOTDON_TEST_PORT_OFFSET=N moves all three ports up by N, so two checkouts of the project (git
worktrees, each with its own .stack/test) can run their test suites side by side.

`redis_cluster` (session-scoped, on first use) is a real Redis Cluster of the session's own:
three masters and three replicas on free ports (stack/redis_cluster.py), about 3 s to start.

Unit tests never request these fixtures and never start anything.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis.asyncio
from live_processes import redis_test_url

from config.settings import Settings, Topics, load_settings

if TYPE_CHECKING:
    from stack.redis_cluster import LocalRedisCluster

ROOT = Path(__file__).resolve().parent.parent

TEST_PORT_OFFSET = int(os.environ.get("CHOTDON_TEST_PORT_OFFSET", "0"))
TEST_KAFKA = f"127.0.0.1:{19092 + TEST_PORT_OFFSET}"
TEST_KAFKA_CONTROLLER_PORT = 19093 + TEST_PORT_OFFSET
TEST_REDIS = f"redis://127.0.0.1:{16379 + TEST_PORT_OFFSET}/0"


def testing_stack_settings() -> Settings:
    """The settings of the test stack (the jar cache is the developer's, to share the download)."""
    cache_dir = load_settings().cache_dir
    if not cache_dir.is_absolute():
        cache_dir = ROOT / cache_dir
    return Settings(
        kafka=TEST_KAFKA,
        kafka_controller_port=TEST_KAFKA_CONTROLLER_PORT,
        redis=TEST_REDIS,
        stack_dir=ROOT / ".stack" / "test",
        cache_dir=cache_dir,
    )


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    """A running test stack (Kafka + Redis, chotdon's topics created); yields its Settings.

    Several pytest sessions may share it (two terminals, a helper's run): each holds a shared
    lock on <stack_dir>/.sessions while it runs, and the last one out stops and wipes the stack,
    but only if a test session started it (marker file `started-by-tests`), never one that a
    developer started by hand."""
    from stack import StackError, stack_purge, stack_status, stack_up

    settings = testing_stack_settings()
    settings.stack_dir.mkdir(parents=True, exist_ok=True)
    marker = settings.stack_dir / "started-by-tests"
    with (settings.stack_dir / ".sessions").open("a") as sessions:
        fcntl.flock(sessions, fcntl.LOCK_SH)
        if not stack_status(settings).running:
            marker.touch()
        try:
            stack_up(settings)
        except StackError as error:
            pytest.fail(f"could not start the test stack: {error}", pytrace=False)
        yield settings
        if os.environ.get("CHOTDON_TEST_KEEP_STACK") or not marker.exists():
            return
        try:
            fcntl.flock(sessions, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another session still uses the stack; the last one stops it
        stack_purge(settings)
        marker.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedisCluster]:
    """A 3-master / 3-replica Redis Cluster of this session (free ports, its own folder)."""
    from stack import StackError
    from stack.redis_cluster import LocalRedisCluster, free_cluster_ports

    root = tmp_path_factory.mktemp("redis-cluster")
    cluster = LocalRedisCluster.at(root, free_cluster_ports())
    try:
        cluster.up()
    except StackError as error:
        cluster.down()
        pytest.fail(f"could not start the test Redis Cluster: {error}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.down()


@pytest.fixture
async def cluster_client(redis_cluster: LocalRedisCluster) -> AsyncIterator[redis.asyncio.Redis]:
    """chotdon's own client for the cluster's URL (orders/connection.py), every master flushed
    before the test."""
    from orders.connection import redis_client

    client = redis_client(redis_cluster.url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def kafka_settings(stack: Settings) -> AsyncIterator[Settings]:
    """The test stack's Settings with topic names and app id unique to this test (the topics
    created with the configured partitions, deleted afterwards), so tests never read each
    other's messages or share consumer groups."""
    from aiokafka.admin import AIOKafkaAdminClient

    from stack import ensure_topics

    suffix = uuid.uuid4().hex[:10]
    topics = Topics(
        **{
            field.name: f"{getattr(stack.topics, field.name)}.{suffix}"
            for field in dataclasses.fields(Topics)
        }
    )
    settings = dataclasses.replace(stack, topics=topics, app_id=f"chotdon-test-{suffix}")
    await ensure_topics(settings)
    yield settings
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka)
    await admin.start()
    try:
        names = [getattr(topics, field.name) for field in dataclasses.fields(Topics)]
        existing = set(await admin.list_topics())
        await admin.delete_topics([name for name in names if name in existing])
    finally:
        await admin.close()


@pytest.fixture
async def redis_client(stack: Settings) -> AsyncIterator[redis.asyncio.Redis]:
    """A redis.asyncio client on the test Redis, its database flushed before the test.
    Replies are bytes (decode_responses=False). Loaded Redis Functions are kept.

    CHOTDON_TEST_REDIS_DB picks another database, so pytest sessions run side by side (by
    several developers' helpers) do not flush each other's data."""
    client = redis.asyncio.Redis.from_url(redis_test_url(stack))
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()
