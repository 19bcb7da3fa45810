"""Fake Facebook, YouTube, TikTok and Shopee servers for the connector tests, serving the payload
shapes of ../shared/data/payloads/ from a scripted live, with faults to inject.

`FakeLive` is the platform side of one live: a script of comments that get *posted* over time
(`post_all(rate)`), each served by every API of its platform in that platform's format. The
server (`serve_fakes`, an in-process uvicorn app on a free port) answers:

| prefix | platform API |
|---|---|
| `/graph/{video}/comments` | Graph comments edge (cursor paging, `order=chronological`) |
| `/graph/{video}` | live video status (`LIVE` while posting, `VOD` once ended) |
| `POST /graph/{comment}` | hide a comment (`is_hidden=true`) |
| `POST /graph/{page}/messages` | the Send API |
| `/streaming/{video}/live_comments` | streaming-graph SSE, from the moment of connection |
| `/youtube/v3/liveChat/messages` | liveChatMessages.list (pageToken, pollingIntervalMillis) |
| `/shopee/api/v2/livestream/get_latest_comment_list` | the last 10 s, signed requests only |
| `/shopee/api/v2/livestream/get_session_detail` | session status (1 live, 2 ended) |
| `POST /shopee/api/v2/sellerchat/send_message` | Shopee seller chat |
| `/tiktok/webcast/im/fetch/` | ProtoMessageFetchResult protobuf of WebcastChatMessages |

Faults (`Faults`): HTTP statuses served instead of the next answers (429 with Retry-After,
500, 503), pages that repeat the previous page's last comments (`overlap`), pages in reverse
order (`reverse`), a token that expires once `expire_token_at` comments are posted, an SSE
connection dropped every `sse_drop_every` events.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import socket
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.responses import StreamingResponse

# An hour ago: a private reply to a comment is allowed for 7 days after it, so the lives are
# recent whenever the tests run.
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
SHOPEE_PARTNER_ID = 2001234
SHOPEE_SHOP_ID = 77001
SHOPEE_PARTNER_KEY = "shopee-partner-key-test"


@dataclass(frozen=True, slots=True)
class Scripted:
    """One comment of the script, platform-neutral."""

    n: int  # its place in the script, 0-based
    user_id: str | None
    name: str
    text: str

    @property
    def at(self) -> datetime:  # one second apart: Graph's times have whole seconds
        return START + timedelta(seconds=self.n)


@dataclass(slots=True)
class Faults:
    statuses: list[int] = field(default_factory=list)  # served instead of the next answers
    every: int = 0  # with `statuses` empty: a 503 every `every` requests (0: never)
    overlap: int = 0  # each page also repeats this many comments of the one before
    reverse: bool = False  # each page newest first
    expire_token_at: int | None = None  # the token is refused once this many are posted
    sse_drop_every: int = 0  # close the SSE stream after this many events (0: never)
    retry_after: str = "0.2"


class FakeLive:
    def __init__(self, script: list[Scripted], *, platform: str = "facebook",
                 video_id: str = "900000000000001", token: str = "tok-1") -> None:  # fmt: skip
        self.script = script
        self.platform = platform
        self.video_id = video_id
        self.posted = 0
        self.posted_at: list[float] = []  # wall time each was posted (Shopee's 10 s window)
        self.ended = False
        self.tokens = {token}
        self.expired: set[str] = set()
        self.faults = Faults()
        self.requests = 0
        self.served: set[str] = set()  # ids of every comment any API returned
        self.hidden: list[str] = []
        self.sent: list[dict[str, Any]] = []  # Send API / seller chat bodies accepted
        self.send_statuses: list[int] = []  # statuses the send APIs answer first
        self.send_attempts = 0
        self.sse_connections = 0
        self.bad_signatures = 0
        self._changed = asyncio.Event()

    # -- the live -------------------------------------------------------------------------

    def post(self, count: int) -> None:
        for _ in range(count):
            if self.posted < len(self.script):
                self.posted += 1
                self.posted_at.append(time.time())
        if self.posted >= len(self.script):
            self.ended = True
        self._changed.set()
        self._changed = asyncio.Event()

    async def post_all(self, rate: float, *, until: int | None = None) -> None:
        """Post the script at `rate` comments a second (up to `until` of them)."""
        stop = len(self.script) if until is None else until
        started, done = time.monotonic(), self.posted
        while self.posted < stop:
            due = done + int((time.monotonic() - started) * rate) + 1
            self.post(min(due, stop) - self.posted)
            await asyncio.sleep(0.01)

    async def changed(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), seconds)

    def renew_token(self, token: str) -> None:
        self.tokens.add(token)

    def token_ok(self, token: str | None) -> bool:
        expire = self.faults.expire_token_at
        if expire is not None and self.posted >= expire and token in self.tokens:
            self.expired |= self.tokens & {token}
            self.faults.expire_token_at = None
        return token in self.tokens and token not in self.expired

    def fault(self) -> int | None:
        self.requests += 1
        if self.faults.statuses:
            return self.faults.statuses.pop(0)
        if self.faults.every and self.requests % self.faults.every == 0:
            return 503
        return None

    def window(self, start: int, limit: int) -> list[Scripted]:
        begin = max(0, start - self.faults.overlap) if start > 0 else 0
        items = self.script[begin : min(self.posted, start + limit)]
        for item in items:
            self.served.add(self.comment_id(item))
        return items[::-1] if self.faults.reverse else items

    def comment_id(self, item: Scripted) -> str:
        """The platform's id of a scripted comment, as its adapter keeps it."""
        if self.platform == "youtube":
            return f"LCC.{item.n}"
        if self.platform == "shopee":
            return str(900000000000 + item.n)
        if self.platform == "tiktok":
            return str(7400000000000000000 + item.n)
        return f"{self.video_id}_{1000000 + item.n}"

    def ids(self, count: int | None = None) -> list[str]:
        return [self.comment_id(item) for item in self.script[: count or len(self.script)]]


