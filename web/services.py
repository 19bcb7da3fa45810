"""What the web server holds for its whole life: one Redis client, the stores, the one command
client, and the readers of live events. Routes get them with `services(request)`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from redis.asyncio import Redis

from config.settings import Settings
from config.shop import ShopConfig
from orders.connection import redis_client
from orders.shop.store import ShopStore
from orders.store import DraftStore, LivestreamInfo
from stream.client import CommandClient
from web.accounts import AccountStore
from web.errors import ApiError
from web.events import LiveEvents


@dataclass
class Services:
    settings: Settings
    redis: Redis
    drafts: DraftStore
    shops: ShopStore
    accounts: AccountStore
    commands: CommandClient
    events: LiveEvents

    @classmethod
    async def start(cls, settings: Settings) -> Services:
        redis = redis_client(settings.redis)
        commands = CommandClient(settings)
        try:
            await redis.ping()
            await commands.start()
        except BaseException:
            await redis.aclose()
            raise
        drafts = DraftStore(redis)
        await drafts.load_functions()
        return cls(
            settings=settings,
            redis=redis,
            drafts=drafts,
            shops=ShopStore(redis),
            accounts=AccountStore(redis, settings.session_hours),
            commands=commands,
            events=LiveEvents(settings),
        )

    async def stop(self) -> None:
        await self.commands.stop()
        await self.events.stop()
        await self.redis.aclose()

    async def shop(self, shop_id: str) -> ShopConfig:
        """The shop's stored configuration (`chotdon live start` stores it)."""
        config = await self.shops.config(shop_id)
        if config is None:
            raise ApiError.of(404, "not_found", "shop_id", what=f"shop {shop_id}")
        return config

    async def livestream(self, shop_id: str, livestream_id: str) -> LivestreamInfo:
        """The livestream, if it is this shop's: another shop's is not found, as if it did
        not exist (a staff member never learns what other shops sell)."""
        info = await self.drafts.livestream_info(livestream_id)
        if info is None or info.shop_id != shop_id:
            raise ApiError.of(404, "not_found", "livestream_id", what=f"livestream {livestream_id}")
        return info

    async def with_delivery(
        self, shop_id: str, messages: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The messages, each with what a connector's sender made of it (`delivery`: None
        until one handled it)."""
        from connectors.outbound import deliveries

        records = await deliveries(self.redis, shop_id, [str(m["message_id"]) for m in messages])
        return [{**m, "delivery": records.get(str(m["message_id"]))} for m in messages]

    async def health(self) -> dict[str, str]:
        """Redis and Kafka reachable, each within a second or two."""
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(self.redis.ping(), 2.0)
            checks["redis"] = "ok"
        except Exception as error:
            checks["redis"] = f"unreachable: {type(error).__name__}"
        try:
            await asyncio.wait_for(self.commands.ping(), 3.0)
            checks["kafka"] = "ok"
        except Exception as error:
            checks["kafka"] = f"unreachable: {type(error).__name__}"
        return checks


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
