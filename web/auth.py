"""Who is calling, and may they: the dependencies every route but /healthz and the login uses.

A browser holds a session cookie (HttpOnly, SameSite=Lax) and sends the session's CSRF token
in the `X-CSRF-Token` header (or a `csrf_token` form field) with every request that changes
something; an API client sends `Authorization: Bearer <token>` (`chotdon staff token`) and no
cookie, so it needs no CSRF token. A staff member acts on their own shop only: every route
takes the shop from the caller, never from the request.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends, Request

from web.errors import ApiError
from web.roles import Action, may
from web.services import services

SESSION_COOKIE = "chotdon_session"
LOGIN_CSRF_COOKIE = "chotdon_login"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Principal:
    shop_id: str
    staff_id: str
    role: str
    csrf: str | None  # the session's CSRF token; None for a bearer token


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison: how long it takes says nothing about how much matched."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


async def principal(request: Request) -> Principal:
    found: Principal | None = getattr(request.state, "principal", None)
    if found is not None:
        return found
    found = await _authenticate(request)
    request.state.principal = found
    return found


async def _authenticate(request: Request) -> Principal:
    accounts = services(request).accounts
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        account = await accounts.token(token.strip()) if scheme.lower() == "bearer" else None
        if account is None:
            raise ApiError.of(401, "not_authenticated", headers={"WWW-Authenticate": "Bearer"})
        return Principal(account.shop_id, account.staff_id, account.role, None)
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        raise ApiError.of(401, "not_authenticated")
    session = await accounts.session(session_id)
    account = None if session is None else await accounts.account(session.shop_id, session.staff_id)
    if session is None or account is None:
        raise ApiError.of(401, "session_expired")
    if request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER)
        if given is None and _is_form(request):
            given = str((await request.form()).get("csrf_token") or "") or None
        if not same_secret(given, session.csrf):
            raise ApiError.of(403, "csrf_missing")
    return Principal(account.shop_id, account.staff_id, account.role, session.csrf)


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def require(action: Action) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the caller, if their role may do `action` in their shop."""

    async def allowed(request: Request, who: Principal = Depends(principal)) -> Principal:
        shop = await services(request).shop(who.shop_id)
        if not may(who.role, action, shop.permissions):
            raise ApiError.of(403, "forbidden_role", role=who.role, action=action.value)
        return who

    return allowed
