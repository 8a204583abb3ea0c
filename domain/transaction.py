"""Running a unit of work with bounded retries on transient database conflicts."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from domain.errors import TransientConflict
from domain.ports import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger(__name__)

T = TypeVar("T")
MAX_ATTEMPTS = 6


def run_in_transaction(
    uow_factory: UnitOfWorkFactory,
    work: Callable[[UnitOfWork], T],
    *,
    attempts: int = MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
    isolate_use_cases: bool = False,
) -> T:
    """Run ``work`` in a new unit of work and commit; retry the whole unit on conflicts.

    Serialization failures, deadlocks, "database is locked" and lost unique-key races
    surface as TransientConflict; each retry starts from a fresh transaction, so a retried
    unit never half-applies. Domain errors are not retried.

    ``isolate_use_cases``: ``work`` catches domain refusals and carries on (the chat engine
    saves the conversation after a refusal), so each use case runs in its own savepoint.
    Otherwise any exception aborts the whole unit and savepoints would only cost round trips.
    """
    for attempt in range(1, attempts + 1):
        try:
            with uow_factory() as uow:
                uow.isolate_use_cases = isolate_use_cases
                result = work(uow)
                uow.commit()
                return result
        except TransientConflict:
            if attempt == attempts:
                raise
            delay = min(0.2, 0.002 * 2**attempt) * (0.5 + random.random())
            logger.info("transient conflict, retry %d/%d in %.3fs", attempt, attempts, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
