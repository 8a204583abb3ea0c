"""The heap settles after start: what survives a full collection early on is frozen, so later
full passes (which stop the event loop) walk less; after the settling time, nothing more."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.runner import settle_heap


class Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def alone() -> Iterator[None]:
    """Only this test's callback (a bot started earlier in the session may have its own),
    and the rest of the session left as it was."""
    others = list(gc.callbacks)
    gc.callbacks.clear()
    yield
    gc.callbacks[:] = others
    gc.unfreeze()


def test_survivors_of_a_full_collection_are_frozen_while_settling() -> None:
    now = [0.0]
    stop = settle_heap(60.0, clock=lambda: now[0])
    try:
        kept = Cycle()
        Cycle()  # garbage: collected, not frozen
        frozen_before = gc.get_freeze_count()
        gc.collect()
        assert gc.get_freeze_count() > frozen_before
        assert not any(obj is kept for obj in gc.get_objects())  # no longer walked
    finally:
        stop()


def test_after_the_settling_time_full_collections_freeze_nothing() -> None:
    now = [0.0]
    settle_heap(60.0, clock=lambda: now[0])
    now[0] = 61.0
    gc.collect()  # the first full pass after the deadline removes the callback
    frozen = gc.get_freeze_count()
    kept = Cycle()
    gc.collect()
    assert gc.get_freeze_count() == frozen
    assert any(obj is kept for obj in gc.get_objects())
    assert gc.callbacks == []
