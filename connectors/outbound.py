"""The sender: customer messages from `chotdon.messages.outbound` to the platform's inbox.

The worker decided that a message may go and by which channel (stream/outbound.py); the
sender delivers it: Facebook's Send API (`recipient.comment_id` for a private reply to the
customer's comment, `recipient.id` within the 24-hour window), Shopee's seller chat
(`v2.sellerchat.send_message`). TikTok offers no API to message a LIVE viewer and YouTube has
no inbox: those are recorded as refused, with the reason.

Never twice. The platforms take no idempotency key, so a send that may have reached the
platform is never repeated. Each message id has a delivery record in Redis
(`chotdon:{<shop>}:delivery`, field = message id) that moves, compare-and-set, through:

    (none) -> sending -> delivered | refused            the platform answered
                      -> retry -> sending …             it said it did not act (429, 503,
                                                        Graph is_transient), or the request
                                                        never left (connection refused)
                      -> uncertain                      it may have acted: a timeout after the
                                                        request was sent, a 500/502/504, a
                                                        crash while `sending`

`sending` is written before the request goes out. A sender that finds a record `sending`
(the previous one died mid-send) cannot know whether the customer got the message: it errs
on the side of *not* sending, records `uncertain` and logs it for staff to check. A duplicate
confirmation in a customer's inbox looks careless and a private reply can be used only once
per comment; one missing message is visible in `chotdon messages` and can be sent by hand.
A message redelivered by Kafka finds its record and is skipped. Records are kept 30 days.
A message that waited more than STALE_AFTER (a sender down for a day) is refused as `stale`.
A refused token stops the shop's sending with the message unacknowledged (`retry`): it goes
when the sender runs again with a valid token.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from redis.asyncio import Redis

from config.settings import PlatformUrls, Settings
from config.shop import ShopConfig
from connectors import metrics
from connectors.facebook import graph_verdict, send_body
from connectors.http import Backoff, Verdict, json_of
from connectors.pollers import shopee_verdict

log = logging.getLogger("chotdon.sender")
DELIVERY_TTL = 30 * 24 * 3600
# A message older than this when the sender gets to it (the sender was down for a day) is not
# sent late: a confirmation days after the order confuses more than it helps.
STALE_AFTER = timedelta(hours=24)
MAX_ATTEMPTS = 8
FINAL = ("delivered", "refused", "uncertain")
SHOPEE_SEND_PATH = "/api/v2/sellerchat/send_message"

# compare-and-set of one field: ARGV[1] field, ARGV[2] expected state ("" = no record),
# ARGV[3] new record, ARGV[4] ttl. Returns 1 when set.
_CAS = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
local state = ''
if current then state = cjson.decode(current)['state'] end
if state ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""


def delivery_key(shop_id: str) -> str:
    return f"chotdon:{{{shop_id}}}:delivery"


async def deliveries(redis: Redis, shop_id: str, message_ids: list[str]) -> dict[str, Any]:
    """The delivery records of these messages (absent: not handled by a sender yet)."""
    if not message_ids:
        return {}
    raws = await redis.hmget(delivery_key(shop_id), message_ids)
    return {mid: orjson.loads(raw) for mid, raw in zip(message_ids, raws, strict=True) if raw}


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one send attempt came to."""

    state: str  # delivered | refused | retry | uncertain | token_expired
    reason_code: str = ""
    reason: str = ""
    platform_message_id: str | None = None
    retry_after: float | None = None


