"""A local Redis Cluster: three masters and three replicas, each a `redis-server
--cluster-enabled yes` of its own (port, folder, append-only file), joined by `redis-cli --cluster
create … --cluster-replicas 1`.

chotdon keeps every key one call touches under one hash tag (a livestream's `{shop:live}`, a
shop's `{shop}`), so the store runs unchanged on it; this is how the tests and `chotdon stack up
--redis-cluster` prove that. Each node lives in `<root>/<port>/` (redis.conf, nodes.conf,
appendonlydir/, redis.log, pid).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from config.settings import Settings, cluster_nodes
from stack.common import POLL, StackError, last_lines, step
from stack.installs import redis_server_binary
from stack.processes import (
    alive,
    checked,
    is_local,
    our_pid,
    port_in_use,
    read_pid,
    spawn,
    stop_processes,
)
from stack.redis_server import redis_ping

CLUSTER_SIZE = 6  # three masters, each with one replica
CLUSTER_START_TIMEOUT = 60.0
# A master that stops answering for this long is failed over to its replica (redis.conf's
# cluster-node-timeout): short, so that a test or a local run sees a failover in seconds.
NODE_TIMEOUT_MS = 2000


DEFAULT_CLUSTER_PORT = 7000  # `chotdon stack up --redis-cluster`: nodes on 7000-7005
BUS_PORT_OFFSET = 10000  # a node also listens on port + 10000 for the cluster bus


def free_cluster_ports(count: int = CLUSTER_SIZE, host: str = "127.0.0.1") -> list[int]:
    """Ports nobody listens on now whose cluster-bus ports (port + 10000) are free too; the
    highest usable port is 55535 for that reason."""
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randint(20000, 65535 - BUS_PORT_OFFSET)
        if port in chosen or port + BUS_PORT_OFFSET in chosen:
            continue
        if not port_in_use(host, port) and not port_in_use(host, port + BUS_PORT_OFFSET):
            chosen.append(port)
    return chosen


@dataclass(frozen=True, slots=True)
class ClusterNode:
    host: str
    port: int
    directory: Path

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def config(self) -> Path:
        return self.directory / "redis.conf"

    @property
    def pid_file(self) -> Path:
        return self.directory / "pid"

    @property
    def log(self) -> Path:
        return self.directory / "redis.log"

    def pid(self) -> int | None:
        return our_pid(self.pid_file, str(self.config))

    def render_config(self) -> str:
        return "\n".join([
            "# Written by chotdon's stack (stack/redis_cluster.py); rewritten on every start.",
            f"bind {self.host}",
            f"port {self.port}",
            "protected-mode yes",
            "daemonize no",
            f'dir "{self.directory}"',
            f'pidfile "{self.pid_file}"',
            'logfile ""',
            "loglevel notice",
            "cluster-enabled yes",
            'cluster-config-file "nodes.conf"',
            f"cluster-node-timeout {NODE_TIMEOUT_MS}",
            # A replica takes over however far behind it is: the store's watermarks, not the
            # replica's lag, decide what is applied again (README, "Delivery guarantee").
            "cluster-replica-validity-factor 0",
            "appendonly yes",
            "appendfsync everysec",
            'save ""',
            'proc-title-template "{title} {listen-addr} {server-mode} {config-file}"',
        ]) + "\n"  # fmt: skip


@dataclass(frozen=True, slots=True)
class LocalRedisCluster:
    """Six local nodes on consecutive or chosen ports under `root`."""

    root: Path
    nodes: tuple[ClusterNode, ...]

    @classmethod
    def at(cls, root: Path, ports: Sequence[int], host: str = "127.0.0.1") -> LocalRedisCluster:
        if len(ports) != CLUSTER_SIZE:
            raise StackError(f"a local Redis Cluster has {CLUSTER_SIZE} nodes, not {len(ports)}")
        root = root.expanduser().resolve()
        return cls(root, tuple(ClusterNode(host, port, root / str(port)) for port in ports))

    @property
    def url(self) -> str:
        """The CHOTDON_REDIS value that points chotdon at this cluster."""
        return "redis+cluster://" + ",".join(node.address for node in self.nodes)

    def running(self) -> list[ClusterNode]:
        return [node for node in self.nodes if node.pid() is not None]

    def up(self, console: Console | None = None) -> None:
        """Start the nodes that are not running and create the cluster once; wait until every
        node says `cluster_state:ok`. Idempotent."""
        binary = redis_server_binary(console)
        fresh = not any((node.directory / "nodes.conf").exists() for node in self.nodes)
        for node in self.nodes:
            if node.pid() is not None:
                continue
            if port_in_use(node.host, node.port):
                raise StackError(
                    f"port {node.port} is in use by another process (not started by chotdon); "
                    "choose other ports for the Redis Cluster"
                )
            node.directory.mkdir(parents=True, exist_ok=True)
            node.config.write_text(node.render_config())
            node.pid_file.unlink(missing_ok=True)
            spawn([binary, str(node.config)], cwd=node.directory, log_file=node.log,
                  pid_file=node.pid_file)  # fmt: skip
        with step(console, f"waiting for {CLUSTER_SIZE} Redis Cluster nodes"):
            for node in self.nodes:
                self.wait_pong(node)
        if fresh:
            with step(console, "creating the Redis Cluster (3 masters, 3 replicas)"):
                checked(
                    ["redis-cli", "--cluster", "create", *(n.address for n in self.nodes),
                     "--cluster-replicas", "1", "--cluster-yes"],
                    "redis-cli --cluster create",
                )  # fmt: skip
        with step(console, "waiting for the Redis Cluster to be ready"):
            self.wait_ok()

    def wait_pong(self, node: ClusterNode, timeout: float = CLUSTER_START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError):
                if redis_ping(node.host, node.port, None) in ("+PONG", "-LOADING"):
                    return
            pid = read_pid(node.pid_file)
            if pid is None or not alive(pid):
                tail = (
                    last_lines(node.log.read_text(errors="replace"), 1) if node.log.exists() else ""
                )
                raise StackError(
                    f"Redis Cluster node {node.address} exited ({tail}); see {node.log}"
                )
            if time.monotonic() > deadline:
                raise StackError(f"Redis Cluster node {node.address} did not answer PING")
            time.sleep(POLL)

    def wait_ok(self, timeout: float = CLUSTER_START_TIMEOUT) -> None:
        """Until every running node reports `cluster_state:ok` and agrees there are three
        masters with all 16384 slots."""
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            states = [self.info(node) for node in self.running()]
            if states and all(
                s.get("cluster_state") == "ok" and s.get("cluster_slots_ok") == "16384"
                for s in states
            ):
                return
            last = "; ".join(
                f"{s.get('cluster_state')}/{s.get('cluster_slots_ok')}" for s in states
            )
            if time.monotonic() > deadline:
                raise StackError(f"the Redis Cluster is not ready after {timeout:.0f} s ({last})")
            time.sleep(POLL)

    @staticmethod
    def info(node: ClusterNode) -> dict[str, str]:
        try:
            out = checked(["redis-cli", "-h", node.host, "-p", str(node.port), "cluster", "info"],
                          f"cluster info of {node.address}")  # fmt: skip
        except StackError:
            return {}
        pairs = (line.split(":", 1) for line in out.splitlines() if ":" in line)
        return {key.strip(): value.strip() for key, value in pairs}

    def masters(self) -> list[ClusterNode]:
        """The running nodes that are masters now (they change with failovers)."""
        found = []
        for node in self.running():
            with contextlib.suppress(StackError):
                role = checked(["redis-cli", "-h", node.host, "-p", str(node.port), "role"],
                               f"role of {node.address}")  # fmt: skip
                if role.splitlines()[0].strip() == "master":
                    found.append(node)
        return found

    def master_of_slot(self, slot: int) -> ClusterNode:
        """The node serving `slot` now, as the running nodes' `CLUSTER NODES` say."""
        by_address = {node.address: node for node in self.nodes}
        for asked in self.running():
            with contextlib.suppress(StackError):
                out = checked(["redis-cli", "-h", asked.host, "-p", str(asked.port), "cluster",
                               "nodes"], f"cluster nodes of {asked.address}")  # fmt: skip
                for line in out.splitlines():
                    fields = line.split()
                    if len(fields) < 8 or "master" not in fields[2] or "fail" in fields[2]:
                        continue
                    address = fields[1].split("@", 1)[0]
                    if address in by_address and _serves(fields[8:], slot):
                        return by_address[address]
        raise StackError(f"no master serves slot {slot}")

    def replicas_of(self, master: ClusterNode) -> list[ClusterNode]:
        """The running replicas of `master`, as `CLUSTER NODES` says."""
        by_address = {node.address: node for node in self.nodes}
        out = checked(["redis-cli", "-h", master.host, "-p", str(master.port), "cluster",
                       "nodes"], f"cluster nodes of {master.address}")  # fmt: skip
        rows = [line.split() for line in out.splitlines() if len(line.split()) >= 8]
        master_id = next(r[0] for r in rows if r[1].split("@", 1)[0] == master.address)
        return [
            by_address[r[1].split("@", 1)[0]]
            for r in rows
            if "slave" in r[2] and r[3] == master_id and r[1].split("@", 1)[0] in by_address
        ]

    def replica_synced(self, replica: ClusterNode) -> bool:
        """Whether `replica` has finished its sync with its master and follows it (a replica
        of a cluster just created may still be in its first sync, holding nothing)."""
        with contextlib.suppress(StackError):
            info = checked(["redis-cli", "-h", replica.host, "-p", str(replica.port), "info",
                            "replication"], f"replication of {replica.address}")  # fmt: skip
            fields = dict(line.strip().split(":", 1) for line in info.splitlines() if ":" in line)
            return (fields.get("master_link_status") == "up"
                    and fields.get("master_sync_in_progress") == "0")  # fmt: skip
        return False

    def kill(self, node: ClusterNode) -> None:
        """kill -9 one node (a crash: no AOF rewrite, no goodbye to the others)."""
        pid = node.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)

    def down(self, console: Console | None = None) -> list[str]:
        running = {node.address: pid for node in self.nodes if (pid := node.pid()) is not None}
        if running:
            with step(console, f"stopping {len(running)} Redis Cluster nodes"):
                stop_processes(running, dict.fromkeys(running, 15.0))
        for node in self.nodes:
            node.pid_file.unlink(missing_ok=True)
        return [f"redis cluster node {address} (pid {pid})" for address, pid in running.items()]


