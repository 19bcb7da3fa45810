"""Settings from the environment: defaults match `chotdon stack up`, every field is overridable."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings, SettingsError, Topics, load_settings


def test_defaults_match_the_local_stack() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert settings.kafka == "127.0.0.1:9092"
    assert settings.kafka_host_port == ("127.0.0.1", 9092)
    assert settings.kafka_controller_port == 9093
    assert settings.redis_host_port == ("127.0.0.1", 6379)
    assert settings.stack_dir == Path(".stack")
    assert settings.cache_dir == Path(".cache")
    assert settings.kafka_heap == "768m"
    assert settings.topics.comments == "chotdon.comments"


def test_every_variable_is_read() -> None:
    settings = load_settings(
        {
            "CHOTDON_KAFKA": "127.0.0.1:19092",
            "CHOTDON_REDIS": "redis://127.0.0.1:16379/2",
            "CHOTDON_STACK_DIR": "/tmp/stack",
            "CHOTDON_CACHE_DIR": "cache",
            "CHOTDON_KAFKA_CONTROLLER_PORT": "19093",
            "CHOTDON_KAFKA_HEAP": "1g",
            "CHOTDON_APP_ID": "shop1",
            "CHOTDON_COMMENT_PARTITIONS": "12",
            "CHOTDON_METRICS_PORT": "9999",
        }
    )
    assert settings.kafka_host_port == ("127.0.0.1", 19092)
    assert settings.redis_host_port == ("127.0.0.1", 16379)
    assert settings.stack_dir == Path("/tmp/stack")
    assert settings.cache_dir == Path("cache")
    assert settings.kafka_controller_port == 19093
    assert settings.kafka_heap == "1g"
    assert settings.app_id == "shop1"
    assert settings.comment_partitions == 12
    assert settings.metrics_port == 9999


def test_empty_values_mean_the_default() -> None:
    assert load_settings({"CHOTDON_KAFKA": "", "CHOTDON_COMMENT_PARTITIONS": ""}) == Settings()


@pytest.mark.parametrize(
    "variable", ["CHOTDON_KAFKA_CONTROLLER_PORT", "CHOTDON_COMMENT_PARTITIONS"]
)
def test_a_number_that_is_not_one_names_the_variable(variable: str) -> None:
    with pytest.raises(SettingsError, match=f"^{variable}='x1': expected a whole number$"):
        load_settings({variable: "x1"})


@pytest.mark.parametrize(
    ("variable", "value"),
    [("CHOTDON_KAFKA", "127.0.0.1:port"), ("CHOTDON_REDIS", "redis://127.0.0.1:port/0")],
)
def test_a_malformed_address_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{variable}="):
        load_settings({variable: value})


def test_topic_names_are_overridable_one_by_one() -> None:
    settings = load_settings(
        {"CHOTDON_TOPIC_COMMENTS": "shop1.comments", "CHOTDON_TOPIC_DEAD_LETTERS": "shop1.dlq"}
    )
    assert settings.topics == Topics(comments="shop1.comments", dead_letters="shop1.dlq")
    assert settings.topics.orders == "chotdon.orders"


@pytest.mark.parametrize(
    ("kafka", "expected"),
    [
        ("broker1:9093,broker2:9093", ("broker1", 9093)),
        ("kafka://10.0.0.5:29092", ("10.0.0.5", 29092)),
        (" 127.0.0.1:19092 , other:1", ("127.0.0.1", 19092)),
        ("localhost", ("localhost", 9092)),
    ],
)
def test_kafka_host_port_is_the_first_bootstrap_server(
    kafka: str, expected: tuple[str, int]
) -> None:
    assert Settings(kafka=kafka).kafka_host_port == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://redis.internal:6380/1", ("redis.internal", 6380)),
        ("redis://:secret@127.0.0.1:16379/0", ("127.0.0.1", 16379)),
        ("redis://localhost", ("localhost", 6379)),
    ],
)
def test_redis_host_port(url: str, expected: tuple[str, int]) -> None:
    assert Settings(redis=url).redis_host_port == expected


def test_the_process_environment_is_the_default_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHOTDON_STACK_DIR", ".stack/elsewhere")
    assert load_settings().stack_dir == Path(".stack/elsewhere")


def test_a_cluster_url_lists_its_nodes() -> None:
    from config.settings import cluster_nodes

    settings = load_settings({"CHOTDON_REDIS": "redis+cluster://10.0.0.1:7000,10.0.0.2:7001"})
    assert settings.redis_is_cluster
    assert settings.redis_host_port == ("10.0.0.1", 7000)
    assert cluster_nodes(settings.redis) == [("10.0.0.1", 7000), ("10.0.0.2", 7001)]
    assert not load_settings({}).redis_is_cluster


def test_a_malformed_cluster_url_is_refused() -> None:
    with pytest.raises(SettingsError, match="redis\\+cluster://host:port"):
        load_settings({"CHOTDON_REDIS": "redis+cluster://node-without-port"})
