"""The local stack: one Kafka broker (KRaft, from Maven Central) and one Redis server.

`chotdon stack up|down|status|prepare` is a thin layer over the functions here:

- `stack_prepare(settings)` installs what the stack needs without starting anything: Kafka's
  jars (resolved once with Maven into `settings.cache_dir`) and Debian's `redis-server`.
- `stack_up(settings)` starts whatever of the two is not already running, waits until Kafka
  answers a real produce/consume round trip and Redis answers PING, creates chotdon's topics,
  and returns a `StackStatus`. Running it twice is harmless.
- `stack_down(settings)` stops only the processes this module started (recorded in pid files in
  the stack dir and recognised by their command lines), never anything else.
- `stack_status(settings)` says what runs where.

Everything (data, logs, rendered configs, pid files) lives under `settings.stack_dir`:

    <stack_dir>/kafka/{data/, server.properties, kafka.log, stdout.log, pid}
    <stack_dir>/redis/{redis.conf, redis.log, appendonlydir/, pid}

Failures the user can fix raise `StackError`, whose message is meant to be shown as is.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import os
import re
import shutil
import signal
import socket
import string
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, TypeVar
from urllib.parse import urlsplit

from rich.console import Console

from config.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
KAFKA_DEPLOY_DIR = REPO_ROOT / "deploy" / "kafka"
KAFKA_POM = KAFKA_DEPLOY_DIR / "pom.xml"
KAFKA_LOG4J = KAFKA_DEPLOY_DIR / "log4j2.properties"
KAFKA_SERVER_TEMPLATE = KAFKA_DEPLOY_DIR / "server.properties.template"

HEALTHCHECK_TOPIC = "chotdon.healthcheck"
DEFAULT_TOPIC_PARTITIONS = 4
KAFKA_START_TIMEOUT = 120.0
REDIS_START_TIMEOUT = 30.0
KAFKA_STOP_TIMEOUT = 30.0
REDIS_STOP_TIMEOUT = 15.0
_POLL = 0.2
_TOPIC_ALREADY_EXISTS = 36
_LOCAL_HOSTS = {"localhost", "::1", "0.0.0.0"}

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


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True, slots=True)
class _Layout:
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
    def of(cls, settings: Settings) -> _Layout:
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


def kafka_version() -> str:
    """The Kafka version pinned in deploy/kafka/pom.xml (the single source of truth)."""
    match = re.search(r"<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>", _read(KAFKA_POM))
    if not match:
        raise StackError(f"{KAFKA_POM} has no <kafka.version> property")
    return match.group(1)


def kafka_lib_dir(settings: Settings) -> Path:
    return settings.cache_dir.expanduser().resolve() / f"kafka-{kafka_version()}" / "lib"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StackError(
            f"{path} is missing: chotdon's stack commands run from a checkout of the project"
        ) from None


# --------------------------------------------------------------------------- progress


def _say(console: Console | None, message: str) -> None:
    if console is not None:
        console.print(message, highlight=False)


@contextlib.contextmanager
def _step(console: Console | None, message: str) -> Iterator[None]:
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


# --------------------------------------------------------------------------- processes

# Children started by this Python process, so that they can be reaped when they exit (a zombie
# would otherwise look alive) and so that Popen does not warn about them being still alive.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _cmdline(pid: int) -> str:
    if Path("/proc/self/cmdline").exists():
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return ""
        return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()
    result = subprocess.run(
        ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    return result.stdout.strip()


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        del _CHILDREN[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat[stat.rfind(")") + 2 :].startswith("Z"):
            return False
    return True


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def _our_pid(pid_file: Path, marker: str) -> int | None:
    """The pid in `pid_file` if that process is alive and is the one we started."""
    pid = _read_pid(pid_file)
    if pid is None or not _alive(pid):
        return None
    return pid if marker in _cmdline(pid) else None


def _spawn(
    argv: list[str], *, cwd: Path, log_file: Path, pid_file: Path, append: bool = True
) -> int:
    """Start a detached child (own session, output to `log_file`) and record its pid."""
    with log_file.open("ab" if append else "wb") as out:
        child = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    _CHILDREN[child.pid] = child
    pid_file.write_text(f"{child.pid}\n")
    return child.pid


def _stop(pids: dict[str, int], timeouts: dict[str, float]) -> None:
    """SIGTERM every pid, wait for each within its timeout, SIGKILL what is left."""
    for pid in pids.values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    started = time.monotonic()
    pending = dict(pids)
    while pending:
        for name, pid in list(pending.items()):
            if not _alive(pid):
                del pending[name]
            elif time.monotonic() - started > timeouts[name]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                if time.monotonic() - started > timeouts[name] + 10:
                    raise StackError(f"{name} (pid {pid}) did not stop, even after SIGKILL")
        if pending:
            time.sleep(0.05)


@contextlib.contextmanager
def _locked(layout: _Layout) -> Iterator[None]:
    """One `up` or `down` at a time per stack dir."""
    layout.root.mkdir(parents=True, exist_ok=True)
    with layout.lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- ports


def _is_local(host: str) -> bool:
    return host in _LOCAL_HOSTS or host.startswith("127.")


def _port_in_use(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return True
            raise StackError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return False


def _can_connect(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _kafka_endpoints(settings: Settings) -> tuple[str, int, int]:
    host, port = settings.kafka_host_port
    if not _is_local(host):
        raise StackError(
            f"CHOTDON_KAFKA={settings.kafka} is not on this machine; `chotdon stack` runs a "
            "local broker only (unset CHOTDON_KAFKA or point it at 127.0.0.1:<port>)"
        )
    return host, port, settings.kafka_controller_port


def _redis_endpoint(settings: Settings) -> tuple[str, int]:
    host, port = settings.redis_host_port
    if not _is_local(host):
        raise StackError(
            f"CHOTDON_REDIS={settings.redis} is not on this machine; `chotdon stack` runs a "
            "local Redis only (unset CHOTDON_REDIS or point it at redis://127.0.0.1:<port>/0)"
        )
    return host, port


def _check_ports_free(settings: Settings, *, kafka: bool, redis: bool) -> None:
    """Refuse to start when a port we need belongs to a process we did not start."""
    if kafka:
        host, port, controller = _kafka_endpoints(settings)
        if _port_in_use(host, port):
            raise StackError(
                f"port {port} is in use by another process (not started by chotdon); "
                f"set CHOTDON_KAFKA={host}:<port> to use another port"
            )
        if _port_in_use(host, controller):
            raise StackError(
                f"port {controller} (Kafka's controller) is in use by another process "
                "(not started by chotdon); set CHOTDON_KAFKA_CONTROLLER_PORT=<port> "
                "to use another port"
            )
    if redis:
        host, port = _redis_endpoint(settings)
        if _port_in_use(host, port):
            raise StackError(
                f"port {port} is in use by another process (not started by chotdon); "
                f"set CHOTDON_REDIS=redis://{host}:<port>/0 to use another port"
            )


# --------------------------------------------------------------------------- installs

_apt_updated = False


def _apt_install(packages: list[str], why: str, console: Console | None) -> None:
    """`apt-get install -y` as root (after one `apt-get update`), else say what to run."""
    global _apt_updated
    command = f"apt-get update && apt-get install -y {' '.join(packages)}"
    if shutil.which("apt-get") is None:
        raise StackError(f"{why}; install {' '.join(packages)} with your package manager")
    if os.geteuid() != 0:
        raise StackError(f"{why}; install it with: sudo sh -c '{command}'")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Never let the package start its own service (it would take the default port): Debian's
    # policy-rc.d convention, as container images do. Only added if the machine has none.
    policy = Path("/usr/sbin/policy-rc.d")
    added_policy = False
    if not policy.exists():
        with contextlib.suppress(OSError):
            policy.write_text("#!/bin/sh\n# added by chotdon stack while installing\nexit 101\n")
            policy.chmod(0o755)
            added_policy = True
    try:
        with _step(console, f"installing {' '.join(packages)} with apt-get (first run only)"):
            steps = [["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]]
            if not _apt_updated:
                steps.insert(0, ["apt-get", "update", "-q"])
            for argv in steps:
                result = subprocess.run(
                    argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
                )
                if result.returncode != 0:
                    tail = _last_lines(result.stderr or result.stdout, 3)
                    raise StackError(f"`{' '.join(argv)}` failed ({tail}); run: {command}")
                if argv[1] == "update":
                    _apt_updated = True
    finally:
        if added_policy:
            policy.unlink(missing_ok=True)


def _last_lines(text: str, n: int) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-n:]) or "no output"


def _redis_server_binary(console: Console | None) -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        _apt_install(["redis-server"], "redis-server is not installed", console)
        found = shutil.which("redis-server") or "/usr/bin/redis-server"
    version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
    match = re.search(r"v=(\d+)\.", version)
    if match and int(match.group(1)) < 7:
        raise StackError(f"{found} is {version.split()[2]}; chotdon needs Redis 7 or newer")
    return found


def _java_binary(console: Console | None) -> str:
    java = shutil.which("java")
    if java is None:
        _apt_install(["openjdk-17-jre-headless"], "Java 17+ is needed for Kafka", console)
        java = shutil.which("java") or "java"
    result = subprocess.run([java, "-version"], capture_output=True, text=True)
    match = re.search(r'version "(\d+)', result.stderr + result.stdout)
    if match and int(match.group(1)) < 17:
        raise StackError(f"Kafka 4 needs Java 17 or newer; `{java}` is Java {match.group(1)}")
    return java


def ensure_kafka_jars(settings: Settings, console: Console | None = None) -> Path:
    """Resolve Kafka's runtime classpath from Maven Central into the cache (first run only)."""
    lib = kafka_lib_dir(settings)
    stamp = lib.parent / "pom.sha256"
    pom_hash = hashlib.sha256(_read(KAFKA_POM).encode()).hexdigest()
    if lib.is_dir() and stamp.exists() and stamp.read_text().strip() == pom_hash:
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        _apt_install(["maven"], "Maven (mvn) is needed to fetch Kafka's jars", console)
        mvn = shutil.which("mvn") or "mvn"
    lib.parent.mkdir(parents=True, exist_ok=True)
    staging = lib.parent / "lib.partial"
    shutil.rmtree(staging, ignore_errors=True)
    argv = [
        mvn,
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        str(KAFKA_POM),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging}",
    ]
    with _step(console, "resolving Kafka jars from Maven Central (first run only)"):
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if result.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
        log = lib.parent / "mvn.log"
        log.write_text(result.stdout + result.stderr)
        raise StackError(
            f"Maven could not resolve Kafka {kafka_version()} ({_last_lines(result.stdout, 1)}); "
            f"see {log}, or run: {' '.join(argv)}"
        )
    shutil.rmtree(lib, ignore_errors=True)
    staging.rename(lib)
    stamp.write_text(pom_hash + "\n")
    return lib


