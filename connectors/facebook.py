"""Facebook: a live video's comments (streaming-graph SSE, the Graph comments edge), hiding the
comments that show a phone number, and the Send API for customer messages.

Reading (`FacebookReader`, `read = "sse"`):

1. open `streaming-graph.facebook.com/{live-video-id}/live_comments` (SSE), and once it
   answered, catch up through `GET /{live-video-id}/comments?order=chronological` from the
   stored cursor to the end, so what was said before the stream opened (before a start, while
   the stream was down, before a crash) is produced first, in order;
2. then produce the stream's comments as they come (those the catch-up had are dropped);
3. every `reconcile_seconds`, catch up again: the stream sheds comments beyond its
   `comment_rate`, and the edge has them all. The cursor is the edge's `after` cursor, stored
   after each page Kafka acknowledged;
4. when the stream drops, back to 1 (with backoff and jitter); when the stream is refused
   for good, the edge alone (`read = "poll"` from the start): the Graph poll is the fallback.

The live ends when Graph says the video is no longer live (checked after the stream closes
and every reconcile in poll mode): one last catch-up, then the reader stops.
Graph errors: code 190 is an expired or revoked token (`TokenExpired`); 4, 17, 32, 613 are
rate limits (retried with backoff); `X-App-Usage` above 90 % slows the polls down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from config.connectors import FacebookConnector
from connectors import metrics
from connectors.http import (
    OK,
    Backoff,
    PlatformError,
    Refused,
    TokenExpired,
    Verdict,
    json_of,
    request,
)
from connectors.live import LiveContext, Reader
from connectors.sink import from_iso, iso
from connectors.sources import SourceError, facebook
from parsers.phones import find_phones
from stream.messages import Comment

log = logging.getLogger("chotdon.connect")
PLATFORM = "facebook"
FIELDS = "id,created_time,from{id,name},message"
PAGE_SIZE = 100
_TOKEN_CODES = {102, 190, 463, 467}
_RATE_CODES = {4, 17, 32, 613, 80001, 80004}
_TRANSIENT_CODES = {1, 2}
ENDED_STATUSES = {"VOD", "LIVE_STOPPED", "PROCESSING", "UNPUBLISHED"}
_END = object()


def graph_verdict(response: httpx.Response) -> Verdict:
    """A Graph (or streaming-graph) answer, from its status and `error` object."""
    status = response.status_code
    body = json_of(response) if status >= 300 else None
    error = body.get("error") if isinstance(body, dict) else None
    if 200 <= status < 300 and error is None:
        return OK
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    kind = f"{error.get('type', 'error')} {code}" if code is not None else f"HTTP {status}"
    reason = f"{kind}: {error.get('message') or response.text[:200]}"
    short = str(code if code is not None else status)
    if code in _TOKEN_CODES or (status == 401 and code is None):
        return Verdict("token_expired", reason, short)
    if code in _RATE_CODES or status == 429:
        return Verdict("rate_limited", reason, short)
    if code in _TRANSIENT_CODES or error.get("is_transient") or status >= 500:
        return Verdict("transient", reason, short)
    return Verdict("refused", reason, short)


def usage_percent(response: httpx.Response) -> float:
    """The highest share of the app's rate limit in use (`X-App-Usage`), 0-100."""
    raw = response.headers.get("x-app-usage")
    if not raw:
        return 0.0
    try:
        usage = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return 0.0
    values = [v for v in usage.values() if isinstance(v, int | float)]
    return float(max(values, default=0))


@dataclass(slots=True)
class GraphPage:
    comments: list[Comment]
    after: str | None  # the cursor after this page; None when the page was empty
    more: bool  # Graph has a next page now
    usage: float


