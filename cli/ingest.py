"""`chotdon ingest --source NAME FILE`: a platform payload as Comments, one JSON per line.

Turns what a platform sent (a Graph API page of live-video comments, an SSE stream, a Page
webhook delivery, TikTok LIVE events, a YouTube liveChatMessages page, a Shopee comment list)
into chotdon's Comments, ready for `chotdon replay -`:

    chotdon ingest --source shopee page.json --shop shop-demo --livestream L1 | chotdon replay -
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from connectors.sources import ADAPTERS


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ingest",
        help="turn a platform payload into Comments (JSON lines)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--source", required=True, choices=sorted(ADAPTERS))
    parser.add_argument("file", type=Path, metavar="FILE", help="the payload; '-' reads stdin")
    parser.add_argument("--shop", required=True, metavar="SHOP_ID")
    parser.add_argument("--livestream", required=True, metavar="ID")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cli.main import UserError
    from connectors.sources import SourceError

    try:
        raw = sys.stdin.buffer.read() if str(args.file) == "-" else args.file.read_bytes()
    except OSError as exc:
        raise UserError(f"{args.file}: {exc.strerror}") from None
    try:
        comments = ADAPTERS[args.source](raw, shop_id=args.shop, livestream_id=args.livestream)
    except SourceError as exc:
        raise UserError(f"{args.file}: {exc}") from None
    out = sys.stdout.buffer
    for comment in comments:
        out.write(comment.to_json() + b"\n")
    return 0