def stack_prepare(settings: Settings, console: Console | None = None) -> None:
    """Install everything `stack_up` needs (jars, redis-server, Java) without starting it."""
    _java_binary(console)
    ensure_kafka_jars(settings, console)
    _redis_server_binary(console)


# --------------------------------------------------------------------------- rendering


def render_kafka_config(settings: Settings) -> str:
    host, port, controller = _kafka_endpoints(settings)
    template = string.Template(_read(KAFKA_SERVER_TEMPLATE))
    return template.substitute(
        host=host,
        port=port,
        controller_host=host,
        controller_port=controller,
        data_dir=_Layout.of(settings).kafka_data,
    )


def render_redis_config(settings: Settings) -> str:
    host, port = _redis_endpoint(settings)
    layout = _Layout.of(settings)
    password = urlsplit(settings.redis).password
    lines = [
        "# Written by `chotdon stack up` from the settings; rewritten on every start.",
        f"bind {host}",
        f"port {port}",
        "protected-mode yes",
        "daemonize no",
        f'dir "{layout.redis_dir}"',
        f'pidfile "{layout.redis_pid}"',
        # Logs go to stdout, which `stack up` sends to redis.log.
        'logfile ""',
        "loglevel notice",
        # Durability is the append-only file (fsync every second); no RDB snapshots on top.
        "appendonly yes",
        "appendfsync everysec",
        'save ""',
        # The config path in the process title is how `stack down` recognises its own server.
        'proc-title-template "{title} {listen-addr} {server-mode} {config-file}"',
    ]
    if password:
        lines.append(f'requirepass "{password}"')
    return "\n".join(lines) + "\n"


