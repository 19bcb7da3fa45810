"""`chotdon worker`: run the agents (several workers share the partitions)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from config.settings import load_settings


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run the agents: comments to drafts, staff commands, automation rules",
        description=(
            "The comment intake consumes the comments topic in whole fetches (its own group, "
            "<app id>.comments), applies each batch to Redis with one atomic call per "
            "livestream, publishes draft events and dead letters, and resumes where the store "
            "says after a rebalance or a Redis that lost writes. The "
            "command agent applies staff commands and publishes their outcomes, orders and "
            "order events. The automation intake runs the shop's rules on order and draft "
            "events, read in whole fetches (its own group, <app id>.automation; first started "
            "where the agents' group <app id> had committed). Run several workers to share "
            "the partitions. Settings come from CHOTDON_* environment variables."
        ),
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve Prometheus metrics here (default CHOTDON_METRICS_PORT or 9464; 0 = off)",
    )
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning"])
    parser.add_argument("--batch-size", type=int, default=None,
                        help="records per batch at most (default 2000)")  # fmt: skip
    parser.add_argument(
        "--agents",
        default="comments,commands,automation",
        metavar="LIST",
        help="which agents to run (default all: comments,commands,automation); workers with "
        "different agents scale apart, e.g. more comment workers during a flood",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from prometheus_client import start_http_server

    from stream.app import Tuning, Worker, create_app

    settings = load_settings()
    port = settings.metrics_port if args.metrics_port is None else args.metrics_port
    if port:
        try:
            start_http_server(port, addr="127.0.0.1")
        except OSError as exc:
            logging.getLogger("chotdon.worker").warning(
                "metrics not served: port %d is taken (%s); set --metrics-port", port, exc
            )
    tuning = Tuning() if args.batch_size is None else Tuning(batch_size=args.batch_size)
    agents = [name.strip() for name in args.agents.split(",") if name.strip()]
    try:
        app = create_app(settings, tuning, agents)
    except ValueError as exc:
        from cli.main import UserError

        raise UserError(str(exc)) from None

    worker = Worker(app, loglevel=args.loglevel, quiet=True)
    worker.execute_from_commandline()
    return 0
