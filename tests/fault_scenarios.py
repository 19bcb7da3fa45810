"""The fault scenarios, each a coroutine that runs a generated livestream feed through real
workers while it breaks something, then returns a `FaultReport` (tests/fault_support.py). The
fault suite (tests/faults) runs them at CI size and requires a clean report; the chaos
benchmark (benchmarks/chaos_bench.py) runs them longer and prints the table.

A scenario gets a `Scene`: the run's settings (own topics and consumer group), a folder, and
the servers it may break. Every scenario ends the same way: everything produced is applied,
and acknowledged (the intake's commits at the end of the topic: only then are the last
batch's draft events surely in Kafka), then `tally` compares the store with the pure order book.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio
from fault_support import (
    DraftStore,
    FaultReport,
    Feed,
    OwnKafka,
    OwnRedis,
    ProgressWatch,
    SmallDisk,
    WorkerPool,
    rng_for,
    tally,
    wait_until_acknowledged,
    wait_until_applied,
)
from live_support import group_assignments, wait_for
from redis.exceptions import RedisError
from tcp_proxy import TcpProxy

from config.settings import Settings
from orders.connection import redis_client
from stack.redis_cluster import ClusterNode, LocalRedisCluster, free_cluster_ports


@dataclass(frozen=True)
class Size:
    """How big a run is: CI's is small, the chaos benchmark's larger."""

    comments: int = 4000
    livestreams: int = 4
    rate: float = 200.0  # comments a second, all livestreams together
    kills: int = 3
    outage: float = 60.0  # seconds the broker stays away


# CI's sizes: each feed lasts a little longer than its faults (3 kills, each ~7 s of takeover
# and ~7 s for the replacement to join; a broker away 60 s), no more.
CI = {
    "worker_kills": Size(comments=4800, rate=100.0, kills=3),
    "redis": Size(comments=2400, rate=120.0),
    "network": Size(comments=3600, rate=100.0),
    "broker": Size(comments=2800, rate=40.0, outage=60.0),
}


@dataclass
class Scene:
    settings: Settings
    workdir: Path


async def _two_workers_ready(settings: Settings, pool: WorkerPool) -> None:
    async def both_assigned() -> bool:
        groups = await group_assignments(settings)
        return len(groups) == 2 and all(groups.values())

    await wait_for(both_assigned, "two workers sharing the partitions", watch=pool.alive,
                   limit=120)  # fmt: skip


async def _one_worker_ready(settings: Settings, pool: WorkerPool) -> None:
    async def assigned() -> bool:
        groups = await group_assignments(settings)
        return len(groups) >= 1 and any(groups.values())

    await wait_for(assigned, "a worker with partitions", watch=pool.alive, limit=120)


async def _until_progress(watch: ProgressWatch, total: int, pool: WorkerPool) -> None:
    async def reached() -> bool:
        return watch.total() >= total

    await wait_for(reached, f"{total} offsets applied", watch=pool.alive, limit=180)


async def _run(
    scene: Scene,
    name: str,
    size: Size,
    fault: Callable[[Feed, ProgressWatch, WorkerPool, FaultReport], Awaitable[None]],
    *,
    workers: int = 1,
    worker_settings: Settings | None = None,
    produce_settings: Settings | None = None,
) -> FaultReport:
    """The frame of every scenario: feed, workers, the fault while the feed runs, the tally."""
    settings = scene.settings
    feed = await Feed.create(settings, scene.workdir, livestreams=size.livestreams,
                             comments=size.comments)  # fmt: skip
    pool = WorkerPool(worker_settings or settings, scene.workdir)
    report = FaultReport(name)
    try:
        for _ in range(workers):
            pool.start()
        if workers == 2:
            await _two_workers_ready(settings, pool)
        else:
            await _one_worker_ready(settings, pool)
        async with ProgressWatch(settings, feed.livestreams) as watch:
            producing = asyncio.create_task(feed.produce(produce_settings or settings, size.rate))
            try:
                await fault(feed, watch, pool, report)
                await producing
            finally:
                if not producing.done():
                    producing.cancel()
            await wait_until_applied(settings, feed, watch=pool.alive, limit=240)
            await watch.sample_now()
            await wait_until_acknowledged(settings, watch=pool.alive)
            recoveries = [watch.recovery_after(moment) for moment in report.moments]
        tallied = await tally(settings, feed, name)
    finally:
        pool.close()
    tallied.recoveries = recoveries
    tallied.notes = report.notes + ([f"{feed.resent} resent"] if feed.resent else [])
    return tallied


# --------------------------------------------------------------------------- workers


async def worker_kills(scene: Scene, size: Size = CI["worker_kills"]) -> FaultReport:
    """Two workers share the partitions; at random points of the stream one of them is killed
    -9 (mid-batch: batches are in flight all the time at this rate), the other takes over its
    partitions (a rebalance), and a replacement joins (another rebalance). Recovery: from the
    kill until every livestream that was behind moves again, the takeover time."""
    rng = rng_for("worker_kills")

    async def fault(feed: Feed, watch: ProgressWatch, pool: WorkerPool, rep: FaultReport) -> None:
        total = len(feed.comments)
        # a kill every 20% or so of the stream, at a random point of its stretch
        stretch = 0.7 / size.kills
        points = [
            total * (0.1 + k * stretch + rng.uniform(0, stretch / 2)) for k in range(size.kills)
        ]
        for point in points:
            await _until_progress(watch, int(point), pool)
            victim = rng.choice(pool.alive)
            victim.kill()
            await _served_again(watch, pool, feed, rep)
            pool.start()
            await _two_workers_ready(scene.settings, pool)

    return await _run(scene, f"worker kill -9 x{size.kills}, 2 workers", size, fault, workers=2)


async def _served_again(
    watch: ProgressWatch, pool: WorkerPool, feed: Feed, rep: FaultReport
) -> None:
    """From now, the fault over: time the recovery (at the end) and wait for it."""
    moment = time.monotonic()
    rep.moments.append(moment)
    await _until_moved(watch, moment, pool, feed)


async def _until_moved(watch: ProgressWatch, moment: float, pool: WorkerPool, feed: Feed) -> None:
    """Until every livestream has moved past its watermark at `moment`, or has applied all
    that was sent to it so far (the feed is steady: each has comments coming all the time)."""

    async def moved() -> bool:
        before = [marks for t, marks in watch.samples if t <= moment]
        if not before or watch.samples[-1][0] <= moment:
            return False
        then, now = before[-1], watch.samples[-1][1]
        sent = feed.sent_per_livestream()
        return all(now[live] > then[live] or now[live] >= sent[live] - 1 for live in now)

    await wait_for(moved, "the partitions served again", watch=pool.alive, limit=180)


# --------------------------------------------------------------------------- Redis


def _with_redis(scene: Scene, url: str) -> Scene:
    return Scene(dataclasses.replace(scene.settings, redis=url), scene.workdir)


async def redis_power_loss(scene: Scene, size: Size = CI["redis"]) -> FaultReport:
    """A power loss (or a failover to a lagging replica): Redis comes back without the last
    seconds of applied batches while Kafka already holds their committed offsets. As a user
    would try it: the append-only file copied mid-stream, the worker left to apply 2 s more,
    Redis killed and restarted from the copy. The store's watermarks must decide where the
    worker resumes, so that the lost batches are applied again."""
    redis = OwnRedis(scene.workdir / "redis")
    redis.start()
    scene = _with_redis(scene, redis.url)
    copy = scene.workdir / "aof-copy"

    async def fault(feed: Feed, watch: ProgressWatch, pool: WorkerPool, rep: FaultReport) -> None:
        await _until_progress(watch, len(feed.comments) // 3, pool)
        redis.copy_aof(copy)
        copied_at = watch.total()
        await _until_progress(watch, copied_at + int(size.rate * 2), pool)
        redis.kill()
        redis.restore_aof(copy)
        redis.start()
        rep.notes.append(f"Redis came back {watch.total() - copied_at} offsets behind")
        await _served_again(watch, pool, feed, rep)

    try:
        return await _run(scene, "Redis power loss (AOF copy)", size, fault)
    finally:
        redis.stop()


async def redis_kill(scene: Scene, size: Size = CI["redis"]) -> FaultReport:
    """kill -9 of redis-server alone: the AOF's last writes are in the page cache and survive."""
    redis = OwnRedis(scene.workdir / "redis")
    redis.start()
    scene = _with_redis(scene, redis.url)

    async def fault(feed: Feed, watch: ProgressWatch, pool: WorkerPool, rep: FaultReport) -> None:
        await _until_progress(watch, len(feed.comments) // 3, pool)
        redis.kill()
        await asyncio.sleep(2.0)  # the outage itself: Redis away for 2 s
        redis.start()
        await _served_again(watch, pool, feed, rep)

    try:
        return await _run(scene, "Redis kill -9", size, fault)
    finally:
        redis.stop()


async def redis_full_disk(scene: Scene, size: Size = CI["redis"]) -> FaultReport:
    """Redis's append-only file on a small disk that fills up: Redis refuses writes (MISCONF)
    until there is room again; the worker waits and acknowledges nothing meanwhile."""
    disk = SmallDisk(scene.workdir / "redis-disk", 64).mount()
    try:
        redis = OwnRedis(disk.path / "data")
        redis.start("--auto-aof-rewrite-percentage", "0")
        scene = _with_redis(scene, redis.url)

        async def fault(
            feed: Feed, watch: ProgressWatch, pool: WorkerPool, rep: FaultReport
        ) -> None:
            await _until_progress(watch, len(feed.comments) // 3, pool)
            disk.fill()
            full_at = watch.total()
            await _until_refused(redis, pool)
            rep.notes.append(f"writes refused at {full_at} offsets")
            await asyncio.sleep(3.0)  # the disk stays full for 3 s
            disk.free()
            await _served_again(watch, pool, feed, rep)

        try:
            return await _run(scene, "Redis disk full", size, fault)
        finally:
            redis.stop()
    finally:
        disk.unmount()


async def _until_refused(redis: OwnRedis, pool: WorkerPool) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis.url)
    try:

        async def refusing() -> bool:
            stats = await client.info("persistence")
            return str(stats.get("aof_last_write_status")) == "err"

        await wait_for(refusing, "Redis refusing writes for the full disk", watch=pool.alive,
                       limit=60)  # fmt: skip
    finally:
        await client.aclose()


class _StaffRounds:
    """Rounds of `assign` commands on every draft of one livestream, the assignee changing
    each round, sent through Kafka at 100 a second; at the end every command must have its
    outcome in the store, and every draft the last round's assignee: a command whose effect
    Redis lost must have been applied again."""

    ROUNDS = 6
    ASSIGNEES = ("lan", "minh")

    def __init__(self, settings: Settings, client: redis.asyncio.Redis, live: str) -> None:
        from orders.store import livestream_prefix

        self.settings = settings
        self.client = client
        self.live = live
        self.outcomes_key = f"{livestream_prefix('shop-demo', live)}:cmds"
        self.commands: list[Any] = []

    async def prepare(self) -> None:
        from orders.commands import Assign

        seqs = [d["seq"] for d in await DraftStore(self.client).drafts("shop-demo", self.live)]
        self.commands = [
            Assign(command_id=f"r{r}-s{seq}", staff_id="lan", issued_at="2026-12-03T20:00:00+07:00",
                   livestream_id=self.live, seq=seq, assignee=self.ASSIGNEES[r % 2])
            for r in range(self.ROUNDS) for seq in seqs
        ]  # fmt: skip

    async def send_all(self) -> None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka, acks="all",
                                    enable_idempotence=True)  # fmt: skip
        await producer.start()
        try:
            for command in self.commands:
                await producer.send_and_wait(self.settings.topics.order_commands,
                                             command.model_dump_json().encode(),
                                             key=self.live.encode())  # fmt: skip
                await asyncio.sleep(1 / 100)  # staff at 100 commands a second
        finally:
            await producer.stop()

    async def applied(self) -> int:
        """Commands with an outcome in the store (-1: the store did not answer for 5 s)."""
        for _ in range(50):  # Redis restarts or fails over in the middle: the client reconnects
            with contextlib.suppress(RedisError, OSError):
                return int(await self.client.hlen(self.outcomes_key))
            await asyncio.sleep(0.1)
        return -1

    async def until_applied(self, wanted: int, what: str, pool: WorkerPool) -> None:
        await wait_for(lambda: _at_least(self.applied, wanted), what, watch=pool.alive)

    async def report_into(self, report: FaultReport, pool: WorkerPool) -> None:
        report.sent = len(self.commands)
        with contextlib.suppress(AssertionError):
            await wait_for(lambda: _at_least(self.applied, len(self.commands)),
                           "every command's outcome", watch=pool.alive, limit=60)  # fmt: skip
        report.applied = await self.applied()
        report.lost = report.sent - report.applied
        drafts = await DraftStore(self.client).drafts("shop-demo", self.live)
        last = self.ASSIGNEES[(self.ROUNDS - 1) % 2]
        report.drafts = len(drafts)
        # a draft its customer cancelled refuses every assign (draft_not_open) and keeps none
        report.drafts_equal = sum(
            1 for d in drafts if d["staff"] == (None if d["status"] == "cancelled" else last)
        )


