"""The store backoff: what it waits out, and a caller that retries on its own (retries=0)."""

from __future__ import annotations

import pytest
import redis.exceptions

from orders.store import StoreBusy
from stream.pipeline import Backoff, store_unavailable


async def test_a_backoff_without_retries_raises_redis_being_away_at_once() -> None:
    calls = 0

    async def away() -> None:
        nonlocal calls
        calls += 1
        raise redis.exceptions.ConnectionError("refused")

    with pytest.raises(redis.exceptions.ConnectionError):
        await Backoff(first=0.001, retries=0).call("reading", away)
    assert calls == 1


async def test_a_backoff_waits_out_redis_being_away_until_it_answers() -> None:
    calls = 0

    async def back_on_the_third() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise redis.exceptions.ConnectionError("refused")
        return "ok"

    assert await Backoff(first=0.001).call("reading", back_on_the_third) == "ok"
    assert calls == 3


@pytest.mark.parametrize(
    "error",
    [
        redis.exceptions.ClusterDownError("The cluster is down"),
        redis.exceptions.TryAgainError("Multiple keys request during rehashing of slot"),
        redis.exceptions.SlotNotCoveredError("Slot 5 is not covered by the cluster"),
        redis.exceptions.ReadOnlyError("You can't write against a read only replica."),
        StoreBusy("MISCONF Errors writing to the AOF file"),
    ],
)
def test_a_cluster_mid_failover_is_waited_out(error: Exception) -> None:
    assert store_unavailable(error)


def test_a_script_error_is_not_waited_out() -> None:
    assert not store_unavailable(redis.exceptions.ResponseError("ERR user_script:1: boom"))