def _write_config(path: Path, text: str, *, running: bool, service: str) -> None:
    if running and path.exists() and path.read_text() != text:
        raise StackError(
            f"the running {service} was started with other settings than the current ones "
            f"({path}); run `chotdon stack down` first"
        )
    path.write_text(text)


# --------------------------------------------------------------------------- readiness


def _run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, even when a loop is already running."""

    async def main() -> T:
        return await factory()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


async def kafka_round_trip(bootstrap: str, *, request_timeout: float = 10.0) -> None:
    """Create the healthcheck topic if missing, produce one message and consume it back.
    Each request (and the wait for the message) is bounded by `request_timeout` seconds."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    request_ms = int(request_timeout * 1000)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=request_ms)
    await admin.start()
    try:
        if HEALTHCHECK_TOPIC not in await admin.list_topics():
            response = await admin.create_topics([NewTopic(HEALTHCHECK_TOPIC, 1, 1)])
            for _topic, code, *rest in response.topic_errors:
                if code not in (0, _TOPIC_ALREADY_EXISTS):
                    raise RuntimeError(f"create {HEALTHCHECK_TOPIC}: error {code} {rest}")
    finally:
        await admin.close()
    payload = uuid.uuid4().hex.encode()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=request_ms)
    await producer.start()
    try:
        sent = await producer.send_and_wait(HEALTHCHECK_TOPIC, payload)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=request_ms
    )
    await consumer.start()
    try:
        partition = TopicPartition(HEALTHCHECK_TOPIC, sent.partition)
        consumer.assign([partition])
        consumer.seek(partition, sent.offset)
        record = await asyncio.wait_for(consumer.getone(), request_timeout)
        if record.value != payload:
            raise RuntimeError(f"read back {record.value!r} instead of {payload!r}")
    finally:
        await consumer.stop()


