"""`chotdon demo`: a whole livestream from nothing, on the local stack.

Brings the local Kafka and Redis up, starts the sample livestream for the sample shop,
starts a worker, replays a few thousand generated comments from hundreds of customers, waits
until every one is applied, and shows the numbered draft orders. Then staff finish the first
complete draft with two commands (the delivery address, with a pre-2025 province name, then
finalise), as `chotdon order` sends them. Running it again changes nothing: the same comments
are recognised and not applied twice, and the same commands (same ids) act once.

Last, the staff dashboard: demo accounts for the shop's staff (Lan, sales; Thu, manager), and
`chotdon serve` on CHOTDON_HTTP_PORT with the worker still running, until Ctrl-C. It prints the
address and the login. The password is $CHOTDON_DEMO_PASSWORD, or a new random one each run
(it is never stored in clear). `--no-dashboard` stops after the drafts, for scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from config.settings import Settings, load_settings

DEMO_LIVESTREAM = "live-demo"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="replay a sample livestream end to end", description=__doc__
    )
    parser.add_argument("--comments", type=int, default=3000)
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--livestream", default=DEMO_LIVESTREAM)
    parser.add_argument("--show", type=int, default=25, help="drafts to show (default 25)")
    parser.add_argument("--no-dashboard", action="store_true",
                        help="end after the drafts, without the dashboard")  # fmt: skip
    parser.set_defaults(handler=run)


def _start_worker(settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
    log = log_path.open("ab")
    command = [str(Path(sys.executable).with_name("chotdon")), "worker", "--loglevel", "warning"]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())


def _stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


async def _wait_applied(
    settings: Settings,
    shop_id: str,
    livestream_id: str,
    last_offset: int,
    worker: subprocess.Popen[bytes],
    log_path: Path,
    limit_seconds: float = 300.0,
) -> None:
    from rich.progress import Progress

    from cli.main import UserError
    from orders.store import DraftStore

    deadline = time.monotonic() + limit_seconds
    async with DraftStore.connect(settings.redis) as store:
        with Progress(transient=True) as progress:
            task = progress.add_task("worker applying comments", total=last_offset + 1)
            while True:
                watermark, _ = await store.progress(shop_id, livestream_id)
                progress.update(task, completed=watermark + 1)
                if watermark >= last_offset:
                    return
                if worker.poll() is not None:
                    raise UserError(
                        f"the worker stopped (exit {worker.returncode}); see {log_path}"
                    )
                if time.monotonic() > deadline:
                    raise UserError(
                        f"comments not applied after {limit_seconds:.0f}s; see {log_path}"
                    )
                await asyncio.sleep(0.2)


async def _register(settings: Settings, livestream_id: str) -> str:
    from cli.samples import DEMO_SHOP
    from config.loader import load_shop
    from stream.livestreams import start_livestream

    shop = load_shop(DEMO_SHOP)
    await start_livestream(settings, shop, livestream_id)
    return shop.shop.id


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from cli.drafts import load_drafts, print_table
    from cli.replay import produce
    from cli.samples import generate
    from stack import stack_up

    console = Console(stderr=True)
    settings = load_settings()
    console.print("[bold]1.[/] local stack (Kafka + Redis)")
    stack_up(settings)
    console.print(f"[bold]2.[/] livestream [cyan]{args.livestream}[/] for the sample shop")
    shop_id = asyncio.run(_register(settings, args.livestream))
    comments = generate(
        args.comments, args.customers, livestream_id=args.livestream, shop_id=shop_id
    )
    demo_dir = settings.stack_dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    sample = demo_dir / f"{args.livestream}.jsonl"
    sample.write_bytes(b"".join(c.to_json() + b"\n" for c in comments))
    log_path = demo_dir / "worker.log"
    console.print(f"[bold]3.[/] worker (log: {log_path})")
    worker = _start_worker(settings, log_path)
    try:
        console.print(f"[bold]4.[/] replaying {len(comments)} comments ({sample})")
        offsets = asyncio.run(produce(settings, comments, rate=None, now=False, quiet=False))
        last = max(offset for _, offset in offsets)
        asyncio.run(_wait_applied(settings, shop_id, args.livestream, last, worker, log_path))
        drafts = asyncio.run(load_drafts(settings.redis, args.livestream))
        print_table(args.livestream, drafts[: args.show], total=len(drafts))
        finished = _finish_one(settings, console, args.livestream, drafts)
        _summary(console, args.livestream, drafts, args.show, finished)
        if not args.no_dashboard:
            _dashboard(settings, console, shop_id, args.livestream)
    finally:
        _stop_worker(worker)
    return 0


def _summary(
    console: Any, livestream: str, drafts: list[dict[str, Any]], shown: int, finished: bool
) -> None:
    waiting = sum(1 for d in drafts for line in d["lines"] if line["waitlist"] is not None)
    unknown = sum(1 for d in drafts for line in d["lines"] if line["status"] == "unknown_code")
    console.print(
        f"{len(drafts)} drafts (showing {min(shown, len(drafts))}); {waiting} lines "
        f"waiting for stock; {unknown} unknown-code lines for staff to re-pick.\n"
        f"All of them: chotdon drafts --livestream {livestream} [--json]"
    )
    if finished:
        console.print(
            f"Finish more: chotdon order set-customer|finalise --livestream {livestream} "
            "--seq N … --staff lan; then chotdon orders, chotdon stats (with a worker running)."
        )


DEMO_ACCOUNTS = (("lan", "sales"), ("thu", "manager"))


def _dashboard(settings: Settings, console: Any, shop_id: str, livestream: str) -> None:
    """Demo accounts, then the dashboard in the foreground until Ctrl-C (the worker runs on)."""
    import secrets

    from web.app import serve

    password = os.environ.get("CHOTDON_DEMO_PASSWORD") or secrets.token_urlsafe(9)
    asyncio.run(_demo_accounts(settings, shop_id, password))
    url = f"http://{settings.http_host}:{settings.http_port}/live/{livestream}"
    console.print(
        f"[bold]6.[/] the staff dashboard: [cyan]{url}[/]\n"
        f"   log in: shop [bold]{shop_id}[/], staff [bold]thu[/] (manager) or [bold]lan[/] "
        f"(sales), password [bold]{password}[/]\n"
        "   (the worker keeps running: comments and commands still flow; Ctrl-C stops both)"
    )
    serve(settings, settings.http_host, settings.http_port, log_level="warning")


async def _demo_accounts(settings: Settings, shop_id: str, password: str) -> None:
    from orders.connection import redis_client
    from web.accounts import AccountStore

    client = redis_client(settings.redis)
    try:
        accounts = AccountStore(client)
        for staff, role in DEMO_ACCOUNTS:
            await accounts.put_account(shop_id, staff, role, password)
    finally:
        await client.aclose()


def _finishable(draft: dict[str, Any]) -> bool:
    """Open, and complete but for the delivery address the demo's staff then type."""
    from orders.checks.finalise import finalise_problems

    if draft["status"] != "open":
        return False
    missing = {problem.code for problem in finalise_problems(draft)}
    return missing <= {"missing_address", "missing_province"}


