"""The faust application: the worker's readers and what they need (Redis, the producer).

The comment intake and the automation intake are services the app starts (plain aiokafka
readers, whole fetches: stream/consuming.py); the command agent is a faust agent."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import faust
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner, murmur2
from faust.exceptions import ProducerSendError

from config.settings import Settings
from orders.connection import drop_idle_connections, redis_client
from orders.store import DraftStore
from stream.automation_intake import AutomationIntake
from stream.batching import take_batches
from stream.command_positions import CommandPositions, kafka_fetch
from stream.command_positions import positions_key as command_positions_key
from stream.intake import CommentIntake
from stream.pipeline import Backoff, Record

log = logging.getLogger("chotdon.worker")
EXIT_STORE_FAILURE = 70  # EX_SOFTWARE


@dataclass(frozen=True, slots=True)
class Tuning:
    """The knobs that mattered for throughput (benchmarks/README.md says how much)."""

    batch_size: int = 2000  # records per batch at most; one FCALL per livestream per batch
    batch_within: float = 0.01  # the agents' wait for a batch to fill (not the intake's)
    max_poll_records: int = 2000
    buffer_maxsize: int = 4000
    # A worker killed -9 says no goodbye: the group coordinator gives its partitions to the
    # others only once its session times out. faust's 60 s meant a minute of a live without
    # drafts; 6 s (the broker's group.min.session.timeout.ms) with a heartbeat a second puts
    # the partitions back in service within ~10 s (benchmarks/README.md, "Faults").
    session_timeout: float = 6.0
    heartbeat_interval: float = 1.0
    # A half-open connection to the broker (a peer gone silent, no FIN) is noticed only when a
    # request times out. faust's producer waits 20 minutes by default: the fault suite's
    # half-open proxy held every publish, and so every batch, that long. 30 s is Kafka's own
    # request.timeout.ms default; a timed-out publish is sent again (`publish`).
    kafka_request_timeout: float = 30.0
    # A producer connection that was idle when its path went silent is found dead only by the
    # next publish's request timeout: after a half-open socket that the consumer side took 15 s
    # to notice, the fault suite's publishes waited 30 s more (recovery ~46 s instead of ~16).
    # Closed once idle this long, it is opened again by the next publish (a few ms; Kafka's
    # default keeps it 9 minutes).
    producer_idle_close: float = 10.0


AGENTS = ("comments", "commands", "automation")
KEYS_KEPT = 10_000  # message keys whose hash the partitioner keeps


class KeptHashPartitioner:
    """Kafka's default partitioner (murmur2 of the key), each key hashed once: draft events are
    keyed by livestream, a handful of keys, and aiokafka's murmur2 is pure Python (~4 µs a
    message). Picks what `aiokafka.partitioner.DefaultPartitioner` picks, always."""

    def __init__(self) -> None:
        self._hashes: dict[bytes, int] = {}
        self._unkeyed = DefaultPartitioner()

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        if key is None:
            return int(self._unkeyed(key, all_partitions, available))
        hashed = self._hashes.get(key)
        if hashed is None:
            if len(self._hashes) >= KEYS_KEPT:
                self._hashes.clear()
            hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return all_partitions[hashed % len(all_partitions)]


def create_app(
    settings: Settings, tuning: Tuning | None = None, agents: Sequence[str] = AGENTS
) -> faust.App:
    """The worker's faust app with the chosen agents (all by default). A deployment may run
    them in separate workers to scale them apart: comments during a flood, commands and
    automation at staff speed."""
    unknown = sorted(set(agents) - set(AGENTS))
    if unknown:
        raise ValueError(f"unknown agents {unknown}: choose among {', '.join(AGENTS)}")
    tuning = tuning or Tuning()
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server.strip()}" for server in settings.kafka.split(",")],
        value_serializer="raw",
        key_serializer="raw",
        topic_partitions=settings.comment_partitions,
        web_enabled=False,
        store="memory://",
        datadir=str(settings.stack_dir / "faust"),
        stream_buffer_maxsize=tuning.buffer_maxsize,
        broker_max_poll_records=tuning.max_poll_records,
        stream_wait_empty=False,
        producer_partitioner=KeptHashPartitioner(),
        producer_linger=0.0,  # benchmarks: p99 38 ms against 75 ms at 5 ms, same throughput
        producer_request_timeout=tuning.kafka_request_timeout,
        producer_connections_max_idle_ms=int(tuning.producer_idle_close * 1000),
        broker_session_timeout=tuning.session_timeout,
        broker_heartbeat_interval=tuning.heartbeat_interval,
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        topic_allow_declare=True,
    )
    comments = app.topic(
        settings.topics.comments,
        key_type=bytes,
        value_type=bytes,
        partitions=settings.comment_partitions,
        internal=False,
    )

    async def publish(messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        await publish_all(app.producer, messages)

    async def command_agent(stream: Any) -> None:
        from orders.shop.store import ShopStore
        from stream.staff import CommandProcessor

        # Redis away is retried by `positions`, a whole command at a time, never inside it
        # (stream/command_positions.py): not by the client, not by the processor.
        client = redis_client(settings.redis, socket_timeout=10, retries=False)
        drafts = DraftStore(client)
        backoff = Backoff(after_timeout=functools.partial(drop_idle_connections, client))
        await backoff.call("loading the Redis functions", drafts.load_functions)
        processor = CommandProcessor(
            drafts, ShopStore(client), publish, settings.topics, Backoff(retries=0)
        )
        positions = CommandPositions(
            client,
            command_positions_key(settings.app_id, settings.topics.order_commands),
            kafka_fetch(settings.kafka, tuning.kafka_request_timeout),
            backoff,
            scopes=lambda: processor.touched,
        )

        async def handle(record: Record) -> Any:
            return await positions.handle(record, processor.handle)

        # Staff commands are few: each is applied, published and acked before the next one.
        await _one_record_at_a_time(stream, 50, tuning.batch_within, handle)

    def start_reader(kind: type[CommentIntake | AutomationIntake], topic: Any) -> None:
        """A reader of whole fetches, not a faust agent: faust's per-record path was the
        worker's ceiling (stream/consuming.py). faust starts and stops it with the app."""
        service = kind(
            settings,
            publish,
            batch_size=tuning.batch_size,
            session_timeout=tuning.session_timeout,
            heartbeat_interval=tuning.heartbeat_interval,
            request_timeout=tuning.kafka_request_timeout,
            stop_worker=_stop_worker,
            declare=topic.maybe_declare,
        )
        app._extra_services.append(service)  # type: ignore[arg-type]  # instances start too

    if "comments" in agents:
        start_reader(CommentIntake, comments)
    if "automation" in agents:
        events = app.topic(settings.topics.order_events, settings.topics.draft_events,
                           key_type=bytes, value_type=bytes, internal=False)  # fmt: skip
        start_reader(AutomationIntake, events)
    if "commands" in agents:
        # One actor (concurrency=1): faust #606 commits past in-flight events otherwise, and
        # the records of one livestream, conversation or order must stay in order.
        commands = app.topic(settings.topics.order_commands, key_type=bytes, value_type=bytes,
                             internal=False)  # fmt: skip
        app.agent(commands, concurrency=1, name="command_agent")(command_agent)
    return app


