"""Shared by the connector tests: a shop with every connector, scripted lives, running the
connectors in-process (or as `chotdon connect`), and the checks that every comment the fake
platform served is in Kafka and applied once (drafts equal the pure model's).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from fake_platforms import (
    SHOPEE_PARTNER_ID,
    SHOPEE_PARTNER_KEY,
    SHOPEE_SHOP_ID,
    FakeLive,
    Scripted,
    urls_for,
)
from live_support import (
    DEMO_SHOP,
    first_difference,
    in_process_pipeline,
    model_drafts,
    read_topic,
    register,
    store_drafts,
)

from cli.samples import generate
from config.loader import load_shop
from config.settings import Settings
from config.shop import ShopConfig
from stream.messages import Comment

SHOP_ID = "shop-demo"
PAGE_ID = "100000000000777"
TOKENS = {
    "TEST_FB_TOKEN": "tok-1", "TEST_FB_APP_SECRET": "app-secret-test",
    "TEST_FB_VERIFY": "verify-me", "TEST_YT_TOKEN": "tok-1", "TEST_TT_TOKEN": "tok-1",
    "TEST_SHOPEE_KEY": SHOPEE_PARTNER_KEY, "TEST_SHOPEE_TOKEN": "tok-1",
}  # fmt: skip

CONNECTORS = f"""
[connectors.facebook]
page_id = "{PAGE_ID}"
page_token_env = "TEST_FB_TOKEN"
app_secret_env = "TEST_FB_APP_SECRET"
verify_token_env = "TEST_FB_VERIFY"
read = "{{read}}"
poll_seconds = 0.2
reconcile_seconds = 1.5
hide_phone_numbers = true
webhook = true

[connectors.youtube]
token_env = "TEST_YT_TOKEN"

[connectors.tiktok]
token_env = "TEST_TT_TOKEN"

[connectors.shopee]
partner_id = {SHOPEE_PARTNER_ID}
shop_id = {SHOPEE_SHOP_ID}
partner_key_env = "TEST_SHOPEE_KEY"
access_token_env = "TEST_SHOPEE_TOKEN"
poll_seconds = 0.3
"""


def shop_toml(tmp_path: Path, lives: Sequence[tuple[str, str, str]], *, read: str = "sse",
              extra: str = "", shop_id: str = SHOP_ID) -> Path:  # fmt: skip
    """The demo shop with every connector and these (livestream, platform, id) lives."""
    text = DEMO_SHOP.read_text(encoding="utf-8").replace('id = "shop-demo"', f'id = "{shop_id}"')
    text += CONNECTORS.replace("{read}", read) + extra
    for livestream, platform, platform_id in lives:
        text += (f'\n[[connectors.live]]\nlivestream = "{livestream}"\nplatform = "{platform}"\n'
                 f'id = "{platform_id}"\n')  # fmt: skip
    path = tmp_path / f"{shop_id}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def live_script(count: int, customers: int = 150, *, seed: int = 11) -> list[Scripted]:
    """`count` comments of a selling live (cli/samples.py), user ids made numeric (TikTok and
    Shopee ids are numbers), one second apart."""
    numbers: dict[str, str] = {}
    out = []
    for n, c in enumerate(generate(count, customers, seed=seed)):
        user = None if c.user_id is None else numbers.setdefault(c.user_id, str(10**14 + n))
        out.append(Scripted(n, user, c.user_name if user else "", c.text))
    return out


def expected_comments(live: FakeLive, livestream_id: str, count: int | None = None,
                      shop_id: str = SHOP_ID, skip: set[int] = frozenset()) -> list[Comment]:  # type: ignore[assignment]  # fmt: skip
    """The Comments a connector makes of the script, in the live's order."""
    out = []
    for item in live.script[: count or len(live.script)]:
        if item.n in skip:
            continue
        user = item.user_id
        if live.platform == "youtube" and user is None:
            user = "UCanonymous"
        out.append(Comment(id=live.comment_id(item), platform=live.platform, shop_id=shop_id,
                           livestream_id=livestream_id, user_id=user,
                           user_name=item.name if item.user_id or live.platform == "youtube"
                           else "", text=item.text, created_at=item.at))  # fmt: skip
    return out