def _topic_partitions(settings: Settings) -> dict[str, int]:
    topics = settings.topics
    wanted = {name: DEFAULT_TOPIC_PARTITIONS for name in _topic_names(settings)}
    wanted[topics.comments] = settings.comment_partitions
    return wanted


def _topic_names(settings: Settings) -> list[str]:
    return [getattr(settings.topics, f.name) for f in fields(settings.topics)]


async def ensure_topics(settings: Settings, *, request_timeout: float = 30.0) -> list[str]:
    """Create chotdon's topics (settings.topics) that do not exist yet, wait until every one
    has a leader for each partition (so producing right away works), return the new ones."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    wanted = _topic_partitions(settings)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka, request_timeout_ms=int(request_timeout * 1000)
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = {t: n for t, n in wanted.items() if t not in existing}
        created = []
        if missing:
            response = await admin.create_topics(
                [NewTopic(topic, partitions, 1) for topic, partitions in missing.items()]
            )
            for topic, code, *rest in response.topic_errors:
                if code == 0:
                    created.append(topic)
                elif code != _TOPIC_ALREADY_EXISTS:
                    raise StackError(f"could not create topic {topic}: Kafka error {code} {rest}")
        deadline = time.monotonic() + request_timeout
        while missing and not _all_led(await admin.describe_topics(list(missing))):
            if time.monotonic() > deadline:
                raise StackError(
                    f"topics {', '.join(sorted(missing))} were created but have no partition "
                    f"leaders after {request_timeout:.0f} s"
                )
            await asyncio.sleep(0.05)
        return sorted(created)
    finally:
        await admin.close()


def _all_led(described: list[dict[str, object]]) -> bool:
    for topic in described:
        partitions = topic.get("partitions")
        if topic.get("error_code") != 0 or not isinstance(partitions, list) or not partitions:
            return False
        if any(not isinstance(p, dict) or int(p.get("leader", -1)) < 0 for p in partitions):
            return False
    return True


def _broker_log_hint(layout: _Layout, log_offset: int = 0) -> str:
    """What the broker said when it failed: the JVM's own words (stdout.log, rewritten at
    each start) or else the last ERROR line written to kafka.log since this start."""
    with contextlib.suppress(OSError):
        jvm = [
            line.strip() for line in layout.kafka_stdout.read_text(errors="replace").splitlines()
        ]
        jvm = [line for line in jvm if line]
        if jvm:
            return f" It said: {' | '.join(jvm[:2])[:300]}"
    with contextlib.suppress(OSError), layout.kafka_log.open("rb") as log:
        log.seek(log_offset)
        errors = [
            line.strip()
            for line in log.read().decode(errors="replace").splitlines()
            if " ERROR " in line or " FATAL " in line
        ]
        if errors:
            return f" Last error: {errors[-1][:300]}"
    return ""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _wait_kafka(settings: Settings, layout: _Layout, pid: int, log_offset: int = 0) -> None:
    host, port, _ = _kafka_endpoints(settings)
    bootstrap = f"{host}:{port}"
    deadline = time.monotonic() + KAFKA_START_TIMEOUT
    last_error = "no answer"

    def died() -> StackError:
        return StackError(
            f"Kafka exited while starting; see {layout.kafka_log} "
            f"(and {layout.kafka_stdout}).{_broker_log_hint(layout, log_offset)}"
        )

    while not _can_connect(host, port, timeout=_POLL):
        if not _alive(pid):
            raise died()
        if time.monotonic() > deadline:
            raise StackError(
                f"Kafka did not open {bootstrap} within {KAFKA_START_TIMEOUT:.0f} s; "
                f"see {layout.kafka_log}.{_broker_log_hint(layout, log_offset)}"
            )
        time.sleep(_POLL)
    while True:
        each = max(1.0, min(10.0, deadline - time.monotonic()))
        try:
            _run_sync(lambda: kafka_round_trip(bootstrap, request_timeout=each))  # noqa: B023
            return
        except Exception as error:  # any failure of the round trip is retried until the deadline
            last_error = f"{type(error).__name__}: {error}"
        if not _alive(pid):
            raise died()
        if time.monotonic() > deadline:
            raise StackError(
                f"Kafka at {bootstrap} did not complete a produce/consume round trip within "
                f"{KAFKA_START_TIMEOUT:.0f} s ({last_error}); see {layout.kafka_log}"
            )
        time.sleep(_POLL)


def _redis_ping(host: str, port: int, password: str | None, timeout: float = 1.0) -> str:
    """One PING over RESP; returns the server's reply line ('+PONG' when ready)."""

    def bulk(*parts: str) -> bytes:
        out = f"*{len(parts)}\r\n".encode()
        for part in parts:
            data = part.encode()
            out += b"$%d\r\n%s\r\n" % (len(data), data)
        return out

    with socket.create_connection((host, port), timeout=timeout) as conn:
        reader: IO[bytes] = conn.makefile("rb")
        if password:
            conn.sendall(bulk("AUTH", password))
            reader.readline()
        conn.sendall(bulk("PING"))
        return reader.readline().decode(errors="replace").strip()