class TokenRefused(Exception):
    pass


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Sender:
    """Delivers the outbound messages of some shops (one consumer group per shop)."""

    def __init__(
        self,
        settings: Settings,
        shops: Mapping[str, ShopConfig],
        secrets: Mapping[str, str],
        redis: Redis,
        client: httpx.AsyncClient,
        urls: PlatformUrls,
    ) -> None:
        self.settings = settings
        self.shops = dict(shops)
        self.secrets = dict(secrets)
        self.redis = redis
        self.client = client
        self.urls = urls
        self._cas = redis.register_script(_CAS)
        self.stop = asyncio.Event()
        self.token_refused: list[str] = []  # the shops whose sending stopped on a token

    def group_id(self, shop_id: str) -> str:
        return f"{self.settings.app_id}.sender.{shop_id}"

    async def run(self) -> None:
        await asyncio.gather(*(self.run_shop(shop_id) for shop_id in self.shops))

    async def run_shop(self, shop_id: str) -> None:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(
            self.settings.topics.messages_outbound, bootstrap_servers=self.settings.kafka,
            group_id=self.group_id(shop_id), enable_auto_commit=False,
            auto_offset_reset="earliest", session_timeout_ms=10_000, heartbeat_interval_ms=1000,
        )  # fmt: skip
        await consumer.start()
        log.info("sender: delivering the messages of shop %s", shop_id)
        try:
            while not self.stop.is_set():
                batches = await consumer.getmany(timeout_ms=500, max_records=50)
                for tp, records in batches.items():
                    for record in records:
                        try:
                            await self.handle(shop_id, record.value)
                        except TokenRefused as exc:
                            self.token_refused.append(shop_id)
                            log.error("sender: shop %s stopped: %s; the message waits in Kafka "
                                      "and goes when the sender restarts with a valid token",
                                      shop_id, exc)  # fmt: skip
                            return
                        await consumer.commit({tp: record.offset + 1})
        finally:
            await consumer.stop()

    async def handle(self, shop_id: str, value: bytes | None) -> str | None:
        """Deliver one outbound record of `shop_id` (others' are not ours); its final state."""
        try:
            message = orjson.loads(value or b"")
        except orjson.JSONDecodeError:
            log.warning("sender: an unreadable outbound record skipped")
            return None
        if not isinstance(message, dict) or message.get("shop_id") != shop_id:
            return None
        if not message.get("sent", True) or not message.get("message_id"):
            return None
        return await self.deliver(message)

    async def _record(self, message: Json, expected: str, state: str, **fields: Any) -> bool:
        record = {"state": state, "at": _now(), "platform": message.get("platform"),
                  "channel": message.get("channel"), **fields}  # fmt: skip
        done = await self._cas(
            keys=[delivery_key(message["shop_id"])],
            args=[message["message_id"], expected, orjson.dumps(record), DELIVERY_TTL],
        )
        return bool(done)

    async def deliver(self, message: Json) -> str:
        shop_id, message_id = message["shop_id"], message["message_id"]
        platform = str(message.get("platform"))
        key = delivery_key(shop_id)
        raw = await self.redis.hget(key, message_id)
        record = orjson.loads(raw) if raw else {}
        state = record.get("state", "")
        attempt = int(record.get("attempt", 0))
        if state in FINAL:
            metrics.OUTBOUND.labels(platform, "skipped").inc()
            log.info("sender: message %s was %s already: not sent again", message_id, state)
            return str(state)
        if state == "sending":
            why = ("a send was in flight when the previous sender stopped; the platform may "
                   "have delivered it, and it takes no idempotency key: not sent again, check "
                   "the customer's inbox")  # fmt: skip
            await self._record(message, "sending", "uncertain", attempt=attempt,
                               reason_code="interrupted", reason=why)  # fmt: skip
            metrics.OUTBOUND.labels(platform, "uncertain").inc()
            log.error("sender: message %s to %s:%s: %s", message_id, platform,
                      message.get("user_id"), why)  # fmt: skip
            return "uncertain"
        if state == "" and _older_than(message.get("at"), STALE_AFTER):
            why = f"the message waited more than {STALE_AFTER} for a sender: not sent late"
            await self._record(message, "", "refused", attempt=0, reason_code="stale",
                               reason=why)  # fmt: skip
            metrics.OUTBOUND.labels(platform, "refused").inc()
            log.warning("sender: message %s: %s", message_id, why)
            return "refused"
        backoff = Backoff(first=1.0, ceiling=60.0)
        while True:
            attempt += 1
            if not await self._record(message, state, "sending", attempt=attempt):
                log.warning("sender: message %s is being sent by another sender", message_id)
                return "skipped"
            state = "sending"
            result = await self.attempt(message)
            if result.state == "token_expired":
                await self._record(
                    message, "sending", "retry", attempt=attempt,
                    reason_code=result.reason_code, reason=result.reason,
                )  # fmt: skip
                raise TokenRefused(f"{platform} refused the token: {result.reason}")
            if result.state == "retry" and attempt < MAX_ATTEMPTS:
                await self._record(
                    message, "sending", "retry", attempt=attempt,
                    reason_code=result.reason_code, reason=result.reason,
                )  # fmt: skip
                state = "retry"
                metrics.OUTBOUND_RETRIES.labels(platform).inc()
                delay = backoff.next_delay("transient", result.retry_after)
                log.warning("sender: message %s: %s (%s); attempt %d in %.1f s", message_id,
                            result.reason_code, result.reason[:200], attempt + 1,
                            delay)  # fmt: skip
                await asyncio.sleep(delay)
                continue
            final = "refused" if result.state == "retry" else result.state
            reason = result.reason
            if result.state == "retry":
                reason = f"still failing after {attempt} attempts: {reason}"
            await self._record(message, "sending", final, attempt=attempt,
                               reason_code=result.reason_code, reason=reason,
                               platform_message_id=result.platform_message_id)  # fmt: skip
            metrics.OUTBOUND.labels(platform, final).inc()
            level = logging.INFO if final == "delivered" else logging.WARNING
            log.log(level, "sender: message %s to %s:%s by %s: %s %s", message_id, platform,
                    message.get("user_id"), message.get("channel"), final, reason)  # fmt: skip
            return final

    # -- one attempt per platform ---------------------------------------------------------

    async def attempt(self, message: Json) -> Attempt:
        platform = str(message.get("platform"))
        shop = self.shops[message["shop_id"]]
        if platform == "facebook" and shop.connectors.facebook is not None:
            account = shop.connectors.facebook
            url = f"{self.urls.facebook_graph}/{account.page_id}/messages"
            token = self.secrets[f"{shop.shop.id}:facebook"]
            return await self._post(url, graph_verdict, params={"access_token": token},
                                    json=send_body(message))  # fmt: skip
        if platform == "shopee" and shop.connectors.shopee is not None:
            shopee = shop.connectors.shopee
            timestamp = int(time.time())
            token = self.secrets[f"{shop.shop.id}:shopee"]
            partner_key = self.secrets[f"{shop.shop.id}:shopee-partner"]
            base = f"{shopee.partner_id}{SHOPEE_SEND_PATH}{timestamp}{token}{shopee.shop_id}"
            sign = hmac.new(partner_key.encode(), base.encode(), hashlib.sha256).hexdigest()
            params = {"partner_id": shopee.partner_id, "timestamp": timestamp,
                      "access_token": token, "shop_id": shopee.shop_id, "sign": sign}  # fmt: skip
            body = {"to_id": _int(message["user_id"]), "message_type": "text",
                    "content": {"text": message["text"]}}  # fmt: skip
            return await self._post(f"{self.urls.shopee}{SHOPEE_SEND_PATH}", shopee_verdict,
                                    params=params, json=body)  # fmt: skip
        if platform in ("facebook", "shopee"):
            return Attempt("refused", "not_configured",
                           f"the shop configuration has no [connectors.{platform}]")  # fmt: skip
        if platform == "tiktok":
            why = "TikTok offers no API to message a LIVE viewer: write to them by hand"
            return Attempt("refused", "unsupported", why)
        if platform == "youtube":
            return Attempt("refused", "no_inbox", "YouTube has no private messages")
        return Attempt("refused", "unknown_platform", f"no sender for platform {platform!r}")

    async def _post(self, url: str, classify: Any, **kwargs: Any) -> Attempt:
        try:
            response = await self.client.post(url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return Attempt("retry", "network", f"{type(exc).__name__}: {exc}")  # never left
        except httpx.TransportError as exc:  # sent, no answer: it may have been delivered
            return Attempt("uncertain", "no_answer",
                           f"{type(exc).__name__} after the request was sent: it may have "
                           f"been delivered, so it is not sent again")  # fmt: skip
        verdict: Verdict = classify(response)
        body = json_of(response)
        if verdict.kind == "ok":
            mid = body.get("message_id") if isinstance(body, dict) else None
            if mid is None and isinstance(body, dict):
                mid = (body.get("response") or {}).get("message_id")
            return Attempt("delivered", platform_message_id=None if mid is None else str(mid))
        if verdict.kind == "token_expired":
            return Attempt("token_expired", verdict.code, verdict.reason)
        status = response.status_code
        said_not_done = (
            status in (429, 503) or verdict.kind == "rate_limited" or _transient_flag(body)
        )
        if said_not_done:
            from connectors.http import retry_after

            return Attempt("retry", verdict.code, verdict.reason, retry_after=retry_after(response))
        if status >= 500:
            return Attempt("uncertain", verdict.code,
                           f"{verdict.reason} (HTTP {status}: the platform may have acted, so "
                           "it is not sent again)")  # fmt: skip
        return Attempt("refused", verdict.code, verdict.reason)


Json = dict[str, Any]


def _older_than(at: Any, age: timedelta) -> bool:
    try:
        moment = datetime.fromisoformat(str(at))
    except ValueError:
        return False
    if moment.tzinfo is None:
        return False
    return datetime.now(UTC) - moment > age


def _transient_flag(body: Any) -> bool:
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and (bool(error.get("is_transient"))
                                        or error.get("code") in (1, 2))  # fmt: skip


def _int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value
