"""The polling readers: YouTube live chat, Shopee Live, TikTok LIVE (connectors/live.py's loop).

- YouTube: `GET /liveChat/messages?liveChatId=…&part=snippet,authorDetails&pageToken=…`
  with an OAuth bearer token. The cursor is `nextPageToken`; the next poll waits
  `pollingIntervalMillis`. The chat has ended when the answer carries `offlineAt` or YouTube
  says `liveChatEnded` (403). YouTube keeps the whole chat: a stored token backfills.
- Shopee: `GET /api/v2/livestream/get_latest_comment_list` signed with the partner key
  (HMAC-SHA256 of partner_id, path, timestamp, access_token, shop_id, hex). The list is the
  last 10 seconds only: polled every `poll_seconds` (< 10), overlapping, and an outage longer
  than 10 s is a gap. The cursor is `next_offset`. `get_session_detail` says when the session
  ended (status 2).
- TikTok: the live-room feed, webcast `im/fetch` (protobuf ProtoMessageFetchResult: chat
  messages, `cursor`, `internal_ext`, `fetch_interval`), through the signing service of
  CHOTDON_TIKTOK_URL. A WebcastControlMessage with action 3 ends the live.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import Any

import httpx

from config.connectors import ShopeeConnector, TikTokConnector, YouTubeConnector
from connectors.http import (
    OK,
    PlatformError,
    Refused,
    Verdict,
    default_verdict,
    json_of,
    request,
)
from connectors.live import LiveContext, Page, Poller
from connectors.sources import SourceError, shopee, tiktok, youtube

log = logging.getLogger("chotdon.connect")


def _unreadable(platform: str, exc: SourceError) -> Refused:
    return Refused(platform, Verdict("refused", str(exc), "unreadable"))


# -- YouTube ------------------------------------------------------------------------------

_YT_RATE = {"rateLimitExceeded", "quotaExceeded", "userRateLimitExceeded"}
_YT_ENDED = {"liveChatEnded", "liveChatNotFound", "liveChatDisabled"}
_YT_CURSOR = {"pageTokenInvalid", "invalidPageToken"}


def youtube_verdict(response: httpx.Response) -> Verdict:
    if 200 <= response.status_code < 300:
        return OK
    body = json_of(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return default_verdict(response)
    reasons = [e.get("reason", "") for e in error.get("errors") or [] if isinstance(e, dict)]
    code = reasons[0] if reasons else str(response.status_code)
    why = f"{code}: {error.get('message', '')}"
    if response.status_code == 401:
        return Verdict("token_expired", why, code)
    if set(reasons) & _YT_RATE or response.status_code == 429:
        return Verdict("rate_limited", why, code)
    if response.status_code >= 500 or "backendError" in reasons:
        return Verdict("transient", why, code)
    return Verdict("refused", why, code)


class YouTubeReader(Poller):
    platform = "youtube"

    def __init__(self, ctx: LiveContext, account: YouTubeConnector, token: str) -> None:
        super().__init__(ctx)
        self.account = account
        self.token = token

    def token_hint(self) -> str:
        return f"the OAuth access token in ${self.account.token_env}"

    async def fetch(self, cursor: Any) -> Page:
        params: dict[str, Any] = {"liveChatId": self.ctx.source.id,
                                  "part": "snippet,authorDetails",
                                  "maxResults": self.account.max_results}  # fmt: skip
        if cursor:
            params["pageToken"] = cursor
        try:
            response = await request(
                self.ctx.client, self.platform, "GET", f"{self.ctx.urls.youtube}/liveChat/messages",
                params=params, headers={"Authorization": f"Bearer {self.token}"},
                classify=youtube_verdict, what="liveChatMessages.list",
            )  # fmt: skip
        except Refused as exc:
            if exc.code in _YT_ENDED:
                log.info("youtube: livestream %s: %s", self.ctx.livestream_id, exc.reason)
                return Page([], cursor, 0.0, ended=True)
            raise
        try:
            comments = youtube.parse(response.content, shop_id=self.ctx.shop_id,
                                     livestream_id=self.ctx.livestream_id)  # fmt: skip
        except SourceError as exc:
            raise _unreadable(self.platform, exc) from None
        body = response.json()
        wait = max(0.2, float(body.get("pollingIntervalMillis") or 2000) / 1000)
        ended = bool(body.get("offlineAt"))
        return Page(comments, body.get("nextPageToken") or cursor, wait, ended=ended)

    def cursor_refused(self, exc: PlatformError) -> bool:
        return exc.code in _YT_CURSOR


# -- Shopee -------------------------------------------------------------------------------

COMMENTS_PATH = "/api/v2/livestream/get_latest_comment_list"
SESSION_PATH = "/api/v2/livestream/get_session_detail"
_SHOPEE_TOKEN = {"error_auth", "invalid_access_token", "invalid_acceess_token", "error_token"}
_SHOPEE_RATE = {"error_too_many_request", "error_rate_limit", "too_many_request"}
_SHOPEE_TRANSIENT = {"error_server", "error_inner", "error_busy", "error_network", "system_busy"}
SESSION_ENDED = 2
SESSION_CHECK_SECONDS = 15.0


def shopee_sign(partner_key: str, partner_id: int, path: str, timestamp: int,
                access_token: str, shop_id: int) -> str:  # fmt: skip
    """Shopee Open Platform v2's signature of a shop-level call (hex HMAC-SHA256)."""
    base = f"{partner_id}{path}{timestamp}{access_token}{shop_id}"
    return hmac.new(partner_key.encode(), base.encode(), hashlib.sha256).hexdigest()