def _wait_redis(settings: Settings, layout: _Layout, pid: int) -> None:
    host, port = _redis_endpoint(settings)
    password = urlsplit(settings.redis).password
    deadline = time.monotonic() + REDIS_START_TIMEOUT
    reply = "no answer"
    while True:
        with contextlib.suppress(OSError):
            reply = _redis_ping(host, port, password)
            if reply == "+PONG":
                return
        if not _alive(pid):
            tail = _last_lines(layout.redis_log.read_text(errors="replace"), 1)
            raise StackError(f"Redis exited while starting ({tail}); see {layout.redis_log}")
        if time.monotonic() > deadline:
            raise StackError(
                f"Redis did not answer PING within {REDIS_START_TIMEOUT:.0f} s ({reply}); "
                f"see {layout.redis_log}"
            )
        time.sleep(_POLL)


# --------------------------------------------------------------------------- up / down / status


def _kafka_marker(layout: _Layout) -> str:
    return str(layout.kafka_config)


def _redis_marker(layout: _Layout) -> str:
    return str(layout.redis_config)


def _start_kafka(
    settings: Settings, layout: _Layout, java: str, lib: Path, console: Console | None
) -> int:
    classpath = f"{lib}/*"
    jvm_logging = [
        f"-Dlog4j2.configurationFile={KAFKA_LOG4J}",
        f"-Dkafka.logs.dir={layout.kafka_dir}",
    ]
    layout.kafka_data.mkdir(parents=True, exist_ok=True)
    if not (layout.kafka_data / "meta.properties").exists():
        with _step(console, f"formatting Kafka storage in {layout.kafka_data}"):
            tool = [java, *jvm_logging, "-cp", classpath, "kafka.tools.StorageTool"]
            cluster_id = _checked([*tool, "random-uuid"], "kafka-storage random-uuid").strip()
            _checked(
                [
                    *tool,
                    "format",
                    "--standalone",
                    "--ignore-formatted",
                    "-t",
                    cluster_id.splitlines()[-1],
                    "-c",
                    str(layout.kafka_config),
                ],
                "kafka-storage format",
            )
    argv = [
        java,
        f"-Xmx{settings.kafka_heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        *jvm_logging,
        "-cp",
        classpath,
        "kafka.Kafka",
        str(layout.kafka_config),
    ]
    return _spawn(
        argv,
        cwd=layout.kafka_dir,
        log_file=layout.kafka_stdout,
        pid_file=layout.kafka_pid,
        append=False,
    )


