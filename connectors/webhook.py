"""The Facebook Page webhook receiver: `GET` answers the subscription check, `POST` takes the
page's deliveries (`feed` comments on the shop's live videos, `live_videos` status changes).

- `GET /webhooks/facebook?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` answers the
  challenge when the verify token is the shop's (`verify_token_env`), 403 otherwise.
- `POST /webhooks/facebook` is accepted only with an `X-Hub-Signature-256: sha256=<hex>`
  header that is the HMAC-SHA256 of the raw body with the app secret (`app_secret_env`),
  compared in constant time (`hmac.compare_digest`); anything else is answered 401 and counted
  (`chotdon_connector_signature_failures_total`), and nothing in it is read.
- A delivery's comments on a configured live video go through that livestream's sink (the
  same one as its reader: a comment the stream brought too is produced once) and the answer
  is 200 only once Kafka acknowledged them: Facebook retries a delivery that failed, which
  makes the webhook at-least-once like the rest.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import FastAPI, Request, Response

from connectors import metrics
from connectors.sink import LiveSink
from connectors.sources import SourceError, facebook

log = logging.getLogger("chotdon.connect")
PATH = "/webhooks/facebook"


@dataclass(frozen=True, slots=True)
class Route:
    """A live video of a page, and the sink of the chotdon livestream it feeds."""

    page_id: str
    video_id: str
    shop_id: str
    sink: LiveSink


def signature_ok(body: bytes, header: str | None, secrets: Sequence[str]) -> bool:
    """Whether `header` is `sha256=` + the HMAC-SHA256 of `body` with one of the secrets."""
    if not header or not header.startswith("sha256="):
        return False
    given = header.removeprefix("sha256=").strip().lower()
    good = False
    for secret in secrets:  # every secret is tried: no early exit that timing could reveal
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        good |= hmac.compare_digest(expected, given)
    return good


def webhook_app(routes: Sequence[Route], app_secrets: Sequence[str],
                verify_tokens: Sequence[str]) -> FastAPI:  # fmt: skip
    app = FastAPI(title="chotdon connect", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get(PATH)
    async def verify(request: Request) -> Response:
        query = request.query_params
        token = query.get("hub.verify_token", "")
        known = any(hmac.compare_digest(token, t) for t in verify_tokens if t)
        if query.get("hub.mode") == "subscribe" and known:
            return Response(query.get("hub.challenge", ""), media_type="text/plain")
        log.warning("facebook webhook: a subscription check with a wrong verify token refused")
        return Response("forbidden", status_code=403, media_type="text/plain")

    @app.post(PATH)
    async def deliver(request: Request) -> Response:
        body = await request.body()
        if not signature_ok(body, request.headers.get("x-hub-signature-256"), app_secrets):
            metrics.SIGNATURE_FAILURES.labels("facebook").inc()
            client = request.client.host if request.client else "?"
            log.warning("facebook webhook: a delivery from %s refused: missing or wrong "
                        "X-Hub-Signature-256", client)  # fmt: skip
            return Response("bad signature", status_code=401, media_type="text/plain")
        try:
            changes = facebook.live_video_changes(body)
            for change in changes:
                log.info("facebook webhook: page %s live video %s is %s", change.page_id,
                         change.video_id, change.status)  # fmt: skip
            for route in routes:
                comments = facebook.parse_webhook(body, shop_id=route.shop_id,
                                                  livestream_id=route.sink.livestream_id,
                                                  video_id=route.video_id)  # fmt: skip
                if comments:
                    await route.sink.emit(comments)
        except SourceError as exc:
            # 200 all the same: Facebook would retry it for hours and then disable the
            # subscription; the reader's catch-up has the comments anyway
            log.error("facebook webhook: an unreadable delivery skipped: %s", exc)
        return Response("EVENT_RECEIVED", media_type="text/plain")

    return app
