"""The Kafka broker of the local stack: its jars from Maven Central (stack/kafka/pom.xml pins the
version), its KRaft configuration, its readiness (a real produce/consume round trip) and
chotdon's topics."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import shutil
import string
import subprocess
import time
import uuid
from dataclasses import fields
from pathlib import Path

from rich.console import Console

from config.settings import Settings
from stack.common import POLL, Layout, StackError, last_lines, read_resource, run_sync, step
from stack.installs import apt_install
from stack.processes import alive, can_connect, checked, is_local, spawn

KAFKA_DEPLOY_DIR = Path(__file__).resolve().parent / "kafka"
KAFKA_POM = KAFKA_DEPLOY_DIR / "pom.xml"
KAFKA_LOG4J = KAFKA_DEPLOY_DIR / "log4j2.properties"
KAFKA_SERVER_TEMPLATE = KAFKA_DEPLOY_DIR / "server.properties.template"
HEALTHCHECK_TOPIC = "chotdon.healthcheck"
DEFAULT_TOPIC_PARTITIONS = 4
KAFKA_START_TIMEOUT = 120.0
KAFKA_STOP_TIMEOUT = 30.0
_TOPIC_ALREADY_EXISTS = 36


def kafka_version() -> str:
    """The Kafka version pinned in stack/kafka/pom.xml (the single source of truth)."""
    match = re.search(r"<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>", read_resource(KAFKA_POM))
    if not match:
        raise StackError(f"{KAFKA_POM} has no <kafka.version> property")
    return match.group(1)


def kafka_lib_dir(settings: Settings) -> Path:
    return settings.cache_dir.expanduser().resolve() / f"kafka-{kafka_version()}" / "lib"


def ensure_kafka_jars(settings: Settings, console: Console | None = None) -> Path:
    """Resolve Kafka's runtime classpath from Maven Central into the cache (first run only)."""
    lib = kafka_lib_dir(settings)
    stamp = lib.parent / "pom.sha256"
    pom_hash = hashlib.sha256(read_resource(KAFKA_POM).encode()).hexdigest()
    if lib.is_dir() and stamp.exists() and stamp.read_text().strip() == pom_hash:
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        apt_install(["maven"], "Maven (mvn) is needed to fetch Kafka's jars", console)
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
    with step(console, "resolving Kafka jars from Maven Central (first run only)"):
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if result.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
        log = lib.parent / "mvn.log"
        log.write_text(result.stdout + result.stderr)
        raise StackError(
            f"Maven could not resolve Kafka {kafka_version()} ({last_lines(result.stdout, 1)}); "
            f"see {log}, or run: {' '.join(argv)}"
        )
    shutil.rmtree(lib, ignore_errors=True)
    staging.rename(lib)
    stamp.write_text(pom_hash + "\n")
    return lib


def kafka_endpoints(settings: Settings) -> tuple[str, int, int]:
    host, port = settings.kafka_host_port
    if not is_local(host):
        raise StackError(
            f"CHOTDON_KAFKA={settings.kafka} is not on this machine; `chotdon stack` runs a "
            "local broker only (unset CHOTDON_KAFKA or point it at 127.0.0.1:<port>)"
        )
    return host, port, settings.kafka_controller_port


def render_kafka_config(settings: Settings) -> str:
    host, port, controller = kafka_endpoints(settings)
    template = string.Template(read_resource(KAFKA_SERVER_TEMPLATE))
    return template.substitute(
        host=host,
        port=port,
        controller_host=host,
        controller_port=controller,
        data_dir=Layout.of(settings).kafka_data,
    )


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


def _broker_log_hint(layout: Layout, log_offset: int = 0) -> str:
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


def wait_kafka(settings: Settings, layout: Layout, pid: int, log_offset: int = 0) -> None:
    host, port, _ = kafka_endpoints(settings)
    bootstrap = f"{host}:{port}"
    deadline = time.monotonic() + KAFKA_START_TIMEOUT
    last_error = "no answer"

    def died() -> StackError:
        return StackError(
            f"Kafka exited while starting; see {layout.kafka_log} "
            f"(and {layout.kafka_stdout}).{_broker_log_hint(layout, log_offset)}"
        )

    while not can_connect(host, port, timeout=POLL):
        if not alive(pid):
            raise died()
        if time.monotonic() > deadline:
            raise StackError(
                f"Kafka did not open {bootstrap} within {KAFKA_START_TIMEOUT:.0f} s; "
                f"see {layout.kafka_log}.{_broker_log_hint(layout, log_offset)}"
            )
        time.sleep(POLL)
    while True:
        each = max(1.0, min(10.0, deadline - time.monotonic()))
        try:
            run_sync(lambda: kafka_round_trip(bootstrap, request_timeout=each))  # noqa: B023
            return
        except Exception as error:  # any failure of the round trip is retried until the deadline
            last_error = f"{type(error).__name__}: {error}"
        if not alive(pid):
            raise died()
        if time.monotonic() > deadline:
            raise StackError(
                f"Kafka at {bootstrap} did not complete a produce/consume round trip within "
                f"{KAFKA_START_TIMEOUT:.0f} s ({last_error}); see {layout.kafka_log}"
            )
        time.sleep(POLL)


def kafka_marker(layout: Layout) -> str:
    return str(layout.kafka_config)


def start_kafka(
    settings: Settings, layout: Layout, java: str, lib: Path, console: Console | None
) -> int:
    classpath = f"{lib}/*"
    jvm_logging = [
        f"-Dlog4j2.configurationFile={KAFKA_LOG4J}",
        f"-Dkafka.logs.dir={layout.kafka_dir}",
    ]
    layout.kafka_data.mkdir(parents=True, exist_ok=True)
    if not (layout.kafka_data / "meta.properties").exists():
        with step(console, f"formatting Kafka storage in {layout.kafka_data}"):
            tool = [java, *jvm_logging, "-cp", classpath, "kafka.tools.StorageTool"]
            cluster_id = checked([*tool, "random-uuid"], "kafka-storage random-uuid").strip()
            checked(
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
    return spawn(
        argv,
        cwd=layout.kafka_dir,
        log_file=layout.kafka_stdout,
        pid_file=layout.kafka_pid,
        append=False,
    )
