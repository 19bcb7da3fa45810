"""Staff accounts, dashboard sessions, API tokens and the brake on guessed passwords, in Redis.

    chotdon:{<shop>}:accounts          hash  staff id -> {"staff_id", "role", "password",
                                              "created_at", "updated_at"} (argon2id hash)
    chotdon:session:<sha256 of id>     str   {"shop_id", "staff_id", "csrf", "created_at"},
                                              expires after the session's idle time
    chotdon:token:<sha256 of token>    str   {"shop_id", "staff_id", "label", "created_at",
                                              "expires_at"}, expires with the token
    chotdon:{<shop>}:tokens:<staff>    set   that staff member's token hashes (to revoke them)
    chotdon:loginfail:<who>            str   failed logins in the current window (counter)

Sessions and tokens are kept as the SHA-256 of the secret the client holds: a copy of Redis
lets nobody in. The role is read from the account on every request, so a changed role or a
removed account takes effect at once. Passwords are hashed with argon2id (argon2-cffi, in a
thread: a hash takes tens of milliseconds by design).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from orders.shop.store import shop_prefix
from web.roles import ROLES

TOKEN_PREFIX = "cht_"
LOGIN_WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 30
MIN_PASSWORD_LENGTH = 10
_HASHER = PasswordHasher()
# Verified against when the account does not exist, so that a wrong staff id takes as long to
# refuse as a wrong password (no telling which staff ids exist by timing).
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """An account cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class Account:
    shop_id: str
    staff_id: str
    role: str


@dataclass(frozen=True, slots=True)
class Session:
    shop_id: str
    staff_id: str
    csrf: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def accounts_key(shop_id: str) -> str:
    return f"{shop_prefix(shop_id)}:accounts"


def _tokens_key(shop_id: str, staff_id: str) -> str:
    return f"{shop_prefix(shop_id)}:tokens:{staff_id}"


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if password.strip() != password:
        return "a password may not start or end with spaces"
    return None


