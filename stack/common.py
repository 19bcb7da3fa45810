"""What every part of the local stack shares: its errors, statuses, file layout, progress
lines, and running a coroutine from the synchronous stack commands."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from rich.console import Console

from config.settings import Settings

POLL = 0.2
T = TypeVar("T")


class StackError(Exception):
    """A problem with the local stack, worded for the user (printed as is by the CLI)."""


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    name: str
    running: bool
    pid: int | None
    address: str
    data_dir: Path
    log_file: Path
    note: str = ""


@dataclass(frozen=True, slots=True)
class StackStatus:
    kafka: ServiceStatus
    redis: ServiceStatus

    @property
    def services(self) -> tuple[ServiceStatus, ServiceStatus]:
        return (self.kafka, self.redis)

    @property
    def running(self) -> bool:
        return all(s.running for s in self.services)

    @property
    def pids(self) -> dict[str, int | None]:
        return {s.name: s.pid for s in self.services}


@dataclass(frozen=True, slots=True)
class Layout:
    """Absolute paths of everything the stack writes."""

    root: Path
    kafka_dir: Path
    kafka_data: Path
    kafka_config: Path
    kafka_log: Path
    kafka_stdout: Path
    kafka_pid: Path
    redis_dir: Path
    redis_config: Path
    redis_log: Path
    redis_pid: Path
    lock: Path

    @classmethod
    def of(cls, settings: Settings) -> Layout:
        root = settings.stack_dir.expanduser().resolve()
        kafka = root / "kafka"
        redis = root / "redis"
        return cls(
            root=root,
            kafka_dir=kafka,
            kafka_data=kafka / "data",
            kafka_config=kafka / "server.properties",
            kafka_log=kafka / "kafka.log",
            kafka_stdout=kafka / "stdout.log",
            kafka_pid=kafka / "pid",
            redis_dir=redis,
            redis_config=redis / "redis.conf",
            redis_log=redis / "redis.log",
            redis_pid=redis / "pid",
            lock=root / ".lock",
        )


def read_resource(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StackError(
            f"{path} is missing: chotdon's stack commands run from a checkout of the project"
        ) from None


def say(console: Console | None, message: str) -> None:
    if console is not None:
        console.print(message, highlight=False)


@contextlib.contextmanager
def step(console: Console | None, message: str) -> Iterator[None]:
    """A spinner on a terminal, a plain line elsewhere (CI logs), and the time it took."""
    if console is None:
        yield
        return
    started = time.monotonic()
    if console.is_terminal:
        with console.status(message + " …"):
            yield
    else:
        console.print(message + " …", highlight=False)
        yield
    console.print(f"[green]✓[/green] {message} ({time.monotonic() - started:.1f} s)")


def last_lines(text: str, n: int) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-n:]) or "no output"


def run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, even when a loop is already running."""

    async def main() -> T:
        return await factory()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()