async def _one_record_at_a_time(
    stream: Any, size: int, within: float, handle: Callable[[Record], Awaitable[Any]]
) -> None:
    """Handle each record, then ack it. A failure that is not Redis being away (handled by the
    caller's backoff) stops the worker, like a refused comment batch, leaving it unacked."""
    async for events in take_batches(stream, size, within):
        for event in events:
            message = event.message
            record = Record(message.topic, message.partition, message.offset, message.key,
                            message.value)  # fmt: skip
            try:
                await handle(record)
            except Exception as exc:
                failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                failed.set_exception(exc)
                _stop_on_store_failure(failed)
                raise
            await stream.ack(event)
            # Most events need no I/O (a shop without draft rules): without a pause here a
            # batch of them holds the event loop, and the comment agent's next batch waits.
            await asyncio.sleep(0)


def freeze_startup_heap() -> None:
    """Once the worker is up: collect, then move every object start-up made (modules, the app,
    faust's and aiokafka's services, ~100,000 of them) out of the cyclic collector's reach. Its
    full passes walked them all every ~10 s while the worker's heap grew, 60-90 ms of the one
    event loop each: the p99 of comment -> draft event (benchmarks/README.md). What the worker
    makes afterwards (grammars, which it may drop again) stays collectable."""
    gc.collect()
    gc.freeze()
    log.info("start-up heap set aside from the cyclic collector: %d objects", gc.get_freeze_count())


