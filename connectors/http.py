"""Talking to a platform over HTTP: one request, retried with backoff and jitter while the
platform is busy or away, and a clear error when it refuses for good.

Every platform answers differently (Graph's `{"error": {"code": 190}}`, YouTube's
`error.errors[].reason`, Shopee's `error` in a 200), so each connector gives a `classify`
function turning a response into a `Verdict`; `default_verdict` is the HTTP status alone.

- `ok`: the response is returned;
- `rate_limited` (429, Graph codes 4/17/32/613, YouTube rateLimitExceeded): retried after the
  platform's Retry-After when it gives one, else with backoff from 5 s;
- `transient` (5xx, network errors): retried with backoff from 0.5 s;
- `token_expired`: `TokenExpired` is raised, naming the environment variable to renew;
- `refused`: `Refused` is raised with the platform's reason.

Backoff doubles up to 60 s with full jitter (a random delay up to the step), so many
connectors knocked out together do not come back in step. `attempts=None` retries until it
works (a reader must not give up on its live); a sender passes a bound.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from connectors import metrics

log = logging.getLogger("chotdon.connect")

Kind = Literal["ok", "transient", "rate_limited", "token_expired", "refused"]


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: Kind
    reason: str = ""  # the platform's words: "OAuthException 190: Error validating …"
    code: str = ""  # a short stable code: "429", "500", "190", "liveChatEnded", …


OK = Verdict("ok")


class PlatformError(Exception):
    def __init__(self, platform: str, verdict: Verdict, status: int | None = None) -> None:
        self.platform = platform
        self.verdict = verdict
        self.status = status
        self.code = verdict.code
        self.reason = verdict.reason
        where = f"HTTP {status}" if status is not None else "no answer"
        super().__init__(f"{platform}: {where}: {verdict.reason or verdict.kind}")


class TokenExpired(PlatformError):
    """The platform refused the credentials (expired, revoked, wrong): nothing to retry."""


class Refused(PlatformError):
    """The platform refused the request for good (a 4xx that is not about the token)."""


class GaveUp(PlatformError):
    """Still busy or away after the allowed attempts (bounded requests only)."""


Classify = Callable[[httpx.Response], Verdict]


def json_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def default_verdict(response: httpx.Response) -> Verdict:
    status = response.status_code
    if 200 <= status < 300:
        return OK
    text = response.text[:300]
    if status == 429:
        return Verdict("rate_limited", text, "429")
    if status >= 500:
        return Verdict("transient", text, str(status))
    if status == 401:
        return Verdict("token_expired", text, "401")
    return Verdict("refused", text, str(status))


@dataclass(slots=True)
class Backoff:
    first: float = 0.5
    ceiling: float = 60.0
    rate_limited_first: float = 5.0
    attempt: int = 0

    def next_delay(self, kind: Kind, retry_after: float | None = None) -> float:
        self.attempt += 1
        base = self.rate_limited_first if kind == "rate_limited" else self.first
        step = min(self.ceiling, base * 2 ** (self.attempt - 1))
        delay = random.uniform(step / 2, step)  # jitter, never less than half the step
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.ceiling * 5))
        return delay

    def reset(self) -> None:
        self.attempt = 0


def retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None  # an HTTP date: rare here; fall back to backoff


async def request(
    client: httpx.AsyncClient,
    platform: str,
    method: str,
    url: str,
    *,
    classify: Classify = default_verdict,
    attempts: int | None = None,
    what: str = "",
    sleep: Callable[[float], Any] = asyncio.sleep,
    **kwargs: Any,
) -> httpx.Response:
    """The response once the platform answered `ok`; retries as the module docstring says."""
    backoff = Backoff()
    tried = 0
    what = what or f"{method} {httpx.URL(url).path}"
    while True:
        tried += 1
        status: int | None = None
        after: float | None = None
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            verdict = Verdict("transient", f"{type(exc).__name__}: {exc}", "network")
        else:
            status = response.status_code
            verdict = classify(response)
            after = retry_after(response)
        if verdict.kind == "ok":
            if tried > 1:
                log.info("%s: %s answered after %d attempts", platform, what, tried)
            return response
        if verdict.kind == "token_expired":
            raise TokenExpired(platform, verdict, status)
        if verdict.kind == "refused":
            raise Refused(platform, verdict, status)
        reason = "network" if status is None else ("429" if verdict.kind == "rate_limited"
                                                   else f"{status // 100}xx")  # fmt: skip
        metrics.RETRIES.labels(platform, reason).inc()
        if attempts is not None and tried >= attempts:
            raise GaveUp(platform, verdict, status)
        delay = backoff.next_delay(verdict.kind, after)
        log.warning("%s: %s: %s (%s); retry %d in %.1f s", platform, what, verdict.kind,
                    verdict.reason[:200] or verdict.code, tried, delay)  # fmt: skip
        await sleep(delay)


def redact(params: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters fit for a log line (no tokens, no signatures)."""
    secret = ("access_token", "sign", "key", "token")
    return {k: ("…" if k in secret else v) for k, v in params.items()}
