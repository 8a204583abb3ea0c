"""Scheduled jobs the page can run now (daily summary, overdue reminders, low-stock digest).

The sandbox needs only this narrow view of the scheduler: which jobs exist and how to run one
at once. Whatever the job sends goes through the bot to the emulator, so it shows up in the
chats like any message. With no jobs the page hides its panel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from notifications.scheduler import JobScheduler


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


SANDBOX_JOBS: tuple[JobInfo, ...] = (
    JobInfo("daily-summary", "Daily summary", "Today's numbers and charts to the owner"),
    JobInfo(
        "overdue-receivables",
        "Overdue reminders",
        "Each salesperson's overdue customers, with Remind buttons",
    ),
    JobInfo("low-stock-digest", "Low-stock digest", "What is at or under its reorder point"),
    JobInfo("birthdays", "Birthdays", "Customers' birthdays to their salesperson"),
)


class SchedulerJobs:
    """The real jobs, run now over the sandbox's database; the bot's sender delivers them."""

    def __init__(self, scheduler: JobScheduler, wake: Callable[[], None]) -> None:
        self._scheduler = scheduler
        self._wake = wake

    def jobs(self) -> Sequence[JobInfo]:
        return SANDBOX_JOBS

    async def run(self, name: str) -> str:
        if name not in {job.name for job in SANDBOX_JOBS}:
            raise KeyError(name)
        result = await asyncio.to_thread(self._scheduler.run_now, name)
        self._wake()
        if result.queued == 0:
            return "Nothing new to send (already sent today, or nothing to report)."
        if result.queued == 1:
            return "1 message sent."
        return f"{result.queued} messages sent."