class Worker(faust.Worker):
    """faust's worker; once it is up, the start-up heap set aside (`freeze_startup_heap`)."""

    async def on_startup_finished(self) -> None:
        await super().on_startup_finished()
        freeze_startup_heap()


def _stop_worker(exc: BaseException) -> None:
    failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    failed.set_exception(exc)
    _stop_on_store_failure(failed)


async def publish_all(
    producer: Any, messages: Sequence[tuple[str, bytes | None, bytes]], ceiling: float = 5.0
) -> None:
    """Send every message and return once Kafka acknowledged all of them. What Kafka did not
    acknowledge (the broker away, a connection gone silent until the request timed out) is sent
    again, with a backoff, until it is: the caller's batch stays unacknowledged meanwhile, and
    a message sent twice is one downstream already tolerates (the same draft state again)."""
    pending = list(messages)
    delay = 0.1
    while True:
        sent: list[Any] = []
        for topic, key, value in pending:
            try:
                sent.append(await producer.send(topic, key, value, None, None, None))
            except Exception as exc:  # faust raises here when the buffer waited too long
                if not _kafka_trouble(exc):
                    raise
                sent.append(exc)
        futures = [item for item in sent if not isinstance(item, BaseException)]
        outcomes = iter(await asyncio.gather(*futures, return_exceptions=True))
        results = [item if isinstance(item, BaseException) else next(outcomes) for item in sent]
        failed = [
            (message, result)
            for message, result in zip(pending, results, strict=True)
            if isinstance(result, BaseException)
        ]
        if not failed:
            return
        for _message, error in failed:
            if not _kafka_trouble(error):
                raise error
        log.warning(
            "Kafka did not acknowledge %d of %d messages (%s: %s); sending them again in %.1fs. "
            "The batch stays unacknowledged until Kafka has them.",
            len(failed), len(pending), type(failed[0][1]).__name__, failed[0][1], delay,
        )  # fmt: skip
        await asyncio.sleep(delay)
        delay = min(delay * 2, ceiling)
        pending = [message for message, _error in failed]


def _kafka_trouble(exc: BaseException) -> bool:
    """Kafka not acknowledging for now (away, slow, a connection gone silent): aiokafka's own
    errors, timeouts, and faust's ProducerSendError wrapping one of those."""
    if isinstance(exc, KafkaError | asyncio.TimeoutError):
        return True
    cause = exc.__cause__
    return isinstance(exc, ProducerSendError) and cause is not None and _kafka_trouble(cause)


def _stop_on_store_failure(done: asyncio.Future[None]) -> None:
    """A batch the store refused for good (not Redis being down: that is retried) must stop
    the worker at once and loudly: its batch stays unacknowledged, the group gives its
    partitions to another worker, and a supervisor sees the exit status. Left to faust, the
    agent would be restarted without its records and the worker would sit in the group,
    applying nothing, with its livestreams frozen."""
    if done.cancelled() or done.exception() is None:
        return
    log.critical(
        "the store refused a batch; stopping the worker without acknowledging it",
        exc_info=done.exception(),
    )
    for handler in logging.getLogger().handlers:
        handler.flush()
    os._exit(EXIT_STORE_FAILURE)
