"""Prometheus metrics of the connectors and the outbound sender (`chotdon connect`, served on
`--metrics-port`, default CHOTDON_METRICS_PORT + 1). Labels are the platform and chotdon's
livestream id: a handful of lives per process, never a user or a comment."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

COMMENTS_IN = Counter(
    "chotdon_connector_comments_in_total",
    "Comments read from the platform (every copy, duplicates included)",
    ["platform", "livestream"],
)
PRODUCED = Counter(
    "chotdon_connector_comments_produced_total",
    "Comments acknowledged by Kafka on the comments topic",
    ["platform", "livestream"],
)
DUPLICATES = Counter(
    "chotdon_connector_duplicates_total",
    "Comments read again (overlapping pages, a catch-up after the stream had them) and not "
    "produced again",
    ["platform", "livestream"],
)
GAPS = Counter(
    "chotdon_connector_gaps_total",
    "Stretches of a live whose comments the platform could no longer give",
    ["platform", "livestream"],
)
GAP_SECONDS = Counter(
    "chotdon_connector_gap_seconds_total",
    "Length of those stretches, in seconds of the live",
    ["platform", "livestream"],
)
BACKFILLED = Counter(
    "chotdon_connector_backfilled_total",
    "Comments fetched by a catch-up (after a start, a dropped stream, an outage)",
    ["platform", "livestream"],
)
RETRIES = Counter(
    "chotdon_connector_retries_total",
    "Platform requests retried, by reason (429, 5xx, network, stream_dropped, rate_limit)",
    ["platform", "reason"],
)
SIGNATURE_FAILURES = Counter(
    "chotdon_connector_signature_failures_total",
    "Webhook deliveries refused (401) for a missing or wrong signature",
    ["platform"],
)
TOKEN_EXPIRED = Gauge(
    "chotdon_connector_token_expired",
    "1 while a connector is stopped because the platform refused its token",
    ["platform", "livestream"],
)
UP = Gauge("chotdon_connector_up", "1 while a connector reads its live", ["platform", "livestream"])
LAG_SECONDS = Gauge(
    "chotdon_connector_lag_seconds",
    "Behind the platform: now minus the time of the latest comment produced",
    ["platform", "livestream"],
)
HIDDEN = Counter(
    "chotdon_connector_hidden_comments_total",
    "Comments hidden because they hold a phone number, by outcome (hidden, failed)",
    ["platform", "outcome"],
)
OUTBOUND = Counter(
    "chotdon_outbound_messages_total",
    "Customer messages handled by the sender, by outcome (delivered, refused, uncertain, skipped)",
    ["platform", "outcome"],
)
OUTBOUND_RETRIES = Counter(
    "chotdon_outbound_retries_total", "Send attempts retried (429, 5xx, network)", ["platform"]
)
