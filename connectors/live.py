"""What every live reader shares: its context, the polling loop, gap reports, and how it ends.

A reader follows one platform live for one chotdon livestream until the live ends, the
process is stopped, or the platform refuses its token. The polling loop (`Poller.run`):

1. load the cursor stored in Redis (none: from the live's start, as far as the platform goes);
2. fetch the next page from the cursor (connectors/http.py retries 429, 5xx, network errors);
3. produce its new comments and wait for Kafka's acknowledgement (connectors/sink.py);
4. only then store the new cursor, with the time of this fetch;
5. wait what the platform asks (`pollingIntervalMillis`, `fetch_interval`, the shop's
   poll_seconds) and go on, until the platform says the live ended.

A platform that keeps comments only for a while (Shopee: 10 seconds) cannot give back what was
said during a longer outage or a stopped connector: `retention` says how long, and the first
fetch after such a stretch reports it as a gap (metric and an error line with its time range).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from config.connectors import LiveSource
from config.settings import PlatformUrls
from connectors import metrics
from connectors.http import PlatformError, Refused, TokenExpired
from connectors.sink import Cursors, LiveSink, from_iso, iso
from stream.messages import Comment

log = logging.getLogger("chotdon.connect")


@dataclass(slots=True)
class LiveContext:
    shop_id: str
    source: LiveSource
    sink: LiveSink
    cursors: Cursors
    client: httpx.AsyncClient
    urls: PlatformUrls
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def livestream_id(self) -> str:
        return self.source.livestream

    async def pause(self, seconds: float) -> bool:
        """Sleep `seconds` unless stopped first; True when stopped."""
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=max(0.0, seconds))
        except TimeoutError:
            return False
        return True


def report_gap(platform: str, livestream_id: str, start: datetime, end: datetime, why: str) -> None:
    seconds = max(0.0, (end - start).total_seconds())
    metrics.GAPS.labels(platform, livestream_id).inc()
    metrics.GAP_SECONDS.labels(platform, livestream_id).inc(seconds)
    log.error(
        "gap: %s live of livestream %s: the comments from %s to %s (%.0f s) could not be "
        "fetched: %s",
        platform, livestream_id, iso(start), iso(end), seconds, why,
    )  # fmt: skip


@dataclass(slots=True)
class Page:
    comments: list[Comment]
    cursor: Any  # what the next fetch starts from (JSON-serialisable)
    wait: float  # seconds until the next fetch
    ended: bool = False


class Reader:
    """One live. Subclasses implement `follow`; `run` adds the ending and the metrics."""

    platform = ""

    def __init__(self, ctx: LiveContext) -> None:
        self.ctx = ctx
        self.labels = (self.platform, ctx.livestream_id)

    async def follow(self) -> str:
        raise NotImplementedError

    async def run(self) -> str:
        """'ended', 'stopped', 'token_expired' or 'refused'."""
        metrics.UP.labels(*self.labels).set(1)
        metrics.TOKEN_EXPIRED.labels(*self.labels).set(0)
        try:
            outcome = await self.follow()
        except TokenExpired as exc:
            metrics.TOKEN_EXPIRED.labels(*self.labels).set(1)
            log.error(
                "%s: the token of livestream %s was refused (%s): renew it (%s) and restart "
                "`chotdon connect`; it resumes from the stored cursor",
                self.platform, self.ctx.livestream_id, exc, self.token_hint(),
            )  # fmt: skip
            return "token_expired"
        except Refused as exc:
            log.error("%s: livestream %s stopped: the platform refused a request: %s",
                      self.platform, self.ctx.livestream_id, exc)  # fmt: skip
            return "refused"
        except PlatformError as exc:  # gave up while being stopped
            log.warning("%s: livestream %s: %s", self.platform, self.ctx.livestream_id, exc)
            return "stopped"
        finally:
            metrics.UP.labels(*self.labels).set(0)
        log.info("%s: livestream %s: %s", self.platform, self.ctx.livestream_id, outcome)
        return outcome

    def token_hint(self) -> str:
        return "the environment variable named in [connectors]"


class Poller(Reader):
    """A reader that fetches pages from a cursor (see the module docstring)."""

    retention: float | None = None  # seconds the platform keeps comments; None: for good

    async def fetch(self, cursor: Any) -> Page:
        raise NotImplementedError

    async def follow(self) -> str:
        state = await self.ctx.cursors.load()
        for cid in state.get("recent", ()):
            self.ctx.sink.seen.add(cid)
        cursor = state.get("cursor")
        last_ok = from_iso(state.get("last_ok"))
        first = True
        while not self.ctx.stop.is_set():
            try:
                page = await self.fetch(cursor)
            except Refused as exc:
                if cursor is None or not self.cursor_refused(exc):
                    raise
                log.warning("%s: livestream %s: the stored cursor was refused (%s); starting "
                            "again from what the platform still has", self.platform,
                            self.ctx.livestream_id, exc)  # fmt: skip
                cursor = None
                continue
            now = datetime.now(UTC)
            self.check_gap(last_ok, now)
            await self.ctx.sink.emit(page.comments, backfill=first and last_ok is not None)
            first = False
            cursor, last_ok = page.cursor, now
            await self.ctx.cursors.save({
                "cursor": cursor, "last_ok": iso(now), "last_at": iso(self.ctx.sink.latest_at),
                "recent": self.ctx.sink.recent(),
            })  # fmt: skip
            if page.ended:
                return "ended"
            if await self.ctx.pause(page.wait):
                break
        return "stopped"

    def cursor_refused(self, exc: PlatformError) -> bool:
        """Whether `exc` means the stored cursor is no longer valid (then: start over)."""
        return False

    def check_gap(self, last_ok: datetime | None, now: datetime) -> None:
        if self.retention is None or last_ok is None:
            return
        oldest_kept = now - timedelta(seconds=self.retention)
        if oldest_kept > last_ok:
            report_gap(self.platform, self.ctx.livestream_id, last_ok, oldest_kept,
                       f"{self.platform} keeps the comments of the last "
                       f"{self.retention:.0f} s only")  # fmt: skip