def _checked(argv: list[str], what: str) -> str:
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError(f"{what} failed: {_last_lines(result.stderr + result.stdout, 2)}")
    return result.stdout


def stack_up(settings: Settings, console: Console | None = None) -> StackStatus:
    """Start Kafka and Redis (whatever is not running yet), wait until both answer, create
    chotdon's topics. Idempotent: a second call finds the running processes and returns them."""
    layout = _Layout.of(settings)
    _kafka_endpoints(settings)  # refuse remote addresses before installing anything
    _redis_endpoint(settings)
    # Everything that installs or downloads comes before anything is started.
    redis_server = _redis_server_binary(console)
    java = _java_binary(console)
    kafka_lib = ensure_kafka_jars(settings, console)
    with _locked(layout):
        layout.kafka_dir.mkdir(parents=True, exist_ok=True)
        layout.redis_dir.mkdir(parents=True, exist_ok=True)
        kafka_pid = _our_pid(layout.kafka_pid, _kafka_marker(layout))
        redis_pid = _our_pid(layout.redis_pid, _redis_marker(layout))
        _check_ports_free(settings, kafka=kafka_pid is None, redis=redis_pid is None)
        _write_config(
            layout.kafka_config,
            render_kafka_config(settings),
            running=kafka_pid is not None,
            service="Kafka",
        )
        _write_config(
            layout.redis_config,
            render_redis_config(settings),
            running=redis_pid is not None,
            service="Redis",
        )
        notes: dict[str, str] = {"kafka": "already running", "redis": "already running"}
        if redis_pid is None:
            layout.redis_pid.unlink(missing_ok=True)
            redis_pid = _spawn(
                [redis_server, str(layout.redis_config)],
                cwd=layout.redis_dir,
                log_file=layout.redis_log,
                pid_file=layout.redis_pid,
            )
            notes["redis"] = "started"
        kafka_log_offset = _size(layout.kafka_log)
        if kafka_pid is None:
            layout.kafka_pid.unlink(missing_ok=True)
            kafka_pid = _start_kafka(settings, layout, java, kafka_lib, console)
            notes["kafka"] = "started"
        with _step(console, f"waiting for Redis at {settings.redis}"):
            _wait_redis(settings, layout, redis_pid)
        with _step(console, f"waiting for Kafka at {settings.kafka} (produce/consume round trip)"):
            _wait_kafka(settings, layout, kafka_pid, kafka_log_offset)
        created = _run_sync(lambda: ensure_topics(settings))
        if created:
            _say(console, f"created topics: {', '.join(created)}")
        status = stack_status(settings)
        return StackStatus(
            kafka=_with_note(status.kafka, notes["kafka"]),
            redis=_with_note(status.redis, notes["redis"]),
        )


