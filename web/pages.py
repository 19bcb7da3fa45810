"""The dashboard's pages: server-rendered shells (Jinja2) whose scripts talk to the API.

The login is a plain HTML form (it works without scripts), protected against login CSRF by a
token in a cookie and the form. Every other page needs a session; without one it sends the
browser to the login page and back to where it was going.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from orders.automation.messages import vnd
from orders.checks.provinces import provinces
from orders.shop.stats import order_stats
from web.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, Principal, principal, same_secret
from web.errors import ApiError
from web.i18n import language, strings, translator
from web.printing import load_orders
from web.roles import Action, allowed_actions, may
from web.services import services
from web.stats_chart import bar_chart

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
TEMPLATES.env.filters["vnd"] = vnd
router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path of this site (no `//evil.example`), else the home page."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


class LoginRequired(Exception):
    """A page asked for without a session: answered by sending the browser to the login page
    and back here afterwards (`login_redirect`, registered by web/app.py)."""


async def logged_in(request: Request) -> Principal:
    try:
        return await principal(request)
    except ApiError as error:
        if error.status == 401:
            raise LoginRequired from None
        raise


async def login_redirect(request: Request, _error: Exception) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


async def _page(
    request: Request, who: Principal, template: str, active: str, **data: Any
) -> HTMLResponse:
    svc = services(request)
    shop = await svc.shop(who.shop_id)
    lang = language(request.cookies.get("lang"))
    boot = {
        "lang": lang,
        "strings": strings(lang),
        "csrf": who.csrf,
        "me": {"shop_id": who.shop_id, "staff_id": who.staff_id, "role": who.role,
               "may": allowed_actions(who.role, shop.permissions)},
        "statuses": [s.model_dump() for s in shop.workflow.statuses],
        "staff": [p.model_dump() for p in shop.staff],
        **data,
    }  # fmt: skip
    context = {
        "t": translator(lang),
        "lang": lang,
        "who": who,
        "shop": shop,
        "active": active,
        "may": lambda action: may(who.role, Action(action), shop.permissions),
        "boot": orjson.dumps(boot).decode().replace("</", "<\\/"),
        **data,
    }
    return TEMPLATES.TemplateResponse(request, template, context)


# -- login ----------------------------------------------------------------------------------


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _login_page(request, next, error=None, status=200)


def _login_page(
    request: Request, next_path: str, error: str | None, status: int, shop_id: str = ""
) -> HTMLResponse:
    lang = language(request.cookies.get("lang"))
    token = secrets.token_urlsafe(24)
    response = TEMPLATES.TemplateResponse(
        request,
        "login.html",
        {
            "t": translator(lang),
            "lang": lang,
            "next": _safe_next(next_path),
            "error": error,
            "login_csrf": token,
            "shop_id": shop_id,
        },
        status_code=status,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=bool(services(request).settings.cookie_secure))  # fmt: skip
    return response


@router.post("/login")
async def login(
    request: Request,
    shop_id: str = Form(...),
    staff_id: str = Form(...),
    password: str = Form(...),
    login_csrf: str = Form(""),
    next: str = Form("/"),
) -> Response:
    svc = services(request)
    lang = language(request.cookies.get("lang"))
    shop_id, staff_id = shop_id.strip(), staff_id.strip()
    if not same_secret(request.cookies.get(LOGIN_CSRF_COOKIE), login_csrf or "-"):
        message = strings(lang)["login"] + ": " + ("reload the page" if lang == "en"
                                                   else "tải lại trang")  # fmt: skip
        return _login_page(request, next, message, 403, shop_id)
    address = request.client.host if request.client else "?"
    wait = await svc.accounts.login_blocked_for(shop_id, staff_id, address)
    if wait:
        error = ApiError.of(429, "login_blocked", seconds=wait).reasons[0]
        page = _login_page(request, next, error.en if lang == "en" else error.vi, 429, shop_id)
        page.headers["Retry-After"] = str(wait)
        return page
    account = await svc.accounts.check_password(shop_id, staff_id, password)
    if account is None:
        await svc.accounts.note_failed_login(shop_id, staff_id, address)
        error = ApiError.of(401, "login_failed").reasons[0]
        return _login_page(request, next, error.en if lang == "en" else error.vi, 401, shop_id)
    await svc.accounts.clear_failed_logins(shop_id, staff_id)
    session_id, _session = await svc.accounts.open_session(account)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, session_id, httponly=True, samesite="lax",
        secure=bool(svc.settings.cookie_secure), max_age=svc.settings.session_hours * 3600,
    )  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await principal(request)  # a session, and its CSRF token: nobody logs anyone out by a link
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await services(request).accounts.close_session(session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# -- pages ----------------------------------------------------------------------------------


@router.get("/")
async def home(request: Request) -> Response:
    who = await logged_in(request)
    lives = await services(request).drafts.livestreams(who.shop_id)
    open_lives = [live for live in lives if live.open]
    if open_lives:
        return RedirectResponse(f"/live/{quote(open_lives[0].livestream_id)}", status_code=303)
    return RedirectResponse("/live", status_code=303)


@router.get("/live")
async def livestreams_page(request: Request) -> Response:
    who = await logged_in(request)
    lives = await services(request).drafts.livestreams(who.shop_id)
    return await _page(request, who, "livestreams.html", "live", livestreams=lives)


@router.get("/live/{livestream_id}")
async def board_page(request: Request, livestream_id: str) -> Response:
    who = await logged_in(request)
    await services(request).livestream(who.shop_id, livestream_id)
    return await _page(request, who, "board.html", "live", livestream_id=livestream_id,
                       provinces=[p.name for p in provinces()])  # fmt: skip


@router.get("/orders")
async def orders_page(request: Request) -> Response:
    who = await logged_in(request)
    lives = await services(request).drafts.livestreams(who.shop_id)
    return await _page(request, who, "orders.html", "orders",
                       livestream_ids=[live.livestream_id for live in lives])  # fmt: skip


@router.get("/customers")
async def customers_page(request: Request) -> Response:
    who = await logged_in(request)
    return await _page(request, who, "customers.html", "customers")


@router.get("/chats")
async def chats_page(request: Request) -> Response:
    who = await logged_in(request)
    shop = await services(request).shop(who.shop_id)
    products = [p.model_dump() for p in shop.products]
    return await _page(request, who, "chats.html", "chats", products=products,
                       provinces=[p.name for p in provinces()])  # fmt: skip


@router.get("/messages")
async def messages_page(request: Request) -> Response:
    who = await logged_in(request)
    svc = services(request)
    latest = list(reversed(await svc.shops.messages(who.shop_id, limit=500)))
    found = await svc.with_delivery(who.shop_id, latest)
    return await _page(request, who, "messages.html", "messages", messages=found)


@router.get("/stats")
async def stats_page(request: Request) -> Response:
    who = await logged_in(request)
    svc = services(request)
    shop = await svc.shop(who.shop_id)
    if not may(who.role, Action.STATS, shop.permissions):
        return await _page(request, who, "forbidden.html", "stats")
    stats = order_stats(await svc.shops.orders(who.shop_id), shop.workflow)
    colours = {status.key: status.color for status in shop.workflow.statuses}
    charts = {
        "by_status": bar_chart([(s.name, s.revenue, colours.get(s.key, "#9e9e9e"), s.total)
                                for s in stats.statuses]),
        "by_livestream": bar_chart([(b.key, b.revenue, "#1e88e5", b.total)
                                    for b in stats.by_livestream]),
        "by_staff": bar_chart([(b.key, b.revenue, "#8e24aa", b.total) for b in stats.by_staff]),
        "by_day": bar_chart([(b.key, b.revenue, "#43a047", b.total) for b in stats.by_day]),
    }  # fmt: skip
    return await _page(request, who, "stats.html", "stats", stats=stats, charts=charts)


@router.get("/print")
async def print_page(
    request: Request, ids: list[str] = Query(...), kind: Literal["slip", "label"] = "slip"
) -> Response:
    who = await logged_in(request)
    orders = await load_orders(request, who, ids)
    shop = await services(request).shop(who.shop_id)
    lang = language(request.cookies.get("lang"))
    return TEMPLATES.TemplateResponse(
        request,
        "print.html",
        {
            "t": translator(lang),
            "lang": lang,
            "orders": orders,
            "kind": kind,
            "shop_name": shop.shop.name,
        },
    )
