"""Sending a staff command through Kafka and waiting for its outcome, for the command line.

The command goes to `chotdon.order-commands` like any other client's; the worker's command
agent applies it and publishes the outcome on `chotdon.command-outcomes`. The client starts
reading the outcomes topic at its end *before* sending, so the outcome cannot slip past it, and
returns when the outcome with its command id arrives.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from config.settings import Settings
from orders.automation.messages import vnd
from orders.commands import Outcome

DEFAULT_TIMEOUT = 30.0


class NoOutcome(Exception):
    """No outcome arrived in time: the command may still be applied later (it waits in Kafka)."""


def new_command_id() -> str:
    return uuid.uuid4().hex


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def staff_from_env() -> str | None:
    return os.environ.get("CHOTDON_STAFF")


async def send_command(
    settings: Settings, command: Any, wait_seconds: float = DEFAULT_TIMEOUT
) -> Outcome:
    """Send `command` (a model of orders/commands.py) and return its outcome."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    topic = settings.topics.command_outcomes
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka, enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka, acks="all")
    try:
        await consumer.start()
        await producer.start()
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            partitions = set(await _partitions(consumer, topic))
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:  # resolve the end offsets now, before the command can be applied
            await consumer.position(tp)
        value = orjson.dumps(command.model_dump(mode="json"))
        await producer.send_and_wait(
            settings.topics.order_commands, value, key=command.key.encode()
        )
        return await _await_outcome(consumer, command.command_id, wait_seconds)
    finally:
        await producer.stop()
        await consumer.stop()


async def _partitions(consumer: Any, topic: str) -> Iterable[int]:
    await consumer._client.force_metadata_update()  # the topic may be new to this client
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise NoOutcome(f"topic {topic} does not exist: run `chotdon stack up` (or the worker)")
    return set(partitions)


async def _await_outcome(consumer: Any, command_id: str, wait_seconds: float) -> Outcome:
    deadline = time.monotonic() + wait_seconds
    while (left := deadline - time.monotonic()) > 0:
        batches = await consumer.getmany(timeout_ms=int(min(left, 1.0) * 1000))
        for records in batches.values():
            for record in records:
                if record.value and orjson.loads(record.value).get("command_id") == command_id:
                    return Outcome.model_validate_json(record.value)
    raise NoOutcome(
        f"no outcome for command {command_id} within {wait_seconds:.0f} s: is a worker running "
        "(`chotdon worker`)? The command waits in Kafka and is applied when one is."
    )


def outcome_lines(outcome: Outcome) -> list[str]:
    """The outcome for people: what was done, or every reason, in Vietnamese and English."""
    if outcome.status == "refused":
        lines = [f"refused ({outcome.type}, command {outcome.command_id}):"]
        for r in outcome.reasons:
            where = f" [{r.field}]" if r.field else ""
            lines.append(f"  ✗ {r.vi} / {r.en} ({r.code}){where}")
        return lines
    lines = [f"applied ({outcome.type}, command {outcome.command_id})"]
    if outcome.draft is not None:
        lines.extend(draft_lines(outcome.draft))
    for order in outcome.orders:
        lines.append(order_line(order))
    if outcome.previous_orders:
        lines.append("previous orders of this customer:")
        lines.extend("  " + order_line(order) for order in outcome.previous_orders)
    return lines


def draft_lines(draft: dict[str, Any]) -> list[str]:
    number = draft.get("seq", draft.get("n"))
    contact = draft.get("contact") or {}
    customer = draft.get("customer") or {}
    name = contact.get("name") or customer.get("name") or "?"
    phone = contact.get("phone") or customer.get("phone") or "?"
    out = [f"draft #{number} [{draft.get('status')}] {name} {phone} total {vnd(draft['total'])}"]
    for i, line in enumerate(draft.get("lines", []), start=1):
        attrs = " ".join(f"{k}={v}" for k, v in sorted(line["attributes"].items()))
        wait = f" waitlist #{line['waitlist']}" if line.get("waitlist") else ""
        out.append(
            f"  {i}. {line['code'] or '-'} {line['name'] or '?'} {attrs} x{line['qty']} "
            f"(held {line['reserved']}){wait} [{line['status']}]"
        )
    return out


def order_line(order: dict[str, Any]) -> str:
    merged = f" merged into {order['merged_into']}" if order.get("merged_into") else ""
    return (
        f"order {order['order_id']} [{order['status']}]{merged} "
        f"{order['customer']['name']} {order['customer']['phone']} total {vnd(order['total'])}"
    )


def run_command(settings: Settings, command: Any, timeout: float, as_json: bool) -> int:
    """Send, wait, print; exit status 0 when applied, 1 when refused (or no outcome)."""
    from stream.cli import UserError

    try:
        outcome = asyncio.run(send_command(settings, command, timeout))
    except NoOutcome as exc:
        raise UserError(str(exc)) from None
    if as_json:
        print(orjson.dumps(outcome.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode())
    else:
        print("\n".join(outcome_lines(outcome)))
    return 0 if outcome.status == "applied" else 1