def _with_note(service: ServiceStatus, note: str) -> ServiceStatus:
    return ServiceStatus(
        name=service.name,
        running=service.running,
        pid=service.pid,
        address=service.address,
        data_dir=service.data_dir,
        log_file=service.log_file,
        note=note if service.running else service.note,
    )


def stack_down(settings: Settings, console: Console | None = None) -> list[str]:
    """Stop the Kafka and Redis that `stack_up` started from this stack dir, and nothing else.
    Returns one line per stopped service, e.g. ['kafka (pid 1234)']."""
    layout = _Layout.of(settings)
    if not layout.root.exists():
        return []
    with _locked(layout):
        targets = {
            "kafka": (layout.kafka_pid, _our_pid(layout.kafka_pid, _kafka_marker(layout))),
            "redis": (layout.redis_pid, _our_pid(layout.redis_pid, _redis_marker(layout))),
        }
        running = {name: pid for name, (_f, pid) in targets.items() if pid is not None}
        if running:
            with _step(console, "stopping " + ", ".join(sorted(running))):
                _stop(running, {"kafka": KAFKA_STOP_TIMEOUT, "redis": REDIS_STOP_TIMEOUT})
        for pid_file, _pid in targets.values():
            pid_file.unlink(missing_ok=True)
        return [f"{name} (pid {pid})" for name, pid in running.items()]


def stack_purge(settings: Settings, console: Console | None = None) -> list[str]:
    """`stack_down`, then delete the stack's data and logs (the Kafka and Redis folders)."""
    stopped = stack_down(settings, console)
    layout = _Layout.of(settings)
    for folder in (layout.kafka_dir, layout.redis_dir):
        shutil.rmtree(folder, ignore_errors=True)
    return stopped


def stack_status(settings: Settings) -> StackStatus:
    """What runs where; never changes anything."""
    layout = _Layout.of(settings)

    def service(
        name: str, pid_file: Path, marker: str, address: str, endpoint: tuple[str, int], data: Path
    ) -> ServiceStatus:
        pid = _our_pid(pid_file, marker)
        note = ""
        if pid is None:
            recorded = _read_pid(pid_file)
            if recorded is not None:
                note = f"stale pid file (process {recorded} is gone or not ours)"
            elif _is_local(endpoint[0]) and _can_connect(*endpoint):
                note = "port in use by another process (not started by chotdon)"
        elif not _can_connect(*endpoint):
            note = "process alive, not listening yet"
        log = layout.kafka_log if name == "kafka" else layout.redis_log
        return ServiceStatus(name, pid is not None, pid, address, data, log, note)

    kafka_host, kafka_port = settings.kafka_host_port
    return StackStatus(
        kafka=service(
            "kafka",
            layout.kafka_pid,
            _kafka_marker(layout),
            f"{kafka_host}:{kafka_port}",
            (kafka_host, kafka_port),
            layout.kafka_data,
        ),
        redis=service(
            "redis",
            layout.redis_pid,
            _redis_marker(layout),
            _masked(settings.redis),
            settings.redis_host_port,
            layout.redis_dir,
        ),
    )


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (for tests and throwaway stacks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


__all__ = [
    "HEALTHCHECK_TOPIC",
    "ServiceStatus",
    "StackError",
    "StackStatus",
    "ensure_kafka_jars",
    "ensure_topics",
    "free_port",
    "kafka_round_trip",
    "kafka_version",
    "stack_down",
    "stack_prepare",
    "stack_purge",
    "stack_status",
    "stack_up",
]
