"""Progress of an import for a bar in a terminal or a chat: ``progress(done, total)``."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None]
"""``progress(done, total)``: work units done so far and in all (see ``Tracker``)."""

PROGRESS_EVERY = 1000  # work units between progress calls


class Tracker:
    """Progress over two passes: every row counts once when checked, once when written.

    ``total`` is twice the number of rows, so the bar is half full when checking ends (a
    file with bad rows stops there). Calls are throttled to every ``PROGRESS_EVERY`` units
    and never go backwards, even when the unit of work is retried from the start.
    """

    def __init__(self, callback: Progress | None, rows: int) -> None:
        self.callback = callback
        self.rows = rows
        self.total = 2 * rows
        self.reported = -1

    def checked(self, count: int) -> None:
        self._report(count)

    def written(self, count: int) -> None:
        self._report(self.rows + count)

    def _report(self, done: int, *, force: bool = False) -> None:
        if self.callback is None or done <= self.reported:
            return
        if force or done - max(self.reported, 0) >= PROGRESS_EVERY or done == self.total:
            self.reported = done
            self.callback(done, self.total)

    def start(self) -> None:
        if self.callback is not None:
            self.reported = 0
            self.callback(0, self.total)

    def finish(self) -> None:
        self._report(self.total, force=True)
