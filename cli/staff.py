"""`chotdon staff add|list|token|remove`: the accounts staff log in to the dashboard with.

    chotdon staff add --shop-id shop-demo --staff lan --role sales     # asks for the password
    chotdon staff token --shop-id shop-demo --staff lan [--days 90]    # a bearer token, once

A password is never an argument (other users of the machine could read it): it is asked for
at the terminal, or read from the environment variable named by --password-env, or from the
first line of standard input with --password-stdin. Adding an account that exists changes its
role and password. A shop that lists its [[staff]] takes accounts for those ids only.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from typing import Any

from config.settings import load_settings


def add_parser(subparsers: Any) -> None:
    staff = subparsers.add_parser(
        "staff", help="staff accounts for the dashboard and API tokens", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    actions = staff.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="create an account, or change its role and password")
    _who(add)
    add.add_argument("--role", required=True, choices=["sales", "manager", "owner"])
    source = add.add_mutually_exclusive_group()
    source.add_argument("--password-env", metavar="VAR", help="read the password from $VAR")
    source.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input")  # fmt: skip
    add.set_defaults(handler=run_add)
    listing = actions.add_parser("list", help="the shop's accounts")
    listing.add_argument("--shop-id", required=True, metavar="SHOP")
    listing.set_defaults(handler=run_list)
    token = actions.add_parser("token", help="a bearer token for an API client (shown once)")
    _who(token)
    token.add_argument("--days", type=int, default=90, help="how long it lasts (default 90)")
    token.add_argument("--label", default="", help="what it is for, e.g. 'shipping sync'")
    token.set_defaults(handler=run_token)
    remove = actions.add_parser("remove", help="remove an account and revoke its tokens")
    _who(remove)
    remove.set_defaults(handler=run_remove)


def _who(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shop-id", required=True, metavar="SHOP")
    parser.add_argument("--staff", required=True, metavar="ID")


def _password(args: argparse.Namespace) -> str:
    from cli.main import UserError

    if args.password_env:
        value = os.environ.get(args.password_env)
        if not value:
            raise UserError(f"${args.password_env} is not set")
        return value
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise UserError("no terminal to ask for the password: use --password-env or "
                        "--password-stdin")  # fmt: skip
    first = getpass.getpass(f"password for {args.staff}: ")
    if getpass.getpass("again: ") != first:
        raise UserError("the two passwords differ")
    return first


async def _add(args: argparse.Namespace, password: str) -> str:
    from cli.main import UserError
    from orders.connection import redis_client
    from orders.shop.store import ShopStore
    from web.accounts import AccountError, AccountStore

    client = redis_client(load_settings().redis)
    try:
        shop = await ShopStore(client).config(args.shop_id)
        if shop is not None and shop.staff and args.staff not in {p.id for p in shop.staff}:
            listed = ", ".join(p.id for p in shop.staff)
            raise UserError(f"shop {args.shop_id} lists its staff ({listed}); {args.staff!r} "
                            "is not one of them: add them to its [[staff]] first")  # fmt: skip
        try:
            created = await AccountStore(client).put_account(
                args.shop_id, args.staff, args.role, password
            )
        except AccountError as error:
            raise UserError(str(error)) from None
    finally:
        await client.aclose()
    note = "" if shop is not None else f" (shop {args.shop_id} is not set up yet)"
    verb = "added" if created else "updated"
    return f"{verb} {args.staff} ({args.role}) in shop {args.shop_id}{note}"


def run_add(args: argparse.Namespace) -> int:
    print(asyncio.run(_add(args, _password(args))))
    return 0


def run_list(args: argparse.Namespace) -> int:
    from orders.connection import redis_client
    from web.accounts import AccountStore

    async def read() -> list[Any]:
        client = redis_client(load_settings().redis)
        try:
            return await AccountStore(client).accounts(args.shop_id)
        finally:
            await client.aclose()

    accounts = asyncio.run(read())
    for account in accounts:
        print(f"{account.staff_id}\t{account.role}")
    if not accounts:
        print(f"shop {args.shop_id} has no accounts: chotdon staff add --shop-id …")
    return 0


def run_token(args: argparse.Namespace) -> int:
    from cli.main import UserError
    from orders.connection import redis_client
    from web.accounts import AccountError, AccountStore

    async def issue() -> tuple[str, Any]:
        client = redis_client(load_settings().redis)
        try:
            return await AccountStore(client).issue_token(
                args.shop_id, args.staff, args.days, args.label
            )
        finally:
            await client.aclose()

    try:
        token, expires = asyncio.run(issue())
    except AccountError as error:
        raise UserError(str(error)) from None
    print(token)
    print(f"acts as {args.staff} in shop {args.shop_id} until {expires:%Y-%m-%d}; shown once: "
          "send it as `Authorization: Bearer <token>`", file=sys.stderr)  # fmt: skip
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from orders.connection import redis_client
    from web.accounts import AccountStore

    async def remove() -> bool:
        client = redis_client(load_settings().redis)
        try:
            return await AccountStore(client).remove_account(args.shop_id, args.staff)
        finally:
            await client.aclose()

    removed = asyncio.run(remove())
    print(f"{'removed' if removed else 'no account'} {args.staff} in shop {args.shop_id}")
    return 0 if removed else 1
