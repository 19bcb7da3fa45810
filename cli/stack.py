"""`chotdon stack up|down|status|prepare`: the local Kafka broker and Redis server.

The work is done by `stack`; this module only parses arguments and prints.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from config.settings import load_settings

if TYPE_CHECKING:
    from rich.console import Console

    from stack import StackStatus


def add_parser(subparsers: Any) -> None:
    stack = subparsers.add_parser(
        "stack",
        help="the local Kafka broker and Redis server (up, down, status, prepare)",
        description=(
            "Run a local Kafka broker (KRaft, jars from Maven Central) and a local Redis "
            "server for development. Data, logs and pid files live under CHOTDON_STACK_DIR "
            "(default .stack/); addresses come from CHOTDON_KAFKA, "
            "CHOTDON_KAFKA_CONTROLLER_PORT and CHOTDON_REDIS."
        ),
    )
    actions = stack.add_subparsers(dest="stack_command", metavar="ACTION", required=True)
    up = actions.add_parser("up", help="start Kafka and Redis (idempotent), create the topics")
    up.add_argument(
        "--redis-cluster",
        action="store_true",
        help="a local Redis Cluster (3 masters, 3 replicas) instead of one Redis: on the nodes "
        "of CHOTDON_REDIS when it is a redis+cluster:// URL, else on ports 7000-7005",
    )
    up.set_defaults(handler=run_up)
    down = actions.add_parser("down", help="stop the Kafka and Redis that `stack up` started")
    down.add_argument(
        "--purge", action="store_true", help="also delete their data and logs (a fresh start)"
    )
    down.set_defaults(handler=run_down)
    status = actions.add_parser("status", help="show what runs where")
    status.set_defaults(handler=run_status)
    prepare = actions.add_parser(
        "prepare", help="install what the stack needs (Kafka jars, redis-server); start nothing"
    )
    prepare.set_defaults(handler=run_prepare)


def _progress() -> Console:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


def run_up(args: argparse.Namespace) -> int:
    import dataclasses

    from stack import stack_up
    from stack.redis_cluster import cluster_url

    settings = load_settings()
    if args.redis_cluster and not settings.redis_is_cluster:
        settings = dataclasses.replace(settings, redis=cluster_url())
    print_status(stack_up(settings, _progress()))
    if args.redis_cluster:
        print(f"point chotdon at it: export CHOTDON_REDIS={settings.redis}")
    return 0


def run_down(args: argparse.Namespace) -> int:
    from stack import stack_down, stack_purge

    settings = load_settings()
    stop = stack_purge if args.purge else stack_down
    stopped = stop(settings, _progress())
    for line in stopped:
        print(f"stopped {line}")
    if not stopped:
        print(f"nothing to stop in {settings.stack_dir}")
    if args.purge:
        print(f"deleted Kafka's and Redis's data and logs in {settings.stack_dir}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    from stack import stack_status

    print_status(stack_status(load_settings()))
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    from stack import kafka_lib_dir, stack_prepare

    settings = load_settings()
    stack_prepare(settings, _progress())
    print(f"ready: Kafka jars in {kafka_lib_dir(settings)}, redis-server installed")
    return 0


def print_status(status: StackStatus) -> None:
    from rich.console import Console

    console = Console(soft_wrap=True, highlight=False)
    for service in status.services:
        state = "[green]up[/green]  " if service.running else "[red]down[/red]"
        pid = f"  pid {service.pid}" if service.pid else ""
        note = f"  ({service.note})" if service.note else ""
        console.print(f"{service.name:<6} {state} {service.address}{pid}{note}")
        console.print(f"{'':<6} data {service.data_dir}")
        console.print(f"{'':<6} log  {service.log_file}")