async def _staff_rounds_ready(
    settings: Settings, pool: WorkerPool, client: redis.asyncio.Redis, live: str, feed: Feed
) -> _StaffRounds:
    """A worker started, the feed applied, the rounds ready to send."""
    worker = pool.start()
    await _one_worker_ready(settings, pool)
    await feed.produce(settings, 1000.0)
    await wait_until_applied(settings, feed, watch=[worker])
    rounds = _StaffRounds(settings, client, live)
    await rounds.prepare()
    return rounds


async def commands_power_loss(scene: Scene, size: Size = CI["redis"]) -> FaultReport:
    """Staff commands through Kafka while Redis loses its last seconds (the power-loss copy
    of `redis_power_loss`): `_StaffRounds`."""
    redis = OwnRedis(scene.workdir / "redis")
    redis.start()
    scene = _with_redis(scene, redis.url)
    settings = scene.settings
    copy = scene.workdir / "aof-copy"
    feed = await Feed.create(settings, scene.workdir, livestreams=1, comments=300)
    pool = WorkerPool(settings, scene.workdir)
    report = FaultReport("commands, Redis power loss (AOF copy)")
    client = redis_client(settings.redis)
    try:
        rounds = await _staff_rounds_ready(settings, pool, client, feed.livestreams[0], feed)
        sending = asyncio.create_task(rounds.send_all())
        await rounds.until_applied(len(rounds.commands) // 3, "a third of the commands", pool)
        redis.copy_aof(copy)
        copied = await rounds.applied()
        await rounds.until_applied(copied + 40, "40 more commands applied", pool)
        ahead = await rounds.applied()
        redis.kill()
        redis.restore_aof(copy)
        redis.start()
        report.notes.append(f"Redis came back {ahead - await rounds.applied()} commands behind")
        await sending
        await rounds.report_into(report, pool)
    finally:
        pool.close()
        await client.aclose()
        redis.stop()
    return report


async def commands_cluster_failover(scene: Scene, size: Size = CI["redis"]) -> FaultReport:
    """`_StaffRounds` with the store on a Redis Cluster: the master serving the livestream is
    killed -9 while its replica lags (`cluster_failover`'s way), and the command agent's own
    record is on another master, which keeps it: only the marks in the livestream's hash tag
    can tell the agent that the commands' effects went back (stream/command_positions.py)."""
    from redis.crc import key_slot

    from orders.store import livestream_prefix
    from stream.command_positions import positions_key

    cluster = _own_cluster(scene)
    scene = _with_redis(scene, cluster.url)
    settings = scene.settings
    feed = await Feed.create(settings, scene.workdir, livestreams=4, comments=1200)
    record = positions_key(settings.app_id, settings.topics.order_commands)
    record_master = cluster.master_of_slot(key_slot(record.encode()))

    def slot_of(live: str) -> int:
        return key_slot(f"{livestream_prefix('shop-demo', live)}:meta".encode())

    others = [
        live for live in feed.livestreams if cluster.master_of_slot(slot_of(live)) != record_master
    ]
    assert others, "every livestream of the feed is on the record's master: another seed needed"
    live = others[0]
    pool = WorkerPool(settings, scene.workdir)
    report = FaultReport("commands, Redis Cluster master kill -9 (failover)")
    client = redis_client(settings.redis)
    try:
        rounds = await _staff_rounds_ready(settings, pool, client, live, feed)
        master = cluster.master_of_slot(slot_of(live))
        replica = await _synced_replica(cluster, master, pool)
        sending = asyncio.create_task(rounds.send_all())
        await rounds.until_applied(len(rounds.commands) // 3, "a third of the commands", pool)
        replica_pid = replica.pid()
        assert replica_pid is not None
        os.kill(replica_pid, signal.SIGSTOP)  # it lags from here on (see `cluster_failover`)
        try:
            cut = ["redis-cli", "-p", str(master.port), "client", "kill", "type", "replica"]
            subprocess.run(cut, check=True, capture_output=True)  # noqa: ASYNC221 - a blink
            lagging_from = await rounds.applied()
            await rounds.until_applied(lagging_from + 40, "40 more commands applied", pool)
            ahead = await rounds.applied()
            cluster.kill(master)
        finally:
            os.kill(replica_pid, signal.SIGCONT)
        await wait_for(lambda: _at_least(rounds.applied, 0), "the replica serving",
                       watch=pool.alive)  # fmt: skip
        report.notes.append(
            f"master {master.port} killed, lagging replica {replica.port} took over "
            f"{ahead - await rounds.applied()} commands behind"
        )
        await sending
        await rounds.report_into(report, pool)
        cluster.up()  # the killed node rejoins, as a replica now
        await asyncio.to_thread(cluster.wait_ok)
    finally:
        pool.close()
        await client.aclose()
        cluster.down()
    return report


async def _at_least(count: Callable[[], Awaitable[int]], wanted: int) -> bool:
    return await count() >= wanted


# --------------------------------------------------------------------------- network


async def _bad_network(
    proxy: TcpProxy,
    feed: Feed,
    watch: ProgressWatch,
    pool: WorkerPool,
    rep: FaultReport,
    *,
    silence: float,
) -> None:
    """200 ms latency for a fifth of the stream, then every connection reset, then silence
    (half-open) for `silence` seconds, then a good network again."""
    total = len(feed.comments)
    await _until_progress(watch, total // 5, pool)
    proxy.latency(0.2)
    await _until_progress(watch, total * 2 // 5, pool)
    proxy.heal()
    proxy.drop()
    await _served_again(watch, pool, feed, rep)
    proxy.half_open()
    await asyncio.sleep(silence)  # the silence itself
    proxy.heal()
    await _served_again(watch, pool, feed, rep)
    rep.notes.append(f"latency 200 ms, reset, half-open {silence:.0f} s")


async def redis_network(scene: Scene, size: Size = CI["network"]) -> FaultReport:
    """The worker reaches Redis through a proxy that adds 200 ms latency, then resets every
    connection, then goes half-open (silent, no FIN) for longer than the client's socket
    timeout, then heals."""
    redis_host, redis_port = scene.settings.redis_host_port
    proxy = TcpProxy(redis_host, redis_port).start()
    db = scene.settings.redis.rsplit("/", 1)[-1]
    worker_settings = dataclasses.replace(
        scene.settings, redis=f"redis://127.0.0.1:{proxy.port}/{db}"
    )

    # longer than the worker's 10 s socket timeout
    fault = functools.partial(_bad_network, proxy, silence=12.0)

    try:
        name = "Redis network: latency, reset, half-open"
        return await _run(scene, name, size, fault,
                          worker_settings=worker_settings)  # fmt: skip
    finally:
        proxy.stop()


# --------------------------------------------------------------------------- Kafka


async def _with_own_kafka(
    scene: Scene, *, proxied: bool = False
) -> tuple[Scene, OwnKafka, TcpProxy | None]:
    from stack import free_port

    proxy_port = free_port() if proxied else None
    kafka = OwnKafka(scene.workdir / "kafka-stack", scene.settings, proxied_port=proxy_port)
    proxy = None
    if proxied:
        assert kafka.internal_port is not None and proxy_port is not None
        proxy = TcpProxy("127.0.0.1", kafka.internal_port, listen_port=proxy_port).start()
    kafka.start()
    return Scene(kafka.settings, scene.workdir), kafka, proxy


async def broker_kill(scene: Scene, size: Size = CI["broker"]) -> FaultReport:
    """The broker is killed -9 mid-stream and comes back `size.outage` seconds later: the worker
    loses Kafka for that long (no fetch, no commit, no publish), the producers wait and resend."""
    scene, kafka, _ = await _with_own_kafka(scene)

    async def fault(feed: Feed, watch: ProgressWatch, pool: WorkerPool, rep: FaultReport) -> None:
        await _until_progress(watch, len(feed.comments) // 3, pool)
        kafka.kill()
        await asyncio.sleep(size.outage)  # the outage itself
        kafka.start()
        await _served_again(watch, pool, feed, rep)
        rep.notes.append(f"broker away {size.outage:.0f} s")

    try:
        return await _run(scene, f"Kafka broker kill -9, {size.outage:.0f} s away", size, fault)
    finally:
        kafka.stop()


async def kafka_full_disk(scene: Scene, size: Size = CI["broker"]) -> FaultReport:
    """The broker's data on a small disk that fills up mid-stream: Kafka takes its log
    directory offline and, it being the only one, the broker stops. The disk is freed and
    the broker started again; meanwhile the worker has no broker and the producers resend."""
    disk = SmallDisk(scene.workdir / "kafka-disk", 320).mount()
    try:
        kafka = OwnKafka(disk.path / "stack", scene.settings)
        kafka.start()
        scene = Scene(kafka.settings, scene.workdir)

        async def fault(
            feed: Feed, watch: ProgressWatch, pool: WorkerPool, rep: FaultReport
        ) -> None:
            await _until_progress(watch, len(feed.comments) // 3, pool)
            disk.fill()
            full = time.monotonic()

            async def broker_gave_up() -> bool:
                return not kafka.alive()

            await wait_for(broker_gave_up, "the broker stopping on its full disk",
                           watch=pool.alive, limit=120)  # fmt: skip
            rep.notes.append(
                f"broker stopped {time.monotonic() - full:.0f} s after the disk filled"
            )
            disk.free()
            kafka.start()
            await _served_again(watch, pool, feed, rep)

        try:
            return await _run(scene, "Kafka disk full", size, fault)
        finally:
            kafka.stop()
    finally:
        disk.unmount()


async def kafka_network(scene: Scene, size: Size = CI["network"]) -> FaultReport:
    """The worker reaches Kafka through a proxy (the broker advertises the proxy to it): 200 ms
    latency, every connection reset, then half-open for 15 s, then healed. The producer and the
    tests talk to the broker directly."""
    scene, kafka, proxy = await _with_own_kafka(scene, proxied=True)
    assert proxy is not None
    worker_settings = dataclasses.replace(scene.settings, kafka=kafka.worker_bootstrap)

    fault = functools.partial(_bad_network, proxy, silence=15.0)

    try:
        name = "Kafka network: latency, reset, half-open"
        return await _run(scene, name, size, fault,
                          worker_settings=worker_settings)  # fmt: skip
    finally:
        proxy.stop()
        kafka.stop()


# --------------------------------------------------------------------------- Redis Cluster


async def cluster_worker_kills(scene: Scene, size: Size = CI["worker_kills"]) -> FaultReport:
    """`worker_kills` with the store on a Redis Cluster of the scene's own (3 + 3 nodes)."""
    cluster = _own_cluster(scene)
    try:
        report = await worker_kills(_with_redis(scene, cluster.url), size)
        report.scenario += ", Redis Cluster"
        return report
    finally:
        cluster.down()


async def cluster_failover(scene: Scene, size: Size = CI["redis"]) -> FaultReport:
    """The store on a Redis Cluster; mid-stream the master serving the first livestream is
    killed -9 while its replica lags: the replica is stopped (SIGSTOP) and its link cut before
    the master's last writes, so they never reach it. It takes over after the
    cluster-node-timeout (2 s) without them: the store went back, and the intake must find
    that out and seek back. The killed node then comes back as a replica."""
    from redis.crc import key_slot

    from orders.store import livestream_prefix

    cluster = _own_cluster(scene)
    scene = _with_redis(scene, cluster.url)

    async def fault(feed: Feed, watch: ProgressWatch, pool: WorkerPool, rep: FaultReport) -> None:
        await _until_progress(watch, len(feed.comments) // 3, pool)
        slot = key_slot(f"{livestream_prefix('shop-demo', feed.livestreams[0])}:meta".encode())
        master = cluster.master_of_slot(slot)
        replica = await _synced_replica(cluster, master, pool)
        replica_pid = replica.pid()
        assert replica_pid is not None
        first = feed.livestreams[0]
        # The replica lags from here on: stopped, and its link cut by the master (what was
        # already in the link's socket buffers would reach it otherwise).
        os.kill(replica_pid, signal.SIGSTOP)
        try:
            cut = ["redis-cli", "-p", str(master.port), "client", "kill", "type", "replica"]
            subprocess.run(cut, check=True, capture_output=True)  # noqa: ASYNC221 - a blink
            lagging_from = watch.marks()[first]
            await _until_livestream_moved(watch, first, lagging_from + 50, pool)
            before_kill = watch.marks()[first]
            cluster.kill(master)
        finally:
            os.kill(replica_pid, signal.SIGCONT)
        await _served_again(watch, pool, feed, rep)
        promoted = cluster.master_of_slot(slot)
        low = min(marks[first] for t, marks in watch.samples if t > rep.moments[-1])
        rep.notes.append(
            f"master {master.port} killed, lagging replica {promoted.port} took over "
            f"{before_kill - low} offsets behind"
        )
        cluster.up()  # the killed node rejoins, as a replica now
        await asyncio.to_thread(cluster.wait_ok)

    try:
        return await _run(scene, "Redis Cluster master kill -9 (failover)", size, fault)
    finally:
        cluster.down()


async def _until_livestream_moved(
    watch: ProgressWatch, livestream: str, mark: int, pool: WorkerPool
) -> None:
    async def reached() -> bool:
        return watch.marks().get(livestream, -1) >= mark

    await wait_for(reached, f"{livestream} applied up to {mark}", watch=pool.alive, limit=60)


async def _synced_replica(
    cluster: LocalRedisCluster, master: ClusterNode, pool: WorkerPool
) -> ClusterNode:
    """The master's replica once it follows it: one still in its first sync holds nothing, and
    a failover to it would lose everything, not the last writes."""
    (replica,) = cluster.replicas_of(master)

    async def synced() -> bool:
        return await asyncio.to_thread(cluster.replica_synced, replica)

    await wait_for(synced, f"replica {replica.port} in sync", watch=pool.alive)
    return replica


def _own_cluster(scene: Scene) -> LocalRedisCluster:
    cluster = LocalRedisCluster.at(scene.workdir / "redis-cluster", free_cluster_ports())
    cluster.up()
    return cluster


SCENARIOS = {
    "worker_kills": worker_kills,
    "redis_kill": redis_kill,
    "redis_power_loss": redis_power_loss,
    "commands_power_loss": commands_power_loss,
    "commands_cluster_failover": commands_cluster_failover,
    "redis_full_disk": redis_full_disk,
    "redis_network": redis_network,
    "broker_kill": broker_kill,
    "kafka_network": kafka_network,
    "kafka_full_disk": kafka_full_disk,
    "cluster_worker_kills": cluster_worker_kills,
    "cluster_failover": cluster_failover,
}
