"""Platform adapters: one module per platform turning its payloads into `Comment`s.

Every adapter raises `SourceError`, and only that, for a payload it cannot read, naming the
place and the reason (`facebook graph: data[2].created_time: not an ISO 8601 time: 'yesterday'`).
Comments come out in the platform's time order, oldest first; see each module for what it
assumes about the order the platform sends them in. Comment ids are the platform's own.

`ADAPTERS` maps a source name (`chotdon ingest --source NAME FILE`) to an adapter taking the
raw payload (bytes or text) or its decoded JSON value, plus `shop_id` and `livestream_id`.
"""

from __future__ import annotations

from connectors.sources import facebook, shopee, tiktok, youtube
from connectors.sources._common import Adapter, SourceError

__all__ = ["ADAPTERS", "Adapter", "SourceError"]

ADAPTERS: dict[str, Adapter] = {
    "facebook-graph": facebook.parse_graph,  # GET /{live-video-id}/comments response
    "facebook-sse": facebook.parse_sse,  # streaming-graph live_comments text
    "facebook-webhook": facebook.parse_webhook,  # Page webhook delivery (feed comments)
    "tiktok": tiktok.parse,  # WebcastChatMessage JSON, one or a list
    "tiktok-protobuf": tiktok.parse_protobuf_b64,  # one base64 WebcastChatMessage per line
    "youtube": youtube.parse,  # liveChatMessages list response
    "shopee": shopee.parse,  # v2.livestream.get_latest_comment_list response
}
