"""Platform connectors of a shop: the `[connectors]` schema (what `chotdon connect` runs).

One table per platform holds the shop's account there (page, partner and shop ids) and the
NAMES of the environment variables holding its secrets, never the secrets themselves: a shop
configuration is committed, copied and shown; a token in it would leak. `[[connectors.live]]`
binds one chotdon livestream (`chotdon live start --livestream L1`) to the platform's live
(a Facebook live video id, a YouTube liveChatId, a TikTok room id, a Shopee session id):

    [connectors.facebook]
    page_id            = "100000000000777"
    page_token_env     = "FB_PAGE_TOKEN"        # a Page access token (pages_read_engagement, …)
    app_secret_env     = "FB_APP_SECRET"        # checks the webhook's X-Hub-Signature-256
    verify_token_env   = "FB_VERIFY_TOKEN"      # the webhook subscription's verify token
    hide_phone_numbers = true

    [[connectors.live]]
    livestream = "L1"
    platform   = "facebook"
    id         = "100000000000900"

A livestream has one source: the order comments arrive in decides who comes first, and one
platform's live is one order.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from config.base import ConfigProblems, Location, Strict

EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100)]
PlatformId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\s{}]+$")]
Seconds = Annotated[float, Field(gt=0, le=600)]
CommentRate = Literal["one_per_two_seconds", "ten_per_second", "one_hundred_per_second"]
PLATFORMS = ("facebook", "youtube", "tiktok", "shopee")


class FacebookConnector(Strict):
    page_id: PlatformId
    page_token_env: EnvName = "FB_PAGE_TOKEN"
    app_secret_env: EnvName = "FB_APP_SECRET"
    verify_token_env: EnvName = "FB_VERIFY_TOKEN"
    # "sse": the streaming-graph live_comments stream, the Graph comments edge to catch up
    # (after a start, a dropped stream, and every reconcile_seconds); "poll": the edge alone.
    read: Literal["sse", "poll"] = "sse"
    comment_rate: CommentRate = "one_hundred_per_second"
    poll_seconds: Seconds = 2.0
    reconcile_seconds: Seconds = 15.0
    # Page webhook deliveries (`chotdon connect --webhook-port`) as a second, pushed source.
    webhook: bool = False
    # Hide (Graph `is_hidden`) a comment holding a phone number once Kafka has it.
    hide_phone_numbers: bool = False


class YouTubeConnector(Strict):
    # an OAuth 2.0 access token with the youtube.readonly scope (or youtube.force-ssl)
    token_env: EnvName = "YOUTUBE_TOKEN"
    max_results: Annotated[int, Field(ge=200, le=2000)] = 2000


class TikTokConnector(Strict):
    # TikTok has no official live-comment API: the feed is the webcast `im/fetch` endpoint as
    # open-source clients use it, reached through a signing service (CHOTDON_TIKTOK_URL); the
    # variable's value goes in the `x-api-key` header.
    token_env: EnvName = "TIKTOK_FEED_TOKEN"
    # TikTok's backfill from an old cursor is unverified: an outage longer than this is
    # reported as a possible gap.
    backfill_seconds: Seconds = 60.0


class ShopeeConnector(Strict):
    partner_id: Annotated[int, Field(ge=1)]
    shop_id: Annotated[int, Field(ge=1)]
    partner_key_env: EnvName = "SHOPEE_PARTNER_KEY"
    access_token_env: EnvName = "SHOPEE_ACCESS_TOKEN"
    # get_latest_comment_list returns the last 10 seconds only: poll well inside that
    poll_seconds: Annotated[float, Field(gt=0, le=8)] = 2.0


class LiveSource(Strict):
    livestream: PlatformId  # chotdon's livestream id
    platform: Literal["facebook", "youtube", "tiktok", "shopee"]
    id: PlatformId  # the platform's live: video id, liveChatId, room id, session id


class Connectors(Strict):
    facebook: FacebookConnector | None = None
    youtube: YouTubeConnector | None = None
    tiktok: TikTokConnector | None = None
    shopee: ShopeeConnector | None = None
    live: tuple[LiveSource, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Connectors:
        problems: list[tuple[Location, str]] = []
        first: dict[str, int] = {}
        for index, source in enumerate(self.live):
            if getattr(self, source.platform) is None:
                problems.append((
                    ("live", index, "platform"),
                    f"no [connectors.{source.platform}] table: the {source.platform} account "
                    "of the shop is not configured",
                ))  # fmt: skip
            if source.livestream in first:
                problems.append((
                    ("live", index, "livestream"),
                    f"livestream {source.livestream!r} already has a source at "
                    f"live[{first[source.livestream]}]: one livestream, one platform live",
                ))  # fmt: skip
            first.setdefault(source.livestream, index)
        if problems:
            raise ConfigProblems(problems)
        return self

    def of(self, livestream: str) -> LiveSource | None:
        return next((s for s in self.live if s.livestream == livestream), None)