class AccountStore:
    def __init__(self, redis: Redis, session_hours: int = 12) -> None:
        self._redis = redis
        self._session_seconds = session_hours * 3600

    # -- accounts -----------------------------------------------------------------------------

    async def put_account(self, shop_id: str, staff_id: str, role: str, password: str) -> bool:
        """Create the account, or give an existing one this role and password; True if new."""
        if role not in ROLES:
            raise AccountError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        problem = password_problem(password)
        if problem:
            raise AccountError(problem)
        hashed = await asyncio.to_thread(_HASHER.hash, password)
        key = accounts_key(shop_id)
        old = await self._redis.hget(key, staff_id)
        created = orjson.loads(old)["created_at"] if old else _now()
        record = {"staff_id": staff_id, "role": role, "password": hashed,
                  "created_at": created, "updated_at": _now()}  # fmt: skip
        await self._redis.hset(key, staff_id, orjson.dumps(record))
        return old is None

    async def remove_account(self, shop_id: str, staff_id: str) -> bool:
        """Remove the account and end its sessions' use (they find no account) and tokens."""
        await self.revoke_tokens(shop_id, staff_id)
        return bool(await self._redis.hdel(accounts_key(shop_id), staff_id))

    async def account(self, shop_id: str, staff_id: str) -> Account | None:
        raw = await self._redis.hget(accounts_key(shop_id), staff_id)
        if raw is None:
            return None
        return Account(shop_id, staff_id, orjson.loads(raw)["role"])

    async def accounts(self, shop_id: str) -> list[Account]:
        raw = await self._redis.hgetall(accounts_key(shop_id))
        found = [orjson.loads(value) for value in raw.values()]
        return sorted((Account(shop_id, a["staff_id"], a["role"]) for a in found),
                      key=lambda a: a.staff_id)  # fmt: skip

    async def check_password(self, shop_id: str, staff_id: str, password: str) -> Account | None:
        """The account if the password is its password (the same work either way)."""
        raw = await self._redis.hget(accounts_key(shop_id), staff_id)
        record: dict[str, Any] | None = orjson.loads(raw) if raw is not None else None
        hashed = record["password"] if record else _DUMMY_HASH
        try:
            await asyncio.to_thread(_HASHER.verify, hashed, password)
        except (VerificationError, InvalidHashError):
            return None
        if record is None:
            return None
        return Account(shop_id, staff_id, record["role"])

    # -- failed logins --------------------------------------------------------------------

    async def login_blocked_for(self, shop_id: str, staff_id: str, address: str) -> int:
        """Seconds until this account, or this client address, may try again (0: now)."""
        keys = self._failure_keys(shop_id, staff_id, address)
        counts = [await self._redis.get(key) for key in keys]  # one slot each on a Cluster
        limits = (MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS)
        waits = []
        for key, count, limit in zip(keys, counts, limits, strict=True):
            if count is not None and int(count) >= limit:
                waits.append(max(1, int(await self._redis.ttl(key))))
        return max(waits, default=0)

    async def note_failed_login(self, shop_id: str, staff_id: str, address: str) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in self._failure_keys(shop_id, staff_id, address):
                pipe.incr(key)
                pipe.expire(key, LOGIN_WINDOW_SECONDS, nx=True)
            await pipe.execute()

    async def clear_failed_logins(self, shop_id: str, staff_id: str) -> None:
        await self._redis.delete(f"chotdon:loginfail:account:{shop_id}:{staff_id}")

    @staticmethod
    def _failure_keys(shop_id: str, staff_id: str, address: str) -> tuple[str, str]:
        return (f"chotdon:loginfail:account:{shop_id}:{staff_id}",
                f"chotdon:loginfail:address:{address}")  # fmt: skip

    # -- sessions -------------------------------------------------------------------------

    async def open_session(self, account: Account) -> tuple[str, Session]:
        """A new session: the id for the cookie (shown once) and the session."""
        session_id = secrets.token_urlsafe(32)
        session = Session(account.shop_id, account.staff_id, secrets.token_urlsafe(32))
        record = {"shop_id": session.shop_id, "staff_id": session.staff_id,
                  "csrf": session.csrf, "created_at": _now()}  # fmt: skip
        await self._redis.set(
            f"chotdon:session:{_digest(session_id)}", orjson.dumps(record),
            ex=self._session_seconds,
        )  # fmt: skip
        return session_id, session

    async def session(self, session_id: str) -> Session | None:
        """The session, renewed for another idle period; None once expired or closed."""
        key = f"chotdon:session:{_digest(session_id)}"
        raw = await self._redis.getex(key, ex=self._session_seconds)
        if raw is None:
            return None
        record = orjson.loads(raw)
        return Session(record["shop_id"], record["staff_id"], record["csrf"])

    async def close_session(self, session_id: str) -> None:
        await self._redis.delete(f"chotdon:session:{_digest(session_id)}")

    # -- API tokens -----------------------------------------------------------------------

    async def issue_token(
        self, shop_id: str, staff_id: str, days: int, label: str = ""
    ) -> tuple[str, datetime]:
        """A bearer token for an API client (shown once) and when it expires."""
        if await self.account(shop_id, staff_id) is None:
            raise AccountError(f"shop {shop_id} has no account {staff_id!r}: add it first")
        if not 1 <= days <= 3650:
            raise AccountError("a token lasts 1 to 3650 days")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(days=days)
        record = {
            "shop_id": shop_id,
            "staff_id": staff_id,
            "label": label,
            "created_at": _now(),
            "expires_at": expires.isoformat(timespec="seconds"),
        }
        digest = _digest(token)  # fmt: skip
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(f"chotdon:token:{digest}", orjson.dumps(record), ex=days * 86400)
            pipe.sadd(_tokens_key(shop_id, staff_id), digest)
            await pipe.execute()
        return token, expires

    async def token(self, token: str) -> Account | None:
        """The account a bearer token acts for; None for an unknown, expired or revoked one."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        raw = await self._redis.get(f"chotdon:token:{_digest(token)}")
        if raw is None:
            return None
        record = orjson.loads(raw)
        return await self.account(record["shop_id"], record["staff_id"])

    async def revoke_tokens(self, shop_id: str, staff_id: str) -> int:
        key = _tokens_key(shop_id, staff_id)
        digests = [d.decode() if isinstance(d, bytes) else d
                   for d in await self._redis.smembers(key)]  # fmt: skip
        for digest in digests:  # one key at a time: each lives in its own Cluster slot
            await self._redis.delete(f"chotdon:token:{digest}")
        await self._redis.delete(key)
        return len(digests)
