"""The local stack (`chotdon stack up|down|status`) against real Kafka and Redis processes.

Most tests use the session's test stack (the `stack` fixture). Tests that stop things or block
ports build throwaway stacks in tmp_path on free ports, so the session stack is never disturbed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from cli.main import main
from config.settings import Settings, load_settings
from stack import (
    StackError,
    free_port,
    stack_down,
    stack_purge,
    stack_status,
    stack_up,
)
from stack import installs as stack_installs

ROOT = Path(__file__).resolve().parents[2]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def throwaway_settings(stack_dir: Path) -> Settings:
    cache_dir = load_settings().cache_dir
    return Settings(
        kafka=f"127.0.0.1:{free_port()}",
        kafka_controller_port=free_port(),
        redis=f"redis://127.0.0.1:{free_port()}/0",
        stack_dir=stack_dir,
        cache_dir=cache_dir if cache_dir.is_absolute() else ROOT / cache_dir,
    )


@pytest.fixture
def throwaway(tmp_path: Path) -> Iterator[Settings]:
    settings = throwaway_settings(tmp_path / "stack")
    try:
        yield settings
    finally:
        stack_purge(settings)


# --------------------------------------------------------------------------- the session stack


async def test_kafka_topic_round_trip(kafka_settings: Settings) -> None:
    topic = f"chotdon.test.round-trip.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_settings.kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 2, 1)])
        producer = AIOKafkaProducer(bootstrap_servers=kafka_settings.kafka, acks="all")
        await producer.start()
        try:
            for n in range(10):
                await producer.send_and_wait(topic, f"m{n}".encode(), key=f"live-{n % 3}".encode())
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka_settings.kafka,
            group_id=kafka_settings.app_id,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        received: list[tuple[bytes, bytes]] = []
        try:
            async with asyncio.timeout(30):
                while len(received) < 10:
                    batch = await consumer.getmany(timeout_ms=500)
                    for records in batch.values():
                        received.extend((r.key, r.value) for r in records)
        finally:
            await consumer.stop()
    finally:
        await admin.delete_topics([topic])
        await admin.close()

    assert sorted(value for _key, value in received) == sorted(f"m{n}".encode() for n in range(10))
    for key in {key for key, _value in received}:  # one key, one partition: order is kept
        values = [value for k, value in received if k == key]
        assert values == sorted(values, key=lambda v: int(v[1:]))


async def test_chotdon_topics_exist_with_configured_partitions(stack: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka)
    await admin.start()
    try:
        names = [getattr(stack.topics, f.name) for f in dataclasses.fields(stack.topics)]
        described = {t["topic"]: t for t in await admin.describe_topics(names)}
    finally:
        await admin.close()
    for name in names:
        assert described[name]["error_code"] == 0, name
    assert len(described[stack.topics.comments]["partitions"]) == stack.comment_partitions


async def test_kafka_settings_gives_each_test_its_own_topics(kafka_settings: Settings) -> None:
    assert kafka_settings.topics.comments.startswith("chotdon.comments.")
    assert kafka_settings.app_id != "chotdon"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_settings.kafka)
    await admin.start()
    try:
        [described] = await admin.describe_topics([kafka_settings.topics.comments])
    finally:
        await admin.close()
    assert len(described["partitions"]) == kafka_settings.comment_partitions


async def test_redis_round_trip(redis_client: redis.asyncio.Redis) -> None:
    await redis_client.set("chotdon:{test}:greeting", "xin chào")
    assert (await redis_client.get("chotdon:{test}:greeting")).decode() == "xin chào"

    library = """#!lua name=chotdon_stack_test