def _finish_one(
    settings: Settings, console: Any, livestream_id: str, drafts: list[dict[str, Any]]
) -> bool:
    """Staff finish the first complete draft: the same one on every run (the one finished
    before, once it is), with the same command ids, so a second demo changes nothing."""
    from cli.outcomes import outcome_lines
    from orders.commands import Finalise, SetCustomer
    from stream.client import send_command

    draft = next((d for d in drafts if d["status"] == "finalised"), None) or next(
        (d for d in drafts if _finishable(d)), None
    )
    if draft is None:
        return False
    seq = draft["seq"]
    common = {"staff_id": "lan", "issued_at": draft["updated_at"], "livestream_id": livestream_id,
              "seq": seq}  # fmt: skip
    console.print(f"[bold]5.[/] staff finish draft #{seq}: delivery address, then finalise")
    address = SetCustomer(command_id=f"demo-{livestream_id}-{seq}-address", **common,
                          address="12 Lê Lợi, phường Đông Hà", province="Quảng Bình")  # fmt: skip
    finalise = Finalise(command_id=f"demo-{livestream_id}-{seq}-create", **common,
                        action="create")  # fmt: skip
    for command in (address, finalise):
        outcome = asyncio.run(send_command(settings, command))
        console.print("\n".join(outcome_lines(outcome)), markup=False, highlight=False)
        if outcome.status != "applied":
            return False
    return True
