"""Batches from a faust stream that are acknowledged only by whoever processed them.

faust's own `Stream.take_events` acks its buffer in a `finally`: when the agent raises, or is
cancelled at shutdown while it waits for Redis, the batch is acked anyway, its offsets are
committed, and the comments are lost (NOTES.md, "faust-streaming traps"). This is the same
buffering, but it never acks: the caller calls `stream.ack(event)` for each event once it is
applied and published. A batch abandoned by an exception or a cancellation stays
unacknowledged, and Kafka delivers it again. The command agent reads its topic so; the
comment and automation topics are not faust streams at all (stream/consuming.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

# How long a quiet stream's loop sleeps between looks at whether it should stop: the first event
# wakes it at once. Waking every `within` (10 ms) instead cost a quiet worker ~12 ms of CPU per
# second per agent (benchmarks/README.md), whatever the comment rate.
QUIET_WAIT = 1.0


async def take_batches(stream: Any, max_size: int, within: float) -> AsyncIterator[Sequence[Any]]:
    """Yield lists of up to `max_size` events, or fewer `within` seconds after the first."""
    events: list[Any] = []
    arrived = asyncio.Event()
    full = asyncio.Event()
    drained = asyncio.Event()
    consuming: asyncio.Future[None] | None = None

    async def add_to_buffer(value: Any) -> Any:
        nonlocal consuming
        if consuming is not None:
            try:
                await consuming  # the caller is reading the buffer: wait until it is done
            finally:
                consuming = None
        event = stream.current_event
        if event is None:  # pragma: no cover - faust always sets it for a processor
            raise RuntimeError("no current event in the take buffer")
        events.append(event)
        arrived.set()
        if len(events) >= max_size:
            full.set()
            drained.clear()
            await stream.wait(drained)  # never hold more than max_size events
        return value

    stream.enable_acks = False  # the caller acks, and only what it processed
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))
    loop = asyncio.get_running_loop()
    while not stream.should_stop:
        if not events:
            arrived.clear()
            await stream.wait_for_stopped(arrived, timeout=QUIET_WAIT)
            continue
        await stream.wait_for_stopped(full, timeout=within)
        if not events:
            continue
        consuming = loop.create_future()
        batch = list(events)
        yield batch
        events.clear()
        if not consuming.done():
            consuming.set_result(None)
        full.clear()
        drained.set()