def shopee_verdict(response: httpx.Response) -> Verdict:
    body = json_of(response)
    error = body.get("error") if isinstance(body, dict) else None
    if 200 <= response.status_code < 300 and not error:
        return OK
    if not error:
        return default_verdict(response)
    message = str(body.get("message") or "") if isinstance(body, dict) else ""
    why = f"{error}: {message}"
    if error in _SHOPEE_TOKEN or "access_token" in message.lower():
        return Verdict("token_expired", why, str(error))
    if error in _SHOPEE_RATE or response.status_code == 429:
        return Verdict("rate_limited", why, str(error))
    if error in _SHOPEE_TRANSIENT or response.status_code >= 500:
        return Verdict("transient", why, str(error))
    return Verdict("refused", why, str(error))


class ShopeeReader(Poller):
    platform = "shopee"
    retention = 10.0

    def __init__(
        self, ctx: LiveContext, account: ShopeeConnector, partner_key: str, token: str
    ) -> None:
        super().__init__(ctx)
        self.account = account
        self.partner_key = partner_key
        self.token = token
        self.checked = 0.0

    def token_hint(self) -> str:
        return f"the shop's access token in ${self.account.access_token_env}"

    def signed(self, path: str, **params: Any) -> dict[str, Any]:
        timestamp = int(time.time())
        sign = shopee_sign(self.partner_key, self.account.partner_id, path, timestamp,
                           self.token, self.account.shop_id)  # fmt: skip
        return {"partner_id": self.account.partner_id, "timestamp": timestamp,
                "access_token": self.token, "shop_id": self.account.shop_id, "sign": sign,
                "session_id": self.ctx.source.id, **params}  # fmt: skip

    async def _get(self, path: str, what: str, **params: Any) -> httpx.Response:
        async def attempt() -> httpx.Response:
            return await request(
                self.ctx.client, self.platform, "GET", f"{self.ctx.urls.shopee}{path}",
                params=self.signed(path, **params), classify=shopee_verdict, what=what, attempts=1,
            )  # fmt: skip

        # signed afresh on every attempt: a signature's timestamp is only valid for minutes
        from connectors.http import Backoff, GaveUp

        backoff = Backoff()
        while True:
            try:
                return await attempt()
            except GaveUp as exc:
                delay = backoff.next_delay(exc.verdict.kind)
                log.warning("shopee: %s: %s; retry in %.1f s", what, exc.reason[:200], delay)
                if await self.ctx.pause(delay):
                    raise

    async def fetch(self, cursor: Any) -> Page:
        offset = int(cursor or 0)
        response = await self._get(COMMENTS_PATH, "get_latest_comment_list", offset=offset,
                                   page_size=100)  # fmt: skip
        try:
            comments = shopee.parse(response.content, shop_id=self.ctx.shop_id,
                                    livestream_id=self.ctx.livestream_id)  # fmt: skip
        except SourceError as exc:
            raise _unreadable(self.platform, exc) from None
        body = response.json().get("response") or {}
        next_offset = body.get("next_offset", offset)
        ended = False
        if time.monotonic() - self.checked >= SESSION_CHECK_SECONDS or not comments:
            self.checked = time.monotonic()
            ended = await self.session_ended()
        more = bool(body.get("more")) and next_offset != offset
        return Page(comments, next_offset, 0.0 if more else self.account.poll_seconds, ended)

    async def session_ended(self) -> bool:
        response = await self._get(SESSION_PATH, "get_session_detail")
        status = (response.json().get("response") or {}).get("status")
        return status == SESSION_ENDED


# -- TikTok -------------------------------------------------------------------------------

FETCH_PATH = "/webcast/im/fetch/"


class TikTokReader(Poller):
    platform = "tiktok"

    def __init__(self, ctx: LiveContext, account: TikTokConnector, token: str) -> None:
        super().__init__(ctx)
        self.account = account
        self.token = token
        self.retention = account.backfill_seconds

    def token_hint(self) -> str:
        return f"the feed key in ${self.account.token_env}"

    async def fetch(self, cursor: Any) -> Page:
        cursor = cursor or {}
        params = {"room_id": self.ctx.source.id, "aid": 1988, "resp_content_type": "protobuf",
                  "cursor": cursor.get("cursor", ""),
                  "internal_ext": cursor.get("internal_ext", "")}  # fmt: skip
        response = await request(self.ctx.client, self.platform, "GET",
                                 f"{self.ctx.urls.tiktok}{FETCH_PATH}", params=params,
                                 headers={"x-api-key": self.token},
                                 what="webcast im/fetch")  # fmt: skip
        try:
            result = tiktok.parse_fetch_result(response.content, shop_id=self.ctx.shop_id,
                                               livestream_id=self.ctx.livestream_id)  # fmt: skip
        except SourceError as exc:
            raise _unreadable(self.platform, exc) from None
        wait = max(0.2, (result.fetch_interval_ms or 1000) / 1000)
        return Page(result.comments, {"cursor": result.cursor or cursor.get("cursor", ""),
                                      "internal_ext": result.internal_ext},
                    wait, ended=result.ended)  # fmt: skip
