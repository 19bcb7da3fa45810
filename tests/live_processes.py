"""The processes of the live-pipeline tests (tests/integration, tests/e2e): `chotdon worker`
subprocesses and other `chotdon` commands, with the per-test settings.

Only config.settings is imported here, so the conftest.py files that take the `live` and
`workers` fixtures from this module never break the collection of other tests; everything
that needs the product's own modules is in tests/live_support.py.

- `live`: the per-test Settings of `kafka_settings` (own topics and consumer group), pointed at
  database LIVE_REDIS_DB of the test Redis, with a stack dir in tmp_path and metrics off. A database
  of our own because tests/integration/test_store.py FLUSHDBs database 0, possibly from another
  pytest session sharing the stack; nothing here flushes anything. `ON_BOTH_STORES` runs a test
  on the session's Redis Cluster as well.
- `workers`: starts `chotdon worker` subprocesses (log files in tmp_path), always stops them, and
  prints the end of every log (pytest shows it when the test failed).
- `chotdon(...)`: runs any other subcommand as a user would, with the same settings.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from config.settings import Settings, Topics

ROOT = Path(__file__).resolve().parent.parent
CHOTDON = Path(sys.executable).with_name("chotdon")
DEMO_SHOP = ROOT / "config" / "shops" / "demo.toml"
LIVE_REDIS_DB = 7


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def redis_url_with_db(url: str, db: int) -> str:
    base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url.rstrip("/")
    return f"{base}/{db}"


def redis_test_url(stack: Settings) -> str:
    """The test Redis at database CHOTDON_TEST_REDIS_DB (default 0), the `redis_client`
    fixture's. In the URL: redis-py's from_url lets the URL's database win over `db=`."""
    return redis_url_with_db(stack.redis, int(os.environ.get("CHOTDON_TEST_REDIS_DB", "0")))


# --------------------------------------------------------------------------- settings, commands


def env_for(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a `chotdon` process using `settings` (no CHOTDON_* leaks in)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHOTDON_")}
    env.update(
        PYTHONUNBUFFERED="1",
        COLUMNS="200",
        CHOTDON_KAFKA=settings.kafka,
        CHOTDON_KAFKA_CONTROLLER_PORT=str(settings.kafka_controller_port),
        CHOTDON_REDIS=settings.redis,
        CHOTDON_APP_ID=settings.app_id,
        CHOTDON_STACK_DIR=str(settings.stack_dir),
        CHOTDON_CACHE_DIR=str(settings.cache_dir),
        CHOTDON_COMMENT_PARTITIONS=str(settings.comment_partitions),
        CHOTDON_METRICS_PORT=str(settings.metrics_port),
    )
    for field in dataclasses.fields(Topics):
        env[f"CHOTDON_TOPIC_{field.name.upper()}"] = getattr(settings.topics, field.name)
    env.update(extra)
    return env


def chotdon(
    settings: Settings,
    *args: str,
    stdin: bytes | None = None,
    timeout: float = 120.0,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run `chotdon ARGS…` as a user would; with `check`, a non-zero exit fails the test."""
    result = subprocess.run(
        [str(CHOTDON), *args],
        input=stdin,
        capture_output=True,
        env=env_for(settings),
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"`chotdon {' '.join(args)}` exited {result.returncode}\n"
            f"stdout: {result.stdout.decode(errors='replace')[-3000:]}\n"
            f"stderr: {result.stderr.decode(errors='replace')[-3000:]}"
        )
    return result


def start_replay(settings: Settings, path: Path, *args: str) -> subprocess.Popen[bytes]:
    """`chotdon replay PATH --quiet ARGS…` in the background."""
    return subprocess.Popen(
        [str(CHOTDON), "replay", str(path), "--quiet", *args],
        env=env_for(settings),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


# --------------------------------------------------------------------------- workers


class Worker:
    """One `chotdon worker` subprocess; stdout and stderr go to its log file."""

    def __init__(self, settings: Settings, log_path: Path, name: str, args: Sequence[str]) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [str(CHOTDON), "worker", "--metrics-port", "0", *args],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env_for(settings),
            cwd=ROOT,
        )
        self.expected_exit = False

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 40) -> str:
        text = "\n".join(self.log().splitlines()[-lines:])
        return (
            f"--- {self.name} (pid {self.pid}, exit {self.process.poll()}) {self.log_path}\n{text}"
        )

    def kill(self) -> None:
        """kill -9, as a crash would."""
        self.expected_exit = True
        if self.alive:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log.close()

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM (a graceful shutdown), SIGKILL after `timeout` seconds."""
        self.expected_exit = True
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._log.close()
        return self.process.returncode


WorkerFactory = Callable[..., Worker]


@pytest.fixture
def live(request: pytest.FixtureRequest, kafka_settings: Settings, tmp_path: Path) -> Settings:
    """Parametrized indirectly with "cluster" (`ON_BOTH_STORES`), the store is the session's
    Redis Cluster (tests/conftest.py `redis_cluster`) instead of the test Redis."""
    stack_dir = tmp_path / "stack"
    stack_dir.mkdir()
    if getattr(request, "param", "redis") == "cluster":
        redis = request.getfixturevalue("redis_cluster").url
    else:
        redis = redis_url_with_db(kafka_settings.redis, LIVE_REDIS_DB)
    return dataclasses.replace(kafka_settings, redis=redis, stack_dir=stack_dir, metrics_port=0)


# A live-pipeline test with this mark runs twice: on the test Redis and on a Redis Cluster.
ON_BOTH_STORES = pytest.mark.parametrize("live", ["redis", "cluster"], indirect=True)


@pytest.fixture
def workers(live: Settings, tmp_path: Path) -> Iterator[WorkerFactory]:
    """`workers(settings=live, args=())` starts a worker; all are stopped after the test, and
    the end of each log is printed (pytest shows it when the test failed)."""
    started: list[Worker] = []

    def start(settings: Settings | None = None, args: Sequence[str] = ()) -> Worker:
        number = len(started) + 1
        chosen = settings or live
        # Each worker its own stack dir: faust keeps its data dir there.
        stack_dir = tmp_path / f"worker{number}"
        stack_dir.mkdir(exist_ok=True)
        chosen = dataclasses.replace(chosen, stack_dir=stack_dir)
        worker = Worker(chosen, tmp_path / f"worker{number}.log", f"worker{number}", args)
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.stop(timeout=20)
        for worker in started:
            print(worker.tail(60))
