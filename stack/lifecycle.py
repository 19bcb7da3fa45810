"""`chotdon stack up|down|status|prepare|purge`: the two services started, stopped and
reported together."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console

from config.settings import Settings
from stack.broker import (
    KAFKA_STOP_TIMEOUT,
    ensure_kafka_jars,
    ensure_topics,
    kafka_endpoints,
    kafka_marker,
    render_kafka_config,
    start_kafka,
    wait_kafka,
)
from stack.common import Layout, ServiceStatus, StackError, StackStatus, run_sync, say, step
from stack.installs import java_binary, redis_server_binary
from stack.processes import (
    can_connect,
    file_size,
    is_local,
    locked,
    our_pid,
    port_in_use,
    read_pid,
    spawn,
    stop_processes,
)
from stack.redis_cluster import cluster_of, cluster_root, clusters_started_in
from stack.redis_server import (
    REDIS_STOP_TIMEOUT,
    redis_endpoint,
    redis_marker,
    render_redis_config,
    wait_redis,
)


def _check_ports_free(settings: Settings, *, kafka: bool, redis: bool) -> None:
    """Refuse to start when a port we need belongs to a process we did not start."""
    if kafka:
        host, port, controller = kafka_endpoints(settings)
        if port_in_use(host, port):
            raise StackError(
                f"port {port} is in use by another process (not started by chotdon); "
                f"set CHOTDON_KAFKA={host}:<port> to use another port"
            )
        if port_in_use(host, controller):
            raise StackError(
                f"port {controller} (Kafka's controller) is in use by another process "
                "(not started by chotdon); set CHOTDON_KAFKA_CONTROLLER_PORT=<port> "
                "to use another port"
            )
    if redis:
        host, port = redis_endpoint(settings)
        if port_in_use(host, port):
            raise StackError(
                f"port {port} is in use by another process (not started by chotdon); "
                f"set CHOTDON_REDIS=redis://{host}:<port>/0 to use another port"
            )


def stack_prepare(settings: Settings, console: Console | None = None) -> None:
    """Install everything `stack_up` needs (jars, redis-server, Java) without starting it."""
    java_binary(console)
    ensure_kafka_jars(settings, console)
    redis_server_binary(console)


def _write_config(path: Path, text: str, *, running: bool, service: str) -> None:
    if running and path.exists() and path.read_text() != text:
        raise StackError(
            f"the running {service} was started with other settings than the current ones "
            f"({path}); run `chotdon stack down` first"
        )
    path.write_text(text)


def stack_up(settings: Settings, console: Console | None = None) -> StackStatus:
    """Start Kafka and Redis (whatever is not running yet), wait until both answer, create
    chotdon's topics. Idempotent: a second call finds the running processes and returns them."""
    layout = Layout.of(settings)
    kafka_endpoints(settings)  # refuse remote addresses before installing anything
    cluster = cluster_of(settings) if settings.redis_is_cluster else None
    if cluster is None:
        redis_endpoint(settings)
    # Everything that installs or downloads comes before anything is started.
    redis_server = redis_server_binary(console)
    java = java_binary(console)
    kafka_lib = ensure_kafka_jars(settings, console)
    with locked(layout):
        layout.kafka_dir.mkdir(parents=True, exist_ok=True)
        layout.redis_dir.mkdir(parents=True, exist_ok=True)
        kafka_pid = our_pid(layout.kafka_pid, kafka_marker(layout))
        redis_pid = our_pid(layout.redis_pid, redis_marker(layout))
        single_needed = cluster is None and redis_pid is None  # a cluster starts its own nodes
        _check_ports_free(settings, kafka=kafka_pid is None, redis=single_needed)
        _write_config(
            layout.kafka_config,
            render_kafka_config(settings),
            running=kafka_pid is not None,
            service="Kafka",
        )
        if cluster is None:
            _write_config(
                layout.redis_config,
                render_redis_config(settings),
                running=redis_pid is not None,
                service="Redis",
            )
        notes: dict[str, str] = {"kafka": "already running", "redis": "already running"}
        if single_needed:
            layout.redis_pid.unlink(missing_ok=True)
            redis_pid = spawn(
                [redis_server, str(layout.redis_config)],
                cwd=layout.redis_dir,
                log_file=layout.redis_log,
                pid_file=layout.redis_pid,
            )
            notes["redis"] = "started"
        kafka_log_offset = file_size(layout.kafka_log)
        if kafka_pid is None:
            layout.kafka_pid.unlink(missing_ok=True)
            kafka_pid = start_kafka(settings, layout, java, kafka_lib, console)
            notes["kafka"] = "started"
        if cluster is not None:
            if len(cluster.running()) < len(cluster.nodes):
                notes["redis"] = "started"
            cluster.up(console)
        elif redis_pid is not None:
            with step(console, f"waiting for Redis at {settings.redis}"):
                wait_redis(settings, layout, redis_pid)
        with step(console, f"waiting for Kafka at {settings.kafka} (produce/consume round trip)"):
            wait_kafka(settings, layout, kafka_pid, kafka_log_offset)
        created = run_sync(lambda: ensure_topics(settings))
        if created:
            say(console, f"created topics: {', '.join(created)}")
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
    layout = Layout.of(settings)
    if not layout.root.exists():
        return []
    with locked(layout):
        targets = {
            "kafka": (layout.kafka_pid, our_pid(layout.kafka_pid, kafka_marker(layout))),
            "redis": (layout.redis_pid, our_pid(layout.redis_pid, redis_marker(layout))),
        }
        running = {name: pid for name, (_f, pid) in targets.items() if pid is not None}
        if running:
            with step(console, "stopping " + ", ".join(sorted(running))):
                stop_processes(running, {"kafka": KAFKA_STOP_TIMEOUT, "redis": REDIS_STOP_TIMEOUT})
        for pid_file, _pid in targets.values():
            pid_file.unlink(missing_ok=True)
        stopped = [f"{name} (pid {pid})" for name, pid in running.items()]
        cluster = clusters_started_in(settings.stack_dir)
        if cluster is not None:
            stopped += cluster.down(console)
        return stopped


