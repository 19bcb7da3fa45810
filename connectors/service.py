"""`chotdon connect` as a service: the readers of the shops' lives, the webhook receiver and
the outbound sender in one asyncio process, sharing one Kafka producer, one Redis client and one
HTTP client (several processes split them with `--livestream` and `--no-sender`).

Secrets come from the environment, by the names the shop configuration gives; a missing one
is refused before anything starts, naming the variable and what it is for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from config.connectors import LiveSource
from config.settings import PlatformUrls, Settings
from config.shop import ShopConfig
from connectors.facebook import FacebookReader, PhoneHider
from connectors.live import LiveContext, Reader
from connectors.outbound import Sender
from connectors.pollers import ShopeeReader, TikTokReader, YouTubeReader
from connectors.sink import CommentProducer, Cursors, LiveSink
from connectors.webhook import Route, webhook_app
from orders.connection import redis_client

log = logging.getLogger("chotdon.connect")
EXIT_TOKEN_EXPIRED = 3
EXIT_REFUSED = 4


class MissingSecret(ValueError):
    pass


def _secret(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "")
    if not value:
        raise MissingSecret(f"${name} is not set: it holds {what}")
    return value


def shop_secrets(shop: ShopConfig, env: Mapping[str, str], *, webhook: bool = False,
                 platforms: Sequence[str] | None = None) -> dict[str, str]:  # fmt: skip
    """`<shop>:<name>` -> secret, for the platforms configured (or those asked)."""
    wanted = set(platforms) if platforms is not None else None
    c, sid, out = shop.connectors, shop.shop.id, {}

    def needed(platform: str) -> bool:
        return getattr(c, platform) is not None and (wanted is None or platform in wanted)

    if needed("facebook") and c.facebook is not None:
        out[f"{sid}:facebook"] = _secret(
            env, c.facebook.page_token_env, f"the Page access token of page {c.facebook.page_id}"
        )
        if webhook and c.facebook.webhook:
            out[f"{sid}:facebook-app"] = _secret(
                env, c.facebook.app_secret_env, "the Facebook app secret (webhook signatures)"
            )
            out[f"{sid}:facebook-verify"] = _secret(
                env, c.facebook.verify_token_env, "the webhook's verify token"
            )
    if needed("youtube") and c.youtube is not None:
        out[f"{sid}:youtube"] = _secret(env, c.youtube.token_env, "a YouTube OAuth access token")
    if needed("tiktok") and c.tiktok is not None:
        out[f"{sid}:tiktok"] = _secret(env, c.tiktok.token_env, "the TikTok feed key")
    if needed("shopee") and c.shopee is not None:
        out[f"{sid}:shopee"] = _secret(
            env, c.shopee.access_token_env, f"the access token of Shopee shop {c.shopee.shop_id}"
        )
        out[f"{sid}:shopee-partner"] = _secret(
            env, c.shopee.partner_key_env, f"the partner key of partner {c.shopee.partner_id}"
        )
    return out


@dataclass(slots=True)
class Plan:
    shops: list[ShopConfig]
    lives: list[tuple[ShopConfig, LiveSource]]
    sender: bool = True
    webhook_port: int | None = None
    webhook_host: str = "0.0.0.0"  # Facebook must reach it
    secrets: dict[str, str] = field(default_factory=dict)


def plan(shops: Sequence[ShopConfig], env: Mapping[str, str], *,
         livestreams: Sequence[str] = (), sender: bool = True,
         webhook_port: int | None = None) -> Plan:  # fmt: skip
    lives = [(shop, live) for shop in shops for live in shop.connectors.live
             if not livestreams or live.livestream in livestreams]  # fmt: skip
    unknown = sorted(set(livestreams) - {live.livestream for _, live in lives})
    if unknown:
        raise MissingSecret(f"no [[connectors.live]] for livestream {', '.join(unknown)}")
    secrets: dict[str, str] = {}
    for shop in shops:
        platforms = {live.platform for s, live in lives if s is shop}
        if sender:
            platforms |= {p for p in ("facebook", "shopee") if getattr(shop.connectors, p)}
        secrets |= shop_secrets(shop, env, webhook=webhook_port is not None,
                                platforms=sorted(platforms))  # fmt: skip
    return Plan(list(shops), lives, sender, webhook_port, secrets=secrets)


class _QuietServer:
    """uvicorn's server without its signal handlers (the service has its own)."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        import uvicorn

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        self.server = Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                            lifespan="off", access_log=False))  # fmt: skip

    async def serve(self) -> None:
        await self.server.serve()

    def stop(self) -> None:
        self.server.should_exit = True


