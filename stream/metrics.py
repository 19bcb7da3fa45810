"""Prometheus metrics of the comment pipeline, served by the worker (`CHOTDON_METRICS_PORT`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

COMMENTS_IN = Counter("chotdon_comments_in_total", "Comment records read from Kafka")
PARSED = Counter("chotdon_comments_parsed_total", "Parsed comments by intent", ["intent"])
ITEMS = Counter("chotdon_items_parsed_total", "Parsed items by status", ["status"])
DRAFTS_CREATED = Counter("chotdon_drafts_created_total", "Draft orders created")
DRAFT_EVENTS = Counter("chotdon_draft_events_total", "Draft events published")
LINES = Gauge(
    "chotdon_draft_lines",
    "Lines of the drafts published for the latest batch, per livestream",
    ["livestream"],
)
WAITLISTED_UNITS = Gauge(
    "chotdon_waitlisted_units",
    "Units waiting for stock in the drafts published for the latest batch, per livestream",
    ["livestream"],
)
DEAD_LETTERS = Counter("chotdon_dead_letters_total", "Records sent to dead letters", ["reason"])
BATCH_SIZE = Histogram(
    "chotdon_batch_size",
    "Records per batch taken from Kafka",
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000),
)
REDIS_SECONDS = Histogram(
    "chotdon_redis_call_seconds",
    "Duration of one store call (one FCALL per livestream group)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
END_TO_END_SECONDS = Histogram(
    "chotdon_end_to_end_seconds",
    "From a comment's created_at to its draft being applied in Redis",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
STORE_RETRIES = Counter("chotdon_store_retries_total", "Store calls retried (Redis unreachable)")
CONSUMER_LAG = Gauge(
    "chotdon_consumer_lag", "Records behind the partition's high watermark", ["partition"]
)
AUTOMATION_LAG = Gauge(
    "chotdon_automation_lag",
    "Order and draft events the automation intake has still to read, per partition",
    ["topic", "partition"],
)
COMMANDS = Counter(
    "chotdon_commands_total", "Staff commands handled, by type and outcome", ["type", "outcome"]
)
FLAGGED_DRAFT_EVENTS = Counter(
    "chotdon_flagged_draft_events_total",
    "Draft events carrying a customer warning (returned orders, blacklist)",
)
AUTOMATION_ACTIONS = Counter(
    "chotdon_automation_actions_total", "Commands sent by automation rules, by action", ["action"]
)
