"""The `chotdon` command (console script `chotdon = cli.main:main`).

Each subcommand lives in its own module under `cli/` with one function,
`add_parser(subparsers)`, which adds its parser and sets `handler` (a function taking the parsed
arguments and returning the exit code) with `parser.set_defaults(handler=...)`. To add a
subcommand, write that module and add its name to `COMMAND_MODULES`. Keep heavy imports inside
the handlers so that `chotdon --help` stays fast.

Errors the user can fix (`UserError`, settings, shop configuration and stack errors) are printed
to stderr as `chotdon: error: …` with exit code 1, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

Handler = Callable[[argparse.Namespace], int]

COMMAND_MODULES = [
    "cli.demo",
    "cli.stack",
    "cli.live",
    "cli.worker",
    "cli.replay",
    "cli.ingest",
    "cli.connect",
    "cli.drafts",
    "cli.order",
    "cli.orders",
    "cli.chat",
    "cli.customers",
    "cli.stats",
    "cli.messages",
    "cli.parse",
    "cli.migrate",
    "cli.serve",
    "cli.staff",
]


class UserError(Exception):
    """An error worded for the user; any subcommand may raise it."""


def user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions shown as one `chotdon: error:` message instead of a traceback."""
    from config.loader import ConfigError
    from config.settings import SettingsError
    from stack import StackError
    from stream.livestreams import LivestreamRefused

    return (UserError, SettingsError, ConfigError, StackError, LivestreamRefused)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chotdon",
        description="Livestream comments to numbered draft orders, in real time.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("chotdon: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if isinstance(error, user_errors()):
            print(f"chotdon: error: {error}", file=sys.stderr)
            return 1
        unreachable = _unreachable(error)
        if unreachable:
            print(f"chotdon: error: {unreachable}", file=sys.stderr)
            return 1
        raise


def _unreachable(error: Exception) -> str | None:
    """Kafka or Redis not answering, said plainly (with what to run) instead of a traceback."""
    from aiokafka.errors import KafkaConnectionError
    from redis.exceptions import ConnectionError as RedisConnectionError

    from config.settings import load_settings

    settings = load_settings()
    hint = "is the stack running? (`chotdon stack up`, or check the CHOTDON_* settings)"
    if isinstance(error, KafkaConnectionError):
        return f"cannot reach Kafka at {settings.kafka}: {hint}"
    if isinstance(error, RedisConnectionError):
        return f"cannot reach Redis at {settings.redis}: {hint}"
    return None
