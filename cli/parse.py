"""`chotdon parse`: read comments as the shop's syntax does, before going live.

Input: JSON lines `{"id": "...", "text": "..."}` on standard input (or `--text` arguments).
Output: one parse result per line, in input order. A bad line is reported on standard error
with its line number; the other lines are still processed, and the exit status is then 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from config.loader import load_shop
from parsers import Grammar, ParseResult, compile_grammar


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "parse",
        help="read comments (JSON lines on stdin) with a shop's syntax",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", required=True, metavar="SHOP.toml", help="shop configuration")
    parser.add_argument(
        "--text",
        action="append",
        metavar="COMMENT",
        help="parse this comment instead of reading stdin (repeatable)",
    )
    parser.add_argument(
        "--table", action="store_true", help="print a readable table instead of JSON lines"
    )
    parser.set_defaults(handler=run)


class LineError(ValueError):
    pass


def read_comment(line: bytes) -> tuple[str, str]:
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise LineError(f"not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise LineError('expected an object like {"id": "c1", "text": "chốt A12"}')
    text = document.get("text")
    if not isinstance(text, str):
        raise LineError('missing "text" (a string)')
    comment_id = document.get("id", "")
    if not isinstance(comment_id, str | int):
        raise LineError('"id" must be a string')
    return str(comment_id), text


def parse_lines(
    grammar: Grammar, lines: Iterable[bytes], on_error: Callable[[int, str], None]
) -> Iterator[ParseResult]:
    """Parse results for the good lines; `on_error(line number, reason)` for each bad one."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            comment_id, text = read_comment(line)
        except LineError as exc:
            on_error(number, str(exc))
            continue
        yield grammar.parse(text, comment_id)


def _print_table(results: list[ParseResult], texts: dict[str, str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "comment", "intent", "phone", "items")
    for result in results:
        items = "\n".join(
            f"{item.code} ×{item.qty} "
            + " ".join(f"{k}={v}" for k, v in item.attributes.items())
            + f" [{item.status}]"
            for item in result.items
        )
        colour = {"order": "green", "cancel": "red"}.get(result.intent, "dim")
        table.add_row(
            result.comment_id,
            texts.get(result.comment_id, ""),
            f"[{colour}]{result.intent}[/]",
            result.phone or "",
            items,
        )
    Console().print(table)


def run(args: argparse.Namespace) -> int:
    grammar = compile_grammar(load_shop(args.config))
    if args.text:
        lines: Iterable[bytes] = [
            orjson.dumps({"id": str(n), "text": t}) for n, t in enumerate(args.text, start=1)
        ]
    else:
        lines = sys.stdin.buffer

    bad_lines: list[int] = []

    def report(number: int, reason: str) -> None:
        bad_lines.append(number)
        sys.stderr.write(f"line {number}: {reason}\n")

    results = parse_lines(grammar, lines, report)
    if args.table:
        collected = list(results)
        texts = {}
        if args.text:
            texts = {str(n): t for n, t in enumerate(args.text, start=1)}
        _print_table(collected, texts)
    else:
        out = sys.stdout.buffer
        for result in results:
            out.write(orjson.dumps(result.to_dict()) + b"\n")
        out.flush()
    return 1 if bad_lines else 0