def script(texts: list[tuple[str | None, str]]) -> list[Scripted]:
    """(user_id, text) pairs as a script; names are derived from the user ids."""
    return [Scripted(n, user, "" if user is None else f"Khách {user}", text)
            for n, (user, text) in enumerate(texts)]  # fmt: skip


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"i{index}".encode()).decode()


def _index(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode()[1:])
    except ValueError:
        return -1


def _json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(value), status, headers, media_type="application/json")


def _graph_error(code: int, message: str, status: int = 400, **more: Any) -> Response:
    error = {"message": message, "type": "OAuthException", "code": code, **more}
    return _json({"error": error}, status)


def _fault_response(live: FakeLive, status: int) -> Response:
    headers = {"Retry-After": live.faults.retry_after} if status == 429 else None
    return _json({"error": {"message": f"fake fault {status}", "code": 2}}, status, headers)


# -- protobuf (TikTok) ---------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def tiktok_chat(live: FakeLive, item: Scripted) -> bytes:
    common = (_field(1, "WebcastChatMessage") + _field(2, int(live.comment_id(item)))
              + _field(4, int(item.at.timestamp() * 1000)))  # fmt: skip
    user = b""
    if item.user_id is not None:
        user = _field(1, int(item.user_id)) + _field(3, item.name) + _field(38, f"u{item.user_id}")
    return _field(1, common) + _field(2, user) + _field(3, item.text)


def tiktok_fetch_result(messages: list[tuple[str, bytes]], cursor: str, interval_ms: int) -> bytes:
    body = b"".join(_field(1, _field(1, method) + _field(2, payload) + _field(3, 1))
                    for method, payload in messages)  # fmt: skip
    now = int(time.time() * 1000)
    return body + _field(2, cursor) + _field(3, interval_ms) + _field(4, now) + _field(5, "ext")


# -- the app -------------------------------------------------------------------------------


