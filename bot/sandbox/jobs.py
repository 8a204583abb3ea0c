"""Scheduled jobs the page can run now (daily summary, overdue reminders, low-stock digest).

The sandbox needs only this narrow view of the scheduler: which jobs exist and how to run one
at once. Whatever the job sends goes through the bot to the emulator, so it shows up in the
chats like any message. With no jobs the page hides its panel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class JobInfo:
    name: str  # what ``run`` takes, e.g. "daily_summary"
    label: str  # what the button says, e.g. "Daily summary"
    description: str = ""  # one line under the button: what it sends to whom


class JobRunner(Protocol):
    def jobs(self) -> Sequence[JobInfo]:
        """The jobs that can be run now, in the order the page lists them."""
        ...

    async def run(self, name: str) -> str:
        """Run ``name`` once, now; returns a short summary for the page ("3 reminders sent").

        Raises KeyError for an unknown name.
        """
        ...


class NoJobs:
    """Before the scheduler exists (or with it switched off): nothing to run."""

    def jobs(self) -> Sequence[JobInfo]:
        return ()

    async def run(self, name: str) -> str:
        raise KeyError(name)
