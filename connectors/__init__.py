"""Platform connectors: what brings a livestream's comments into chotdon and its messages out.

`connectors/sources/` holds one adapter per platform payload (Facebook, TikTok, YouTube,
Shopee) that turns what the platform sends into `Comment`s; the long-running services (webhook
receivers, pollers, the outbound sender) build on them.
"""
