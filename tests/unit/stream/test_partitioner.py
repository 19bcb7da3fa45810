"""The worker's partitioner picks the partitions Kafka's default partitioner picks."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner

from config.settings import Settings
from stream import app as app_module
from stream.app import KeptHashPartitioner, create_app


def test_every_key_goes_where_the_default_partitioner_sends_it() -> None:
    rng = random.Random(9)
    keys = [f"live-{n}".encode() for n in range(300)]
    keys += [bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40))) for _ in range(300)]
    kept, default = KeptHashPartitioner(), DefaultPartitioner()
    for count in (1, 2, 3, 4, 7, 12, 50):
        partitions = list(range(count))
        for key in keys + keys:  # the second time from what it kept
            assert kept(key, partitions, partitions) == default(key, partitions, partitions)


def test_unkeyed_messages_go_to_an_available_partition() -> None:
    kept = KeptHashPartitioner()
    assert {kept(None, [0, 1, 2, 3], [1, 3]) for _ in range(50)} <= {1, 3}


def test_what_it_keeps_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "KEYS_KEPT", 20)
    kept = KeptHashPartitioner()
    for n in range(200):
        kept(f"k{n}".encode(), [0, 1, 2, 3], [0, 1, 2, 3])
        assert len(kept._hashes) <= 20


def test_the_worker_produces_with_it() -> None:
    app = create_app(Settings())
    assert isinstance(app.conf.producer_partitioner, KeptHashPartitioner)
