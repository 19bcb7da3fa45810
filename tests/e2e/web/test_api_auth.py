"""Who may call the API: nobody without a session or a token (but /healthz and the login), a
session's changes need its CSRF token, failed logins are braked, a staff member sees their own
shop only, and roles decide what sales staff may do."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from conftest import OTHER_SHOP, WebStack, login
from live_processes import chotdon
from store_support import all_keys

from orders.connection import redis_client

pytestmark = pytest.mark.timeout(300)


async def test_health_answers_without_a_login(web: WebStack) -> None:
    async with httpx.AsyncClient(base_url=web.base_url) as client:
        answer = await client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "redis": "ok", "kafka": "ok"}


async def test_nothing_else_answers_without_auth(web: WebStack, as_staff: Any) -> None:
    """Every route of the OpenAPI document, and the document itself, refuses an anonymous
    caller with 401 (pages send the browser to the login page instead)."""
    thu = await as_staff("thu")
    spec = (await thu.get("/openapi.json")).json()
    assert len(spec["paths"]) > 30
    async with httpx.AsyncClient(base_url=web.base_url) as anonymous:
        for path in ("/openapi.json", "/docs"):
            assert (await anonymous.get(path)).status_code == 401, path
        for path, methods in spec["paths"].items():
            if path == "/healthz":
                continue  # the one route that answers anybody (tested above)
            concrete = re.sub(r"\{[^}]+\}", "1", path)
            for method in methods:
                answer = await anonymous.request(method.upper(), concrete, json={})
                assert answer.status_code == 401, (method, path, answer.text[:200])
                assert answer.json()["error"] == "not_authenticated"
        page = await anonymous.get("/orders")
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/orders"


async def test_a_wrong_password_is_refused_and_repeated_failures_are_braked(web: WebStack) -> None:
    async with httpx.AsyncClient(base_url=web.base_url) as client:

        async def attempt(password: str, staff: str = "minh") -> httpx.Response:
            form = await client.get("/login")
            token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
            assert token
            return await client.post("/login", data={"shop_id": "shop-demo", "staff_id": staff,
                                                     "password": password,
                                                     "login_csrf": token.group(1)})  # fmt: skip

        for _ in range(5):
            refused = await attempt("not-the-password")
            assert refused.status_code == 401
            assert "Sai cửa hàng, tên đăng nhập hoặc mật khẩu" in refused.text
        braked = await attempt("minh-password-1")  # the right one, too late
        assert braked.status_code == 429 and int(braked.headers["retry-after"]) > 0
        unknown = await attempt("whatever", staff="nobody-here")  # not an account: same answer
        assert unknown.status_code == 401
    # Not for other accounts: lan still logs in.
    lan = await login(web.base_url, "lan")
    await lan.client.aclose()
    client_redis = redis_client(web.settings.redis)
    await client_redis.delete("chotdon:loginfail:account:shop-demo:minh")
    await client_redis.aclose()


async def test_a_login_form_from_elsewhere_is_refused(web: WebStack) -> None:
    """Login CSRF: a form posted without the token of the login page logs nobody in."""
    async with httpx.AsyncClient(base_url=web.base_url) as client:
        answer = await client.post("/login", data={"shop_id": "shop-demo", "staff_id": "lan",
                                                   "password": "lan-password-1"})  # fmt: skip
    assert answer.status_code == 403 and "chotdon_session" not in answer.headers.get(
        "set-cookie", ""
    )


async def test_a_change_without_the_csrf_token_is_refused(web: WebStack, as_staff: Any) -> None:
    thu = await as_staff("thu")
    live = web.new_livestream()
    forged = await thu.client.post(f"/api/v1/livestreams/{live}/stop")
    assert forged.status_code == 403 and forged.json()["error"] == "csrf_missing"
    wrong = await thu.client.post(
        f"/api/v1/livestreams/{live}/stop", headers={"X-CSRF-Token": "x" * 43}
    )
    assert wrong.status_code == 403
    right = await thu.post(f"/api/v1/livestreams/{live}/stop")
    assert right.status_code == 200 and right.json() == {"livestream_id": live, "open": False}


async def test_an_expired_session_asks_for_a_new_login(web: WebStack, as_staff: Any) -> None:
    lan = await as_staff("lan")
    client = redis_client(web.settings.redis)
    try:
        sessions = [k for k in await all_keys(client) if _text(k).startswith("chotdon:session:")]
        for key in sessions:
            if (await client.get(key) or b"").find(b'"staff_id":"lan"') >= 0:
                await client.delete(key)  # what the session's idle time does when it runs out
    finally:
        await client.aclose()
    answer = await lan.get("/api/v1/me")
    assert answer.status_code == 401 and answer.json()["error"] == "session_expired"


async def test_logout_ends_the_session(web: WebStack, as_staff: Any) -> None:
    minh = await as_staff("minh")
    answer = await minh.client.post("/logout", data={"csrf_token": minh.csrf})
    assert answer.status_code == 303
    assert (await minh.get("/api/v1/me")).status_code == 401


async def test_a_bearer_token_acts_for_its_staff_without_csrf(web: WebStack) -> None:
    made = chotdon(web.settings, "staff", "token", "--shop-id", "shop-demo", "--staff", "thu",
                   "--days", "1")  # fmt: skip
    token = made.stdout.decode().strip()
    assert token.startswith("cht_") and token not in made.stderr.decode()
    live = web.new_livestream()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=web.base_url, headers=headers, timeout=30) as api:
        me = (await api.get("/api/v1/me")).json()
        assert (me["staff_id"], me["role"], me["csrf_token"]) == ("thu", "manager", None)
        stopped = await api.post(f"/api/v1/livestreams/{live}/stop")
        assert stopped.status_code == 200
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as api:
        bad = await api.get("/api/v1/me", headers={"Authorization": "Bearer cht_made_up"})
        assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
    chotdon(web.settings, "staff", "remove", "--shop-id", "shop-demo", "--staff", "thu")
    async with httpx.AsyncClient(base_url=web.base_url, headers=headers, timeout=30) as api:
        assert (await api.get("/api/v1/me")).status_code == 401  # removed: its tokens too
    chotdon(web.settings, "staff", "add", "--shop-id", "shop-demo", "--staff", "thu", "--role",
            "manager", "--password-stdin", stdin=b"thu-password-1\n")  # fmt: skip


async def test_another_shops_staff_see_and_touch_nothing_of_this_shop(
    web: WebStack, as_staff: Any
) -> None:
    live = web.new_livestream()
    other = await as_staff("other", shop_id=OTHER_SHOP, password="other-password-1")
    for path in (
        f"/api/v1/livestreams/{live}",
        f"/api/v1/livestreams/{live}/drafts",
        f"/api/v1/livestreams/{live}/drafts/1",
        f"/api/v1/livestreams/{live}/events",
    ):
        answer = await other.get(path)  # fmt: skip
        assert answer.status_code == 404, (path, answer.text)
    command = await other.post(f"/api/v1/livestreams/{live}/drafts/1/assign",
                               json={"assignee": "other"})  # fmt: skip
    assert command.status_code == 404
    listed = (await other.get("/api/v1/livestreams")).json()["items"]
    assert live not in {item["livestream_id"] for item in listed}
    stop = await other.post(f"/api/v1/livestreams/{live}/stop")
    assert stop.status_code in (403, 404)
    board = await other.get(f"/live/{live}")
    assert board.status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/stats", None),
        ("POST", "/api/v1/customers/blacklist", {"phone": "0900000001"}),
        ("POST", "/api/v1/livestreams", {"livestream_id": "not-for-sales"}),
    ],
)
async def test_sales_may_not_do_what_the_shop_keeps_for_managers(
    web: WebStack, as_staff: Any, method: str, path: str, body: Any
) -> None:
    lan = await as_staff("lan")
    answer = await (lan.get(path) if method == "GET" else lan.post(path, json=body))
    assert answer.status_code == 403
    (reason,) = answer.json()["reasons"]
    assert reason["code"] == "forbidden_role" and "sales" in reason["en"]
    thu = await as_staff("thu")
    allowed = await (thu.get(path) if method == "GET" else thu.post(path, json=body))
    assert allowed.status_code in (200, 201), allowed.text
    assert "stats" not in (await lan.get("/api/v1/me")).json()["may"]


def _text(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key