redis.register_function('chotdon_stack_test_incr', function(keys, args)
  return redis.call('INCRBY', keys[1], tonumber(args[1]))
end)
"""
    assert await redis_client.function_load(library, replace=True) == b"chotdon_stack_test"
    assert await redis_client.fcall("chotdon_stack_test_incr", 1, "chotdon:{test}:n", "5") == 5
    assert await redis_client.fcall("chotdon_stack_test_incr", 1, "chotdon:{test}:n", "2") == 7


@pytest.mark.parametrize("attempt", [1, 2])
async def test_redis_client_starts_with_an_empty_database(
    redis_client: redis.asyncio.Redis, attempt: int
) -> None:
    assert await redis_client.dbsize() == 0
    await redis_client.set(f"chotdon:{{test}}:left-behind-{attempt}", "x")


def test_up_is_idempotent(stack: Settings) -> None:
    before = stack_status(stack)
    again = stack_up(stack)
    assert again.running
    assert again.pids == before.pids
    assert {s.note for s in again.services} == {"already running"}


def test_status_reports_running(stack: Settings) -> None:
    status = stack_status(stack)
    assert status.running
    kafka, redis_status = status.kafka, status.redis
    assert kafka.address == stack.kafka
    assert redis_status.address == stack.redis
    for service in status.services:
        assert service.pid is not None and alive(service.pid)
        assert service.data_dir.is_dir()
        assert service.log_file.is_file()
        assert service.data_dir.is_relative_to(stack.stack_dir)
    assert "Kafka Server started" in kafka.log_file.read_text()
    assert "Ready to accept connections" in redis_status.log_file.read_text()


def test_cli_status(
    stack: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHOTDON_STACK_DIR", str(stack.stack_dir))
    monkeypatch.setenv("CHOTDON_KAFKA", stack.kafka)
    monkeypatch.setenv("CHOTDON_REDIS", stack.redis)
    assert main(["stack", "status"]) == 0
    out = capsys.readouterr().out
    pids = stack_status(stack).pids
    assert f"kafka  up   {stack.kafka}  pid {pids['kafka']}" in out
    assert f"redis  up   {stack.redis}  pid {pids['redis']}" in out


# --------------------------------------------------------------------------- throwaway stacks


def start_foreign_redis(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A redis-server that chotdon did not start, as another program on the machine would."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    client = redis.Redis(port=port, socket_timeout=1)

    def ready() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    wait_until(ready, "the foreign redis-server to answer PING")
    client.close()
    return process, port


def test_down_stops_exactly_what_it_started(throwaway: Settings, tmp_path: Path) -> None:
    foreign, _port = start_foreign_redis(tmp_path / "foreign")
    try:
        started = stack_up(throwaway)
        assert started.running
        kafka_pid, redis_pid = started.kafka.pid, started.redis.pid
        assert kafka_pid and redis_pid

        stopped = stack_down(throwaway)

        assert sorted(stopped) == sorted([f"kafka (pid {kafka_pid})", f"redis (pid {redis_pid})"])
        assert not alive(kafka_pid) and not alive(redis_pid)
        assert foreign.poll() is None, "down stopped a redis-server it did not start"
        assert not list(throwaway.stack_dir.glob("*/pid"))
        assert not stack_status(throwaway).running
        assert stack_down(throwaway) == []  # nothing left: a second down is a no-op

        # A pid file naming someone else's process (a reused pid, a copied folder) is not
        # obeyed: the process is not ours by its command line, so it is left alone.
        (throwaway.stack_dir / "redis" / "pid").write_text(f"{foreign.pid}\n")
        assert stack_status(throwaway).redis.note.startswith("stale pid file")
        assert stack_down(throwaway) == []
        assert foreign.poll() is None
    finally:
        foreign.terminate()
        foreign.wait(timeout=10)


def test_up_restarts_only_what_stopped_and_redis_keeps_its_data(throwaway: Settings) -> None:
    first = stack_up(throwaway)
    client = redis.Redis.from_url(throwaway.redis)
    client.set("chotdon:{test}:kept", "yes")
    client.close()
    assert first.redis.pid is not None
    os.kill(first.redis.pid, signal.SIGTERM)  # Redis stopped behind our back (cleanly)
    wait_until(lambda: not stack_status(throwaway).redis.running, "redis to stop")

    second = stack_up(throwaway)

    assert second.kafka.pid == first.kafka.pid
    assert second.kafka.note == "already running"
    assert second.redis.pid != first.redis.pid
    assert second.redis.note == "started"
    client = redis.Redis.from_url(throwaway.redis)
    assert client.get("chotdon:{test}:kept") == b"yes"  # appendonly: data survives restarts
    client.close()


@pytest.mark.parametrize("service", ["kafka", "controller", "redis"])
def test_port_in_use_by_a_foreign_process_is_a_clear_error(tmp_path: Path, service: str) -> None:
    settings = throwaway_settings(tmp_path / "stack")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        if service == "kafka":
            settings = dataclasses.replace(settings, kafka=f"127.0.0.1:{port}")
            expected = (
                f"port {port} is in use by another process (not started by chotdon); "
                "set CHOTDON_KAFKA=127.0.0.1:<port> to use another port"
            )
        elif service == "controller":
            settings = dataclasses.replace(settings, kafka_controller_port=port)
            expected = f"port {port} (Kafka's controller) is in use by another process"
        else:
            settings = dataclasses.replace(settings, redis=f"redis://127.0.0.1:{port}/0")
            expected = (
                f"port {port} is in use by another process (not started by chotdon); "
                "set CHOTDON_REDIS=redis://127.0.0.1:<port>/0 to use another port"
            )

        with pytest.raises(StackError) as raised:
            stack_up(settings)

        assert expected in str(raised.value)
        status = stack_status(settings)
        assert not status.kafka.running and not status.redis.running
        assert not list(settings.stack_dir.glob("*/pid")), "something was started anyway"
        if service != "controller":
            squatted = status.kafka if service == "kafka" else status.redis
            assert squatted.note == "port in use by another process (not started by chotdon)"


# --------------------------------------------------------------------------- user errors


def test_remote_addresses_are_refused_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("CHOTDON_STACK_DIR", str(tmp_path))
    monkeypatch.setenv("CHOTDON_KAFKA", "kafka.example.com:9092")
    assert main(["stack", "up"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chotdon: error: CHOTDON_KAFKA=kafka.example.com:9092 is not on this")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_settings_are_one_line_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHOTDON_KAFKA_CONTROLLER_PORT", "nine")
    assert main(["stack", "status"]) == 1
    err = capsys.readouterr().err
    assert err == "chotdon: error: CHOTDON_KAFKA_CONTROLLER_PORT='nine': expected a whole number\n"


def test_without_root_the_install_command_is_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(stack_installs.shutil, "which", lambda name: f"/usr/bin/{name}")
    with pytest.raises(StackError) as raised:
        stack_installs.apt_install(["redis-server"], "redis-server is not installed", None)
    assert str(raised.value) == (
        "redis-server is not installed; install it with: "
        "sudo sh -c 'apt-get update && apt-get install -y redis-server'"
    )