def fake_app(live: FakeLive) -> FastAPI:
    app = FastAPI()

    # Facebook: Graph ------------------------------------------------------------------------
    def graph_item(item: Scripted) -> dict[str, Any]:
        out: dict[str, Any] = {
            "created_time": item.at.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "message": item.text,
            "id": live.comment_id(item),
        }
        if item.user_id is not None:
            out["from"] = {"name": item.name, "id": item.user_id}
        return out

    @app.get("/graph/{video}/comments")
    async def comments(video: str, request: Request) -> Response:
        q = request.query_params
        if (status := live.fault()) is not None:
            return _fault_response(live, status)
        if not live.token_ok(q.get("access_token")):
            return _graph_error(190, "Error validating access token: Session has expired",
                                error_subcode=463)  # fmt: skip
        if video != live.video_id:
            return _graph_error(100, f"Unsupported get request. Object {video} does not exist")
        start = _index(q.get("after"))
        if start < 0:
            return _graph_error(100, "Invalid cursor")
        limit = int(q.get("limit", "25"))
        items = live.window(start, limit)
        end = min(live.posted, start + limit)
        body: dict[str, Any] = {"data": [graph_item(i) for i in items]}
        if items:
            body["paging"] = {"cursors": {"before": _cursor(start), "after": _cursor(end)}}
            if end < live.posted:
                body["paging"]["next"] = f"http://fake/graph/{video}/comments?after={_cursor(end)}"
        return _json(body)

    @app.get("/graph/{video}")
    async def video_status(video: str, request: Request) -> Response:
        if not live.token_ok(request.query_params.get("access_token")):
            return _graph_error(190, "Error validating access token: Session has expired")
        return _json({"id": video, "status": "VOD" if live.ended else "LIVE"})

    @app.post("/graph/{object_id}")
    async def hide(object_id: str, request: Request) -> Response:
        form = urllib.parse.parse_qs((await request.body()).decode())
        if not live.token_ok(request.query_params.get("access_token")):
            return _graph_error(190, "Error validating access token")
        if form.get("is_hidden") == ["true"]:
            live.hidden.append(object_id)
        return _json({"success": True})

    async def send(body: dict[str, Any]) -> Response:
        live.send_attempts += 1
        if live.send_statuses:
            status = live.send_statuses.pop(0)
            if status == 400:
                return _graph_error(10, "This message is sent outside of allowed window.",
                                    error_subcode=2018278)  # fmt: skip
            return _json({"error": {"message": f"fake {status}", "code": 1 if status == 503 else
                                    -1}}, status)  # fmt: skip
        live.sent.append(body)
        return _json({"recipient_id": "psid", "message_id": f"m_{len(live.sent)}"})

    @app.post("/graph/{page}/messages")
    async def send_api(page: str, request: Request) -> Response:
        if not live.token_ok(request.query_params.get("access_token")):
            return _graph_error(190, "Error validating access token")
        return await send(orjson.loads(await request.body()))

    # Facebook: streaming-graph SSE ---------------------------------------------------------
    @app.get("/streaming/{video}/live_comments")
    async def live_comments(video: str, request: Request) -> Response:
        if (status := live.fault()) is not None:
            return _fault_response(live, status)
        if not live.token_ok(request.query_params.get("access_token")):
            return _graph_error(190, "Error validating access token: Session has expired")
        live.sse_connections += 1
        start = live.posted

        async def events() -> AsyncIterator[bytes]:
            index, sent = start, 0
            yield b": connected\n\n"
            while True:
                while index < live.posted:
                    item = live.script[index]
                    live.served.add(live.comment_id(item))
                    yield b"data: " + orjson.dumps(graph_item(item)) + b"\n\n"
                    index, sent = index + 1, sent + 1
                    if live.faults.sse_drop_every and sent >= live.faults.sse_drop_every:
                        return  # the connection drops
                if live.ended:
                    return
                await live.changed(0.5)

        return StreamingResponse(events(), media_type="text/event-stream")

    # YouTube -----------------------------------------------------------------------------
    def yt_item(item: Scripted) -> dict[str, Any]:
        author = item.user_id or "UCanonymous"
        return {
            "kind": "youtube#liveChatMessage", "etag": f"e{item.n}", "id": f"LCC.{item.n}",
            "snippet": {"type": "textMessageEvent", "liveChatId": live.video_id,
                        "authorChannelId": author,
                        "publishedAt": item.at.isoformat().replace("+00:00", ".000000+00:00"),
                        "hasDisplayContent": True, "displayMessage": item.text,
                        "textMessageDetails": {"messageText": item.text}},
            "authorDetails": {"channelId": author, "displayName": item.name},
        }  # fmt: skip

    @app.get("/youtube/v3/liveChat/messages")
    async def yt_list(request: Request) -> Response:
        q = request.query_params
        if (status := live.fault()) is not None:
            return _fault_response(live, status)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not live.token_ok(token):
            error = {
                "code": 401,
                "message": "Invalid Credentials",
                "errors": [{"reason": "authError", "message": "Invalid Credentials"}],
            }
            return _json({"error": error}, 401)  # fmt: skip
        start = _index(q.get("pageToken"))
        if live.ended and start >= live.posted:
            error = {
                "code": 403,
                "message": "The live chat is no longer live.",
                "errors": [{"reason": "liveChatEnded"}],
            }
            return _json({"error": error}, 403)  # fmt: skip
        limit = int(q.get("maxResults", "500"))
        items = live.window(start, limit)
        end = min(live.posted, start + limit)
        body = {"kind": "youtube#liveChatMessageListResponse", "etag": "e",
                "nextPageToken": _cursor(end), "pollingIntervalMillis": 100,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
                "items": [yt_item(i) for i in items]}  # fmt: skip
        return _json(body)

    # Shopee ------------------------------------------------------------------------------
    def shopee_signed(path: str, q: Any) -> bool:
        base = (f"{q.get('partner_id')}{path}{q.get('timestamp')}{q.get('access_token')}"
                f"{q.get('shop_id')}")  # fmt: skip
        good = hmac.new(SHOPEE_PARTNER_KEY.encode(), base.encode(), hashlib.sha256).hexdigest()
        fresh = abs(time.time() - int(q.get("timestamp") or 0)) < 300
        return fresh and hmac.compare_digest(good, q.get("sign") or "")

    def shopee_error(error: str, message: str, status: int = 200) -> Response:
        return _json({"request_id": "r", "error": error, "message": message}, status)

    @app.get("/shopee/api/v2/livestream/get_latest_comment_list")
    async def shopee_comments(request: Request) -> Response:
        q = request.query_params
        path = "/api/v2/livestream/get_latest_comment_list"
        if not shopee_signed(path, q):
            live.bad_signatures += 1
            return shopee_error("error_sign", "Wrong sign.", 403)
        if (status := live.fault()) is not None:
            return shopee_error("error_server", f"fake {status}", status)
        if not live.token_ok(q.get("access_token")):
            return shopee_error("invalid_acceess_token", "Invalid access_token.")
        offset = 0 if live.faults.overlap else int(q.get("offset") or 0)
        now = time.time()
        recent = [item for item in live.script[offset : live.posted]
                  if live.posted_at[item.n] >= now - 10]  # fmt: skip
        recent = recent[: int(q.get("page_size") or 100)]
        for item in recent:
            live.served.add(live.comment_id(item))
        listed = recent[::-1] if live.faults.reverse else recent
        body = {"request_id": "r", "error": "", "message": "", "response": {
            "next_offset": recent[-1].n + 1 if recent else offset,
            "list": [{"comment_id": int(live.comment_id(i)), "content": i.text,
                      "timestamp": int(i.at.timestamp()), "user_id": int(i.user_id or 0),
                      "username": i.name} for i in listed]}}  # fmt: skip
        return _json(body)

    @app.get("/shopee/api/v2/livestream/get_session_detail")
    async def shopee_session(request: Request) -> Response:
        if not shopee_signed("/api/v2/livestream/get_session_detail", request.query_params):
            live.bad_signatures += 1
            return shopee_error("error_sign", "Wrong sign.", 403)
        status = 2 if live.ended else 1
        return _json(
            {
                "request_id": "r",
                "error": "",
                "message": "",
                "response": {"session_id": int(live.video_id), "status": status},
            }
        )

    @app.post("/shopee/api/v2/sellerchat/send_message")
    async def shopee_send(request: Request) -> Response:
        if not shopee_signed("/api/v2/sellerchat/send_message", request.query_params):
            live.bad_signatures += 1
            return shopee_error("error_sign", "Wrong sign.", 403)
        return await send(orjson.loads(await request.body()))

    # TikTok ------------------------------------------------------------------------------
    @app.get("/tiktok/webcast/im/fetch/")
    async def tiktok_fetch(request: Request) -> Response:
        q = request.query_params
        if (status := live.fault()) is not None:
            return _fault_response(live, status)
        if not live.token_ok(request.headers.get("x-api-key")):
            return _json({"message": "invalid api key"}, 401)
        start = int(q.get("cursor") or 0)
        items = live.window(start, 200)
        end = min(live.posted, start + 200)
        messages = [("WebcastChatMessage", tiktok_chat(live, item)) for item in items]
        messages.insert(0, ("WebcastRoomUserSeqMessage", _field(3, 1234)))
        if live.ended and end >= live.posted:
            messages.append(("WebcastControlMessage", _field(2, 3)))
        body = tiktok_fetch_result(messages, str(end), 100)
        return Response(body, media_type="application/x-protobuf")

    return app


@contextlib.asynccontextmanager
async def serve_fakes(live: FakeLive) -> AsyncIterator[str]:
    """The fake platforms on a free local port; yields the base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            yield

    server = Server(uvicorn.Config(fake_app(live), log_level="warning", lifespan="off",
                                   access_log=False))  # fmt: skip
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
        if task.done():
            task.result()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        server.force_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)
        sock.close()


def urls_for(base: str) -> Any:
    from config.settings import PlatformUrls

    return PlatformUrls(facebook_graph=f"{base}/graph", facebook_streaming=f"{base}/streaming",
                        youtube=f"{base}/youtube/v3", tiktok=f"{base}/tiktok",
                        shopee=f"{base}/shopee")  # fmt: skip


def url_env(base: str) -> dict[str, str]:
    return {"CHOTDON_FACEBOOK_GRAPH_URL": f"{base}/graph",
            "CHOTDON_FACEBOOK_STREAMING_URL": f"{base}/streaming",
            "CHOTDON_YOUTUBE_URL": f"{base}/youtube/v3", "CHOTDON_TIKTOK_URL": f"{base}/tiktok",
            "CHOTDON_SHOPEE_URL": f"{base}/shopee"}  # fmt: skip