def build_reader(ctx: LiveContext, shop: ShopConfig, secrets: Mapping[str, str]) -> Reader:
    c, sid = shop.connectors, shop.shop.id
    platform = ctx.source.platform
    if platform == "facebook" and c.facebook is not None:
        return FacebookReader(ctx, c.facebook, secrets[f"{sid}:facebook"])
    if platform == "youtube" and c.youtube is not None:
        return YouTubeReader(ctx, c.youtube, secrets[f"{sid}:youtube"])
    if platform == "tiktok" and c.tiktok is not None:
        return TikTokReader(ctx, c.tiktok, secrets[f"{sid}:tiktok"])
    if platform == "shopee" and c.shopee is not None:
        return ShopeeReader(ctx, c.shopee, secrets[f"{sid}:shopee-partner"],
                            secrets[f"{sid}:shopee"])  # fmt: skip
    raise ValueError(f"no connector for {platform}")


async def run(
    settings: Settings,
    urls: PlatformUrls,
    the_plan: Plan,
    stop: asyncio.Event | None = None,
    *,
    handle_signals: bool = True,
) -> int:
    """Run the plan until every reader ended (and, with a sender or a webhook, until stopped);
    the exit status: 0, EXIT_TOKEN_EXPIRED or EXIT_REFUSED."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT) if handle_signals else ():
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    client = redis_client(settings.redis, socket_timeout=10)
    producer = CommentProducer(settings.kafka)
    await producer.start()
    http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0),
                             headers={"user-agent": "chotdon-connect/0.1"})  # fmt: skip
    hiders: list[PhoneHider] = []
    readers: list[tuple[Reader, LiveContext]] = []
    routes: list[Route] = []
    try:
        for shop, live in the_plan.lives:
            account = shop.connectors.facebook
            hider = None
            if live.platform == "facebook" and account is not None and account.hide_phone_numbers:
                hider = PhoneHider(http, urls.facebook_graph,
                                   the_plan.secrets[f"{shop.shop.id}:facebook"])  # fmt: skip
                hiders.append(hider)
            sink = LiveSink(producer, settings.topics.comments, live.platform, live.livestream,
                            after_produce=hider)  # fmt: skip
            cursors = Cursors(client, shop.shop.id, live.livestream, live.platform)
            ctx = LiveContext(shop.shop.id, live, sink, cursors, http, urls, stop)
            readers.append((build_reader(ctx, shop, the_plan.secrets), ctx))
            if live.platform == "facebook" and account is not None and account.webhook:
                routes.append(Route(account.page_id, live.id, shop.shop.id, sink))
        services: list[asyncio.Task[Any]] = []
        server = None
        if the_plan.webhook_port is not None:
            secrets = [v for k, v in the_plan.secrets.items() if k.endswith(":facebook-app")]
            verify = [v for k, v in the_plan.secrets.items() if k.endswith(":facebook-verify")]
            server = _QuietServer(webhook_app(routes, secrets, verify), the_plan.webhook_host,
                                  the_plan.webhook_port)  # fmt: skip
            services.append(asyncio.create_task(server.serve()))
            log.info("facebook webhook on http://%s:%d/webhooks/facebook",
                     the_plan.webhook_host, the_plan.webhook_port)  # fmt: skip
        sender = None
        if the_plan.sender and the_plan.shops:
            sender = Sender(settings, {s.shop.id: s for s in the_plan.shops}, the_plan.secrets,
                            client, http, urls)  # fmt: skip
            services.append(asyncio.create_task(sender.run()))
        tasks = [asyncio.create_task(reader.run()) for reader, _ in readers]
        for reader, ctx in readers:
            log.info("%s: following %s for livestream %s of shop %s", reader.platform,
                     ctx.source.id, ctx.livestream_id, ctx.shop_id)  # fmt: skip
        outcomes: list[str] = list(await asyncio.gather(*tasks)) if tasks else []
        if services:
            waiter = asyncio.create_task(stop.wait())
            await asyncio.wait([waiter, *services], return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        stop.set()
        if server is not None:
            server.stop()
        if sender is not None:
            sender.stop.set()
        for hider in hiders:
            await hider.close()
        for task in services:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=15)
        for task in services:
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.error("connect: a service failed", exc_info=task.exception())
                return 1
    finally:
        await http.aclose()
        await producer.stop()
        await client.aclose()
    if "token_expired" in outcomes or (sender is not None and sender.token_refused):
        return EXIT_TOKEN_EXPIRED
    if "refused" in outcomes:
        return EXIT_REFUSED
    return 0


def environ() -> Mapping[str, str]:
    return os.environ
