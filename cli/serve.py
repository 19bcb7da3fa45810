"""`chotdon serve`: the staff dashboard and the HTTP API (FastAPI on uvicorn).

Open http://127.0.0.1:8080 and log in with an account made by `chotdon staff add`. The API is
under /api/v1 (its documentation at /docs once logged in); /healthz says whether Kafka and
Redis are reachable. Commands go through Kafka like the CLI's: run a worker too.
"""

from __future__ import annotations

import argparse
from typing import Any

from config.settings import load_settings


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve", help="the staff dashboard and HTTP API", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    # Settings are read when the command runs: a bad one is then a one-line error, not a crash
    # while the parser is built.
    parser.add_argument("--host", help="address to listen on (default $CHOTDON_HTTP_HOST, else "
                        "127.0.0.1)")  # fmt: skip
    parser.add_argument("--port", type=int, help="port (default $CHOTDON_HTTP_PORT, else 8080)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from web.app import create_app

    settings = load_settings()
    app = create_app(settings)
    uvicorn.run(app, host=args.host or settings.http_host, port=args.port or settings.http_port,
                log_level="info", access_log=False, proxy_headers=False,
                server_header=False)  # fmt: skip
    return 0