@contextlib.asynccontextmanager
async def connector(settings: Settings, base: str, shop: ShopConfig, livestreams: Sequence[str],
                    *, sender: bool = False, env: dict[str, str] | None = None,
                    webhook_port: int | None = None,
                    readers: bool = True) -> AsyncIterator[Any]:  # fmt: skip
    """`chotdon connect` in this process: yields (task -> exit status, stop event)."""
    from connectors import service

    the_plan = service.plan([shop], env or TOKENS, livestreams=livestreams, sender=sender,
                            webhook_port=webhook_port)  # fmt: skip
    the_plan.webhook_host = "127.0.0.1"
    if not readers:
        the_plan.lives = []
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(settings, urls_for(base), the_plan, stop,
                                           handle_signals=False))  # fmt: skip
    try:
        yield task, stop
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 30)


async def kafka_comments(settings: Settings, livestream_id: str) -> list[Comment]:
    records = await read_topic(settings, settings.topics.comments)
    comments = [Comment.from_json(r.value) for r in records if r.key == livestream_id.encode()]
    return comments


async def check_exactly_once(settings: Settings, live: FakeLive, livestream_id: str,
                             want: list[Comment], shop: ShopConfig) -> list[Comment]:  # fmt: skip
    """Every comment served is in Kafka; applied, the drafts are the model's of `want` (the
    fault-free run) and no comment was applied twice. Returns what Kafka holds."""
    in_kafka = await kafka_comments(settings, livestream_id)
    ids = Counter(c.id for c in in_kafka)
    assert live.served <= set(ids), f"served, never produced: {sorted(live.served - set(ids))[:5]}"
    wanted = {c.id for c in want}
    assert set(ids) == wanted, (
        f"{len(set(ids))} distinct ids in Kafka, {len(want)} expected; missing "
        f"{sorted(wanted - set(ids))[:5]}, extra {sorted(set(ids) - wanted)[:5]}"
    )
    first = {}
    for comment in in_kafka:
        first.setdefault(comment.id, comment)
    assert [c.id for c in first.values()] == [c.id for c in want], "Kafka has them out of order"
    assert list(first.values()) == want, "a comment was produced differently from the payload"
    await register(settings, shop, livestream_id)
    async with in_process_pipeline(settings) as pipeline:
        await pipeline.run()
    drafts = await store_drafts(settings, shop.shop.id, livestream_id)
    model = model_drafts(want, shop, livestream_id)
    assert drafts == model, first_difference(drafts, model)
    assert drafts, "the live made no drafts: the script is too quiet to test anything"
    return in_kafka


def load(path: Path) -> ShopConfig:
    return load_shop(path)


def with_redis_db(settings: Settings, db: int) -> Settings:
    base = settings.redis.rsplit("/", 1)[0]
    return dataclasses.replace(settings, redis=f"{base}/{db}")


class ConnectProcess:
    """`chotdon connect …` as a subprocess (its output in a log file), as a shop runs it."""

    def __init__(self, settings: Settings, log_path: Path, base: str, *args: str,
                 env: dict[str, str] | None = None) -> None:  # fmt: skip
        import subprocess

        from fake_platforms import url_env
        from live_processes import CHOTDON, ROOT, env_for

        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [str(CHOTDON), "connect", "--metrics-port", "0", *args],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=env_for(settings, **url_env(base), **(env or TOKENS)), cwd=ROOT,
        )  # fmt: skip

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        import signal

        if self.alive:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log.close()

    async def stop(self, timeout: float = 30.0) -> int:  # noqa: ASYNC109
        """SIGTERM (what a supervisor sends), SIGKILL after `timeout` seconds."""
        import signal
        import subprocess

        if self.alive:
            self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.process.wait, timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            await asyncio.to_thread(self.process.wait, 10)
        self._log.close()
        return self.process.returncode

    async def wait(self, limit: float = 60.0) -> int:
        deadline = asyncio.get_running_loop().time() + limit
        while self.alive:
            assert asyncio.get_running_loop().time() < deadline, self.log()[-3000:]
            await asyncio.sleep(0.1)
        self._log.close()
        return self.process.returncode
