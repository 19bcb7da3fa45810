"""Runtime settings, read from the environment with defaults that match `chotdon stack up`.

Pointing chotdon at a production Kafka cluster and Redis is a matter of settings only:
`CHOTDON_KAFKA=broker1:9092,broker2:9092 CHOTDON_REDIS=redis://redis.internal:6379/0`, or
`CHOTDON_REDIS=redis+cluster://node1:6379,node2:6379` for a Redis Cluster.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_KAFKA = "127.0.0.1:9092"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True, slots=True)
class Topics:
    comments: str = "chotdon.comments"
    draft_events: str = "chotdon.draft-events"
    order_commands: str = "chotdon.order-commands"
    # every command's outcome (applied, or refused with every reason): what `chotdon order` waits on
    command_outcomes: str = "chotdon.command-outcomes"
    orders: str = "chotdon.orders"
    order_events: str = "chotdon.order-events"
    messages_outbound: str = "chotdon.messages.outbound"
    dead_letters: str = "chotdon.dead-letters"


@dataclass(frozen=True, slots=True)
class Settings:
    kafka: str = DEFAULT_KAFKA
    redis: str = DEFAULT_REDIS
    # Where `chotdon stack up` keeps the broker's and Redis's data, logs and pid files.
    stack_dir: Path = Path(".stack")
    # Where Kafka's jars are cached (resolved from Maven Central, never committed).
    cache_dir: Path = Path(".cache")
    kafka_controller_port: int = 9093
    # Maximum Java heap of the local broker (`java -Xmx…`): modest, the machine also runs tests.
    kafka_heap: str = "768m"
    app_id: str = "chotdon"
    comment_partitions: int = 4
    metrics_port: int = 9464
    # `chotdon serve`: the staff dashboard and HTTP API
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # A dashboard login lasts this long without use (the session is renewed while used).
    session_hours: int = 12
    # Session cookies only over HTTPS: on behind a TLS proxy, off for http://127.0.0.1.
    cookie_secure: int = 0
    topics: Topics = field(default_factory=Topics)

    @property
    def kafka_host_port(self) -> tuple[str, int]:
        """The first bootstrap server, which is also what `stack up` binds locally."""
        first = self.kafka.split(",")[0].strip().removeprefix("kafka://")
        host, colon, port = first.rpartition(":")
        if not colon:
            host, port = first, ""
        if port and not port.isdigit():
            raise SettingsError(f"CHOTDON_KAFKA={self.kafka!r}: expected host:port[,host:port…]")
        return host or "127.0.0.1", int(port or 9092)

    @property
    def redis_is_cluster(self) -> bool:
        return is_cluster_url(self.redis)

    @property
    def redis_host_port(self) -> tuple[str, int]:
        """The Redis server (a cluster's first node), which is also what `stack up` binds."""
        if self.redis_is_cluster:
            return cluster_nodes(self.redis)[0]
        parts = urlsplit(self.redis)
        try:
            port = parts.port
        except ValueError:
            raise SettingsError(
                f"CHOTDON_REDIS={self.redis!r}: expected redis://host:port/db"
            ) from None
        return parts.hostname or "127.0.0.1", port or 6379


CLUSTER_SCHEME = "redis+cluster://"


def is_cluster_url(url: str) -> bool:
    """`redis+cluster://host:port[,host:port…]` names a Redis Cluster by some of its nodes."""
    return url.startswith(CLUSTER_SCHEME)


def cluster_nodes(url: str) -> list[tuple[str, int]]:
    """The (host, port) of each node a cluster URL lists (the client finds the others)."""
    rest = url.removeprefix(CLUSTER_SCHEME).split("/", 1)[0]
    nodes = []
    for part in rest.split(","):
        host, colon, port = part.strip().rpartition(":")
        if not colon or not port.isdigit() or not host:
            raise SettingsError(
                f"CHOTDON_REDIS={url!r}: expected redis+cluster://host:port[,host:port…]"
            )
        nodes.append((host, int(port)))
    return nodes


_ENV = {
    "kafka": "CHOTDON_KAFKA",
    "redis": "CHOTDON_REDIS",
    "stack_dir": "CHOTDON_STACK_DIR",
    "cache_dir": "CHOTDON_CACHE_DIR",
    "kafka_controller_port": "CHOTDON_KAFKA_CONTROLLER_PORT",
    "kafka_heap": "CHOTDON_KAFKA_HEAP",
    "app_id": "CHOTDON_APP_ID",
    "comment_partitions": "CHOTDON_COMMENT_PARTITIONS",
    "metrics_port": "CHOTDON_METRICS_PORT",
    "http_host": "CHOTDON_HTTP_HOST",
    "http_port": "CHOTDON_HTTP_PORT",
    "session_hours": "CHOTDON_SESSION_HOURS",
    "cookie_secure": "CHOTDON_COOKIE_SECURE",
}
_TOPIC_ENV_PREFIX = "CHOTDON_TOPIC_"  # e.g. CHOTDON_TOPIC_COMMENTS=shop1.comments


class SettingsError(ValueError):
    pass


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for name, variable in _ENV.items():
        raw = env.get(variable)
        if raw is None or raw == "":
            continue
        kind = {f.name: f.type for f in fields(Settings)}[name]
        if kind in ("int", int):
            try:
                values[name] = int(raw)
            except ValueError:
                raise SettingsError(f"{variable}={raw!r}: expected a whole number") from None
        elif kind in ("Path", Path):
            values[name] = Path(raw)
        else:
            values[name] = raw
    topic_values = {
        f.name: env[_TOPIC_ENV_PREFIX + f.name.upper()]
        for f in fields(Topics)
        if env.get(_TOPIC_ENV_PREFIX + f.name.upper())
    }
    settings = Settings(**values, topics=Topics(**topic_values))  # type: ignore[arg-type]
    settings.kafka_host_port  # noqa: B018 - raise SettingsError now for a malformed address
    settings.redis_host_port  # noqa: B018
    return settings


# --- platform connectors (`chotdon connect`) -----------------------------------------------


@dataclass(frozen=True, slots=True)
class PlatformUrls:
    """Where the connectors reach each platform: the real hosts by default; tests (and a
    shop behind a relay) point them elsewhere with CHOTDON_<PLATFORM>_URL."""

    facebook_graph: str = "https://graph.facebook.com/v26.0"
    facebook_streaming: str = "https://streaming-graph.facebook.com"
    youtube: str = "https://www.googleapis.com/youtube/v3"
    tiktok: str = "https://webcast.tiktok.com"
    shopee: str = "https://partner.shopeemobile.com"


_URL_ENV = {
    "facebook_graph": "CHOTDON_FACEBOOK_GRAPH_URL",
    "facebook_streaming": "CHOTDON_FACEBOOK_STREAMING_URL",
    "youtube": "CHOTDON_YOUTUBE_URL",
    "tiktok": "CHOTDON_TIKTOK_URL",
    "shopee": "CHOTDON_SHOPEE_URL",
}


def load_platform_urls(environ: Mapping[str, str] | None = None) -> PlatformUrls:
    env = os.environ if environ is None else environ
    values = {}
    for name, variable in _URL_ENV.items():
        raw = env.get(variable, "").strip()
        if not raw:
            continue
        if urlsplit(raw).scheme not in ("http", "https"):
            raise SettingsError(f"{variable}={raw!r}: expected an http(s):// URL")
        values[name] = raw.rstrip("/")
    return PlatformUrls(**values)