class FacebookReader(Reader):
    platform = PLATFORM

    def __init__(self, ctx: LiveContext, account: FacebookConnector, token: str) -> None:
        super().__init__(ctx)
        self.account = account
        self.token = token
        self.cursor: str | None = None
        self.mode = account.read

    def token_hint(self) -> str:
        return f"the Page access token in ${self.account.page_token_env}"

    # -- Graph: the comments edge ---------------------------------------------------------

    async def graph_page(self, cursor: str | None) -> GraphPage:
        params: dict[str, Any] = {
            "access_token": self.token, "order": "chronological", "filter": "stream",
            "fields": FIELDS, "limit": PAGE_SIZE,
        }  # fmt: skip
        if cursor:
            params["after"] = cursor
        url = f"{self.ctx.urls.facebook_graph}/{self.ctx.source.id}/comments"
        response = await request(self.ctx.client, PLATFORM, "GET", url, params=params,
                                 classify=graph_verdict, what="comments edge")  # fmt: skip
        try:
            comments = facebook.parse_graph(response.content, shop_id=self.ctx.shop_id,
                                            livestream_id=self.ctx.livestream_id)  # fmt: skip
        except SourceError as exc:
            raise Refused(PLATFORM, Verdict("refused", str(exc), "unreadable")) from None
        body = orjson.loads(response.content)
        paging = body.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after") if comments else None
        return GraphPage(comments, after, bool(paging.get("next")), usage_percent(response))

    async def catch_up(self) -> None:
        """Produce everything the edge has after the cursor, page by page, storing the cursor
        after each page Kafka acknowledged."""
        while True:
            try:
                page = await self.graph_page(self.cursor)
            except Refused as exc:
                if self.cursor is None or exc.code != "100":
                    raise
                log.warning("facebook: livestream %s: the stored cursor was refused (%s); "
                            "reading the live's comments from the start (the store drops the "
                            "ones it has)", self.ctx.livestream_id, exc)  # fmt: skip
                self.cursor = None
                continue
            await self.ctx.sink.emit(page.comments, backfill=True)
            if page.after:
                self.cursor = page.after
            await self.save()
            if page.usage >= 90:
                log.warning("facebook: the app uses %.0f %% of its rate limit: slowing down",
                            page.usage)  # fmt: skip
                metrics.RETRIES.labels(PLATFORM, "rate_limit").inc()
                await self.ctx.pause(self.account.poll_seconds * 5)
            if not page.more or not page.comments:
                return

    async def save(self) -> None:
        await self.ctx.cursors.save({
            "cursor": self.cursor, "last_ok": iso(datetime.now(UTC)),
            "last_at": iso(self.ctx.sink.latest_at), "recent": self.ctx.sink.recent(),
        })  # fmt: skip

    async def live_ended(self) -> bool:
        url = f"{self.ctx.urls.facebook_graph}/{self.ctx.source.id}"
        response = await request(self.ctx.client, PLATFORM, "GET", url,
                                 params={"access_token": self.token, "fields": "status"},
                                 classify=graph_verdict, what="live video status")  # fmt: skip
        status = (json_of(response) or {}).get("status")
        return isinstance(status, str) and status.upper() in ENDED_STATUSES

    # -- following the live ---------------------------------------------------------------

    async def follow(self) -> str:
        state = await self.ctx.cursors.load()
        for cid in state.get("recent", ()):
            self.ctx.sink.seen.add(cid)
        self.cursor = state.get("cursor")
        self.ctx.sink.latest_at = from_iso(state.get("last_at"))
        backoff = Backoff(first=0.5, ceiling=30.0)
        while not self.ctx.stop.is_set():
            if self.mode == "poll":
                return await self.poll()
            try:
                ended = await self.stream()
                backoff.reset()
            except StreamRefused as exc:
                log.warning("facebook: livestream %s: the live_comments stream was refused "
                            "(%s); polling the comments edge instead", self.ctx.livestream_id,
                            exc)  # fmt: skip
                self.mode = "poll"
                continue
            except (TokenExpired, Refused):
                raise
            except PlatformError as exc:  # the stream did not open: transient
                log.warning("facebook: livestream %s: the stream did not open (%s)",
                            self.ctx.livestream_id, exc)  # fmt: skip
                ended = False
            if ended or await self.live_ended():
                await self.catch_up()
                return "ended"
            metrics.RETRIES.labels(PLATFORM, "stream_dropped").inc()
            await self.catch_up()  # the fallback while the stream is down
            delay = backoff.next_delay("transient")
            log.warning("facebook: livestream %s: the live_comments stream closed; reopening "
                        "in %.1f s", self.ctx.livestream_id, delay)  # fmt: skip
            if await self.ctx.pause(delay):
                break
        return "stopped"

    async def poll(self) -> str:
        checked = time.monotonic()
        while not self.ctx.stop.is_set():
            await self.catch_up()
            if time.monotonic() - checked >= self.account.reconcile_seconds:
                checked = time.monotonic()
                if await self.live_ended():
                    await self.catch_up()
                    return "ended"
            if await self.ctx.pause(self.account.poll_seconds):
                break
        return "stopped"

    async def stream(self) -> bool:
        """One SSE connection, until it closes (False) or we are stopped (True: done)."""
        params = {"access_token": self.token, "comment_rate": self.account.comment_rate,
                  "fields": FIELDS}  # fmt: skip
        url = f"{self.ctx.urls.facebook_streaming}/{self.ctx.source.id}/live_comments"
        timeout = httpx.Timeout(10.0, read=120.0)
        try:
            async with self.ctx.client.stream("GET", url, params=params,
                                              timeout=timeout) as response:  # fmt: skip
                if response.status_code >= 300:
                    await response.aread()
                    raise _error_of(graph_verdict(response), response.status_code)
                await self.catch_up()  # what was said before the stream opened, first
                return await self._relay(response)
        except httpx.TransportError as exc:
            log.warning("facebook: livestream %s: live_comments: %s: %s", self.ctx.livestream_id,
                        type(exc).__name__, exc)  # fmt: skip
            return False

    async def _relay(self, response: httpx.Response) -> bool:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        reader = asyncio.create_task(self._read(response, queue))
        next_reconcile = time.monotonic() + self.account.reconcile_seconds
        try:
            while not self.ctx.stop.is_set():
                wait = min(1.0, max(0.0, next_reconcile - time.monotonic()))
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=wait)
                except TimeoutError:
                    if time.monotonic() >= next_reconcile:
                        await self.catch_up()
                        next_reconcile = time.monotonic() + self.account.reconcile_seconds
                    continue
                batch = [item]
                while not queue.empty() and len(batch) < 1000:
                    batch.append(queue.get_nowait())
                ended = _END in batch
                comments = [c for c in batch if isinstance(c, Comment)]
                if comments:
                    await self.ctx.sink.emit(comments)
                if ended:
                    return False
            return True
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def _read(self, response: httpx.Response, queue: asyncio.Queue[Any]) -> None:
        try:
            async for comment in sse_comments(response.aiter_lines(), self.ctx.shop_id,
                                              self.ctx.livestream_id):  # fmt: skip
                queue.put_nowait(comment)
        except httpx.HTTPError as exc:  # cut off mid-stream
            log.warning("facebook: livestream %s: live_comments cut off: %s: %s",
                        self.ctx.livestream_id, type(exc).__name__, exc)  # fmt: skip
        finally:
            queue.put_nowait(_END)


