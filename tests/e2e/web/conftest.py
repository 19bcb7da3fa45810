"""The web tests' stack: one worker and one `chotdon serve` for a whole test module, on topics,
a consumer group and a Redis database of their own, with the demo shop's livestream started and
staff accounts made by `chotdon staff add`, as a shop would.

Per test, `fresh_live` starts a new livestream of the demo shop, so tests do not see each
other's drafts; the accounts and the shop are shared.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_processes import CHOTDON, DEMO_SHOP, ROOT, Worker, chotdon, env_for, redis_url_with_db

from config.settings import Settings, Topics

WEB_REDIS_DB = 9
PASSWORDS = {"lan": "lan-password-1", "minh": "minh-password-1", "thu": "thu-password-1"}
ROLES = {"lan": "sales", "minh": "sales", "thu": "manager"}
OTHER_SHOP = "shop-other"


@dataclass
class WebStack:
    settings: Settings
    base_url: str
    worker: Worker
    server: subprocess.Popen[bytes]
    server_log: Path
    other_shop_file: Path
    livestreams: list[str] = field(default_factory=list)

    def new_livestream(self, shop_file: Path = DEMO_SHOP) -> str:
        livestream = f"web-{uuid.uuid4().hex[:8]}"
        chotdon(self.settings, "live", "start", "--shop", str(shop_file), "--livestream",
                livestream)  # fmt: skip
        self.livestreams.append(livestream)
        return livestream

    def tail(self) -> str:
        return self.server_log.read_text(errors="replace")[-4000:] + "\n" + self.worker.tail()


def _other_shop(tmp: Path) -> Path:
    """A second shop with a staff member of its own: the 'wrong shop' of the tests."""
    text = DEMO_SHOP.read_text()
    text = re.sub(r'(?m)^id\s*=\s*"shop-demo"', f'id = "{OTHER_SHOP}"', text, count=1)
    text = text.replace('id     = "lan"', 'id     = "other"', 1)
    path = tmp / "other.toml"
    path.write_text(text)
    return path


def _wait_healthy(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"chotdon serve exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(base_url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"chotdon serve never became healthy:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module", params=["redis", "cluster"])
def web(
    request: pytest.FixtureRequest, stack: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebStack]:
    """The web server, a worker and their shops on the test Redis, and again on the session's
    Redis Cluster (each test module runs on both)."""
    from stack import ensure_topics, free_port

    if request.param == "cluster":
        redis = request.getfixturevalue("redis_cluster").url
    else:
        redis = redis_url_with_db(stack.redis, WEB_REDIS_DB)

    tmp = tmp_path_factory.mktemp("web")
    suffix = uuid.uuid4().hex[:10]
    topics = Topics(**{f.name: f"{getattr(stack.topics, f.name)}.{suffix}"
                       for f in dataclasses.fields(Topics)})  # fmt: skip
    settings = dataclasses.replace(
        stack, topics=topics, app_id=f"chotdon-web-{suffix}",
        redis=redis, stack_dir=tmp / "stack",
        metrics_port=0, http_port=free_port(),
    )  # fmt: skip
    settings.stack_dir.mkdir()
    asyncio.run(ensure_topics(settings))
    other = _other_shop(tmp)
    chotdon(settings, "live", "start", "--shop", str(DEMO_SHOP), "--livestream", f"seed-{suffix}")
    chotdon(settings, "live", "start", "--shop", str(other), "--livestream", f"other-{suffix}")
    for staff, role in ROLES.items():
        chotdon(
            settings,
            "staff",
            "add",
            "--shop-id",
            "shop-demo",
            "--staff",
            staff,
            "--role",
            role,
            "--password-stdin",
            stdin=PASSWORDS[staff].encode() + b"\n",
        )
    chotdon(settings, "staff", "add", "--shop-id", OTHER_SHOP, "--staff", "other",
            "--role", "owner", "--password-stdin", stdin=b"other-password-1\n")  # fmt: skip
    worker_dir = tmp / "worker"
    worker_dir.mkdir()
    worker = Worker(dataclasses.replace(settings, stack_dir=worker_dir), tmp / "worker.log",
                    "worker", [])  # fmt: skip
    log = tmp / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(CHOTDON), "serve", "--port", str(settings.http_port)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=env_for(settings), cwd=ROOT,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{settings.http_port}"
    stacked = WebStack(settings, base_url, worker, server, log, other)
    try:
        _wait_healthy(base_url, server, log)
        asyncio.run(_wait_worker_applies(settings, f"seed-{suffix}", base_url))
        yield stacked
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        worker.stop(timeout=20)
        print(stacked.tail())
        asyncio.run(_delete_topics(settings))


async def _wait_worker_applies(settings: Settings, livestream: str, base_url: str) -> None:
    """Ready means a comment is applied: the worker has joined its group and holds the
    partitions (measured delays would otherwise include its start)."""
    from live_support import produce

    await produce(settings, comments_for(livestream, [("ready", "Ready", "chốt MP10")]))
    staff = await login(base_url, "thu")
    try:
        await wait_drafts(staff, livestream, 1, limit=90)
    finally:
        await staff.client.aclose()


async def _delete_topics(settings: Settings) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka)
    await admin.start()
    try:
        names = [getattr(settings.topics, f.name) for f in dataclasses.fields(Topics)]
        existing = set(await admin.list_topics())
        await admin.delete_topics([name for name in names if name in existing])
    finally:
        await admin.close()


@dataclass
class Staff:
    """A logged-in browser-like client: the session cookie and the CSRF token."""

    client: httpx.AsyncClient
    csrf: str
    staff_id: str

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return await self.client.post(path, json=json, headers=headers, **kwargs)


async def login(
    base_url: str, staff_id: str, password: str | None = None, shop_id: str = "shop-demo"
) -> Staff:
    client = httpx.AsyncClient(base_url=base_url, timeout=30, follow_redirects=False)
    page = await client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    answer = await client.post("/login", data={
        "shop_id": shop_id, "staff_id": staff_id, "login_csrf": token.group(1), "next": "/",
        "password": password or PASSWORDS[staff_id],
    })  # fmt: skip
    assert answer.status_code == 303, answer.text[:500]
    me = await client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    return Staff(client, me.json()["csrf_token"], staff_id)


@pytest.fixture
async def as_staff(web: WebStack) -> AsyncIterator[Any]:
    """`await as_staff("thu")`: a logged-in client (closed after the test)."""
    opened: list[Staff] = []

    async def open_as(
        staff_id: str, shop_id: str = "shop-demo", password: str | None = None
    ) -> Staff:
        staff = await login(web.base_url, staff_id, password, shop_id)
        opened.append(staff)
        return staff

    yield open_as
    for staff in opened:
        await staff.client.aclose()


def comments_for(livestream: str, rows: Sequence[tuple[str, str, str]]) -> list[Any]:
    """Comments (user id, name, text) of a livestream of the demo shop, a second apart."""
    from live_support import comment

    now = datetime.now(UTC)
    return [
        comment(f"{livestream}-c{i}", user, text, now, livestream_id=livestream, name=name)
        for i, (user, name, text) in enumerate(rows)
    ]


async def wait_drafts(staff: Staff, livestream: str, count: int, limit: float = 60) -> list[Any]:
    """Poll the API until the livestream shows `count` drafts (the worker applied them)."""
    deadline = time.monotonic() + limit
    while True:
        answer = await staff.get(f"/api/v1/livestreams/{livestream}/drafts?limit=5000")
        items = answer.json()["items"] if answer.status_code == 200 else []
        if len(items) >= count:
            return list(items)
        assert time.monotonic() < deadline, f"{len(items)} of {count} drafts: {answer.text[:200]}"
        await asyncio.sleep(0.1)
