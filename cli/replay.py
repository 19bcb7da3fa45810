"""`chotdon replay FILE.jsonl`: produce comments to the comments topic, keyed by livestream.

Each line is one Comment (stream/messages.py). Lines that are not valid Comments are reported
with their line number and not sent. Returns once Kafka has acknowledged every comment sent.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config.settings import Settings, load_settings


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="produce comments from a JSON-lines file to Kafka",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", type=Path, metavar="FILE.jsonl", help="'-' reads stdin")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="comments per second (default: as fast as possible)",
    )
    parser.add_argument(
        "--now",
        action="store_true",
        help="stamp each comment's created_at with the time it is sent (for latency runs)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def read_comments(lines: Sequence[bytes]) -> tuple[list[Any], list[str]]:
    """Valid Comments, and one message per bad line."""
    from pydantic import ValidationError

    from stream.messages import Comment, describe_error

    comments: list[Any] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            comments.append(Comment.from_json(line))
        except ValidationError as exc:
            problems.append(f"line {number}: {describe_error(exc)}")
    return comments, problems


async def produce(
    settings: Settings, comments: Sequence[Any], *, rate: float | None, now: bool, quiet: bool
) -> list[tuple[int, int]]:
    """Send every comment; return (partition, offset) of each once Kafka acknowledged all."""
    from aiokafka import AIOKafkaProducer
    from rich.progress import Progress

    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    topic = settings.topics.comments
    pending: list[asyncio.Future[Any]] = []
    started = time.perf_counter()
    try:
        with Progress(disable=quiet, transient=False) as progress:
            task = progress.add_task(f"replaying to {topic}", total=len(comments))
            for index, comment in enumerate(comments):
                if rate:
                    delay = started + index / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                if now:
                    comment = comment.model_copy(update={"created_at": datetime.now(UTC)})
                future = await producer.send(
                    topic, comment.to_json(), key=comment.livestream_id.encode()
                )
                future.add_done_callback(lambda _: progress.advance(task))
                pending.append(future)
            await producer.flush()
            acknowledged = await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return [(meta.partition, meta.offset) for meta in acknowledged]


def run(args: argparse.Namespace) -> int:
    from cli.main import UserError

    settings = load_settings()
    if str(args.file) == "-":
        lines = sys.stdin.buffer.read().splitlines()
    else:
        try:
            lines = args.file.read_bytes().splitlines()
        except OSError as exc:
            raise UserError(f"{args.file}: {exc.strerror}") from None
    comments, problems = read_comments(lines)
    for problem in problems:
        print(f"{args.file}: {problem}", file=sys.stderr)
    started = time.perf_counter()
    sent = len(
        asyncio.run(produce(settings, comments, rate=args.rate, now=args.now, quiet=args.quiet))
    )
    elapsed = time.perf_counter() - started
    print(
        f"{sent} comments acknowledged by Kafka on {settings.topics.comments} "
        f"in {elapsed:.1f}s ({sent / max(elapsed, 1e-9):,.0f}/s)",
        file=sys.stderr,
    )
    return 1 if problems else 0
