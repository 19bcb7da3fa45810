"""Write a sample selling livestream as JSON lines of Comment (see cli/samples.py).

.venv/bin/python benchmarks/sample_live.py --comments 3000 --customers 400 --out live.jsonl
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from cli.samples import DEFAULT_START, DEMO_SHOP, generate
from config.loader import load_shop


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone (add +07:00 or Z)")
    return moment


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--comments", type=int, default=3000, help="how many (default 3000)")
    parser.add_argument("--customers", type=int, default=400, help="how many people (default 400)")
    parser.add_argument("--livestream", default="live-demo", help="livestream id")
    parser.add_argument("--shop", default="shop-demo", help="shop id")
    parser.add_argument("--shop-config", type=Path, default=DEMO_SHOP, help="catalogue (TOML)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rate", type=float, default=10.0, help="comments per second (default 10)")
    parser.add_argument("--start", type=_aware, default=DEFAULT_START, help="ISO time of the first")
    parser.add_argument("--out", type=Path, help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    comments = generate(
        args.comments, args.customers, livestream_id=args.livestream, shop_id=args.shop,
        seed=args.seed, rate=args.rate, start=args.start, shop=load_shop(args.shop_config),
    )  # fmt: skip
    data = b"".join(comment.to_json() + b"\n" for comment in comments)
    if args.out is not None:
        args.out.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
