"""The worker's start-up heap, out of the cyclic collector's full passes once it is up."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from stream.app import freeze_startup_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test session's own objects go back to being collected


def test_start_up_objects_leave_the_collectors_passes(unfrozen: None) -> None:
    kept = [[n] for n in range(1000)]  # containers the collector tracks
    freeze_startup_heap()
    assert gc.get_freeze_count() >= len(kept)
    tracked = {id(o) for o in gc.get_objects(generation=2)}
    assert not any(id(o) in tracked for o in kept)


def test_garbage_of_start_up_is_collected_before_the_freeze(unfrozen: None) -> None:
    class Cycle:
        other: Cycle

    def make_garbage() -> weakref.ref[Cycle]:
        a, b = Cycle(), Cycle()
        a.other, b.other = b, a
        return weakref.ref(a)

    gc.disable()  # no pass of its own in between: only the freeze's collect can free it
    try:
        garbage = make_garbage()
        assert garbage() is not None
        freeze_startup_heap()
    finally:
        gc.enable()
    assert garbage() is None  # collected, not frozen for good