def _serves(ranges: Sequence[str], slot: int) -> bool:
    """Whether the slot ranges of a `CLUSTER NODES` line ("0-5460", "7000") include `slot`."""
    for item in ranges:
        if item.startswith("["):  # a slot being migrated
            continue
        start, _, end = item.partition("-")
        if int(start) <= slot <= int(end or start):
            return True
    return False


def cluster_root(stack_dir: Path) -> Path:
    return stack_dir.expanduser().resolve() / "redis-cluster"


def cluster_of(settings: Settings) -> LocalRedisCluster:
    """The local cluster a `redis+cluster://` CHOTDON_REDIS names: its six nodes if it lists
    six, else six consecutive ports from its first node's."""
    nodes = cluster_nodes(settings.redis)
    for host, _port in nodes:
        if not is_local(host):
            raise StackError(
                f"CHOTDON_REDIS={settings.redis} is not on this machine; `chotdon stack` runs a "
                "local Redis Cluster only"
            )
    ports = [port for _, port in nodes]
    if len(ports) != CLUSTER_SIZE:
        ports = [ports[0] + n for n in range(CLUSTER_SIZE)]
    return LocalRedisCluster.at(cluster_root(settings.stack_dir), ports, nodes[0][0])


def cluster_url(first_port: int = DEFAULT_CLUSTER_PORT, host: str = "127.0.0.1") -> str:
    return "redis+cluster://" + ",".join(f"{host}:{first_port + n}" for n in range(CLUSTER_SIZE))


def clusters_started_in(stack_dir: Path) -> LocalRedisCluster | None:
    """The cluster whose node folders are in the stack dir, whatever the settings say now
    (what `stack down` stops)."""
    root = cluster_root(stack_dir)
    ports = sorted(int(p.name) for p in root.glob("*") if p.is_dir() and p.name.isdigit())
    if len(ports) != CLUSTER_SIZE:
        return None
    return LocalRedisCluster.at(root, ports)
