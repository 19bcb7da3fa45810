"""`chotdon connect`: the platform connectors of one or more shops as one long-running process.

For every `[[connectors.live]]` of the shop configuration (or those named with --livestream)
it follows the platform's live and produces its comments to `chotdon.comments` (no replay
step), storing each reader's cursor in Redis once Kafka has the comments; it delivers the
customer messages of `chotdon.messages.outbound` through the platforms' send APIs (unless
--no-sender); with --webhook-port it also serves the Facebook Page webhook at
`/webhooks/facebook`. Secrets come from the environment variables the configuration names.

Exit status: 0 when every live ended (or on SIGTERM), 3 when a platform refused a token
(renew it and run again: it resumes from the cursor), 4 when a platform refused a request
for good, 1 for a configuration or a missing secret.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "connect",
        help="follow the shops' lives on Facebook, YouTube, TikTok, Shopee; send messages",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--shop",
        required=True,
        type=Path,
        action="append",
        metavar="SHOP.toml",
        help="a shop configuration with [connectors] (repeat for several)",
    )
    parser.add_argument(
        "--livestream",
        action="append",
        default=[],
        metavar="ID",
        help="only these livestreams (repeatable; default every one configured)",
    )
    parser.add_argument(
        "--no-sender",
        action="store_true",
        help="do not deliver outbound messages (another process does)",
    )
    parser.add_argument(
        "--no-readers", action="store_true", help="only the sender (and the webhook, if asked)"
    )
    parser.add_argument(
        "--webhook-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve the Facebook Page webhook on this port",
    )
    parser.add_argument("--webhook-host", default="0.0.0.0", metavar="HOST")
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="Prometheus metrics (default CHOTDON_METRICS_PORT + 1; 0 = off)",
    )
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning"])
    parser.set_defaults(handler=run)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import asyncio

    from cli.main import UserError
    from config.loader import load_shop
    from config.settings import load_platform_urls, load_settings
    from connectors import service

    logging.basicConfig(level=args.loglevel.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    settings = load_settings()
    urls = load_platform_urls()
    shops = [load_shop(path) for path in args.shop]
    nothing = not any(shop.connectors.live for shop in shops) and not args.webhook_port
    if nothing and args.no_sender:
        raise UserError("nothing to run: no [[connectors.live]] in the shop configuration")
    try:
        the_plan = service.plan(
            shops, service.environ(), livestreams=args.livestream,
            sender=not args.no_sender, webhook_port=args.webhook_port,
        )  # fmt: skip
    except service.MissingSecret as exc:
        raise UserError(str(exc)) from None
    if args.no_readers:
        the_plan.lives = []
    the_plan.webhook_host = args.webhook_host
    port = settings.metrics_port + 1 if args.metrics_port is None else args.metrics_port
    if port:
        from prometheus_client import start_http_server

        try:
            start_http_server(port, addr="127.0.0.1")
        except OSError as exc:
            logging.getLogger("chotdon.connect").warning(
                "metrics not served: port %d is taken (%s); set --metrics-port", port, exc
            )
    return asyncio.run(service.run(settings, urls, the_plan))