def stack_purge(settings: Settings, console: Console | None = None) -> list[str]:
    """`stack_down`, then delete the stack's data and logs (the Kafka and Redis folders)."""
    stopped = stack_down(settings, console)
    layout = Layout.of(settings)
    for folder in (layout.kafka_dir, layout.redis_dir, cluster_root(settings.stack_dir)):
        shutil.rmtree(folder, ignore_errors=True)
    return stopped


def stack_status(settings: Settings) -> StackStatus:
    """What runs where; never changes anything."""
    layout = Layout.of(settings)

    def service(
        name: str, pid_file: Path, marker: str, address: str, endpoint: tuple[str, int], data: Path
    ) -> ServiceStatus:
        pid = our_pid(pid_file, marker)
        note = ""
        if pid is None:
            recorded = read_pid(pid_file)
            if recorded is not None:
                note = f"stale pid file (process {recorded} is gone or not ours)"
            elif is_local(endpoint[0]) and can_connect(*endpoint):
                note = "port in use by another process (not started by chotdon)"
        elif not can_connect(*endpoint):
            note = "process alive, not listening yet"
        log = layout.kafka_log if name == "kafka" else layout.redis_log
        return ServiceStatus(name, pid is not None, pid, address, data, log, note)

    kafka_host, kafka_port = settings.kafka_host_port
    kafka = service(
        "kafka",
        layout.kafka_pid,
        kafka_marker(layout),
        f"{kafka_host}:{kafka_port}",
        (kafka_host, kafka_port),
        layout.kafka_data,
    )
    if settings.redis_is_cluster:
        return StackStatus(kafka=kafka, redis=_cluster_status(settings))
    redis = service(
        "redis",
        layout.redis_pid,
        redis_marker(layout),
        _masked(settings.redis),
        settings.redis_host_port,
        layout.redis_dir,
    )
    return StackStatus(kafka=kafka, redis=redis)


def _cluster_status(settings: Settings) -> ServiceStatus:
    cluster = cluster_of(settings)
    nodes = cluster.running()
    return ServiceStatus(
        "redis",
        len(nodes) == len(cluster.nodes),
        nodes[0].pid() if nodes else None,
        settings.redis,
        cluster.root,
        cluster.nodes[0].log,
        f"Redis Cluster: {len(nodes)} of {len(cluster.nodes)} nodes running",
    )


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