class StreamRefused(Refused):
    """The live_comments stream was refused for good (not the token): poll instead."""


def _error_of(verdict: Verdict, status: int) -> PlatformError:
    if verdict.kind == "token_expired":
        return TokenExpired(PLATFORM, verdict, status)
    if verdict.kind == "refused":
        return StreamRefused(PLATFORM, verdict, status)
    metrics.RETRIES.labels(PLATFORM, "429" if status == 429 else f"{status // 100}xx").inc()
    return PlatformError(PLATFORM, verdict, status)


async def sse_comments(
    lines: AsyncIterator[str], shop_id: str, livestream_id: str
) -> AsyncIterator[Comment]:
    """The comments of an SSE stream as each event completes (connectors/sources/facebook.py
    reads each event; a bad one is logged and skipped, as a live reader should)."""
    event: list[str] = []
    async for line in lines:
        line = line.rstrip("\r\n")
        if line:
            event.append(line)
            continue
        if not event:
            continue
        lines_of_event, event = [*event, ""], []

        def skip(error: SourceError) -> None:
            log.warning("facebook: an unreadable live_comments event skipped: %s", error)

        for comment in facebook.iter_sse(lines_of_event, shop_id=shop_id,
                                         livestream_id=livestream_id, on_error=skip):  # fmt: skip
            yield comment


# -- hiding comments that show a phone number ---------------------------------------------


class PhoneHider:
    """Hides (Graph `POST /{comment-id}` with `is_hidden=true`) each comment whose text holds a
    phone number, after Kafka acknowledged it: the shop has the number, other viewers do not
    see it. The commenter and the page still see the comment. A failure is logged and counted;
    the comment stays visible."""

    def __init__(self, client: httpx.AsyncClient, graph_url: str, token: str) -> None:
        self.client = client
        self.graph_url = graph_url
        self.token = token
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def __call__(self, comments: list[Comment]) -> None:
        for comment in comments:
            if find_phones(comment.text):
                self.queue.put_nowait(comment.id)
        if self.task is None and not self.queue.empty():
            self.task = asyncio.create_task(self._work())

    async def _work(self) -> None:
        while True:
            comment_id = await self.queue.get()
            try:
                await request(self.client, PLATFORM, "POST", f"{self.graph_url}/{comment_id}",
                              params={"access_token": self.token}, data={"is_hidden": "true"},
                              classify=graph_verdict, attempts=6,
                              what="hiding a comment")  # fmt: skip
            except PlatformError as exc:
                metrics.HIDDEN.labels(PLATFORM, "failed").inc()
                log.warning("facebook: comment %s shows a phone number and could not be hidden: "
                            "%s", comment_id, exc)  # fmt: skip
            else:
                metrics.HIDDEN.labels(PLATFORM, "hidden").inc()
            finally:
                self.queue.task_done()

    async def drain(self, seconds: float = 10.0) -> None:
        if self.task is not None:
            try:
                await asyncio.wait_for(self.queue.join(), seconds)
            except TimeoutError:
                log.warning("facebook: %d comments with phone numbers left visible at shutdown",
                            self.queue.qsize())  # fmt: skip

    async def close(self) -> None:
        await self.drain()
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


# -- the Send API -------------------------------------------------------------------------


def send_body(message: dict[str, Any]) -> dict[str, Any]:
    """The Send API request for one outbound message: a private reply answers the comment
    (`recipient.comment_id`); a message goes to the person within the 24 h window."""
    if message.get("channel") == "private_reply":
        recipient = {"comment_id": message["comment_id"]}
    else:
        recipient = {"id": message["user_id"]}
    return {"recipient": recipient, "messaging_type": "RESPONSE",
            "message": {"text": message["text"]}}  # fmt: skip
