"""Running the jobs on time: APScheduler 3.x for the clock, the database for "once".

APScheduler's ``AsyncIOScheduler`` (in ``TIMEZONE``, an in-memory job store with an explicit
id per job and ``replace_existing``) fires each job at its time; it knows nothing about other
processes. What makes a run happen once is the database: a run claims its slot (job +
scheduled time) with a unique row *in the same transaction* that queues its messages, so two
instances, or a restart at the same minute, run a slot once — and a claim without its
messages, or messages without their claim, cannot happen.

On start, a run missed while the bot was down is made up: for each job, the latest slot within
``MISSED_RUN_GRACE_HOURS`` that nobody claimed runs once (older ones are let go: yesterday's
reminders are not worth sending tomorrow; ``chaterp jobs run`` can still send one).

The summaries tick every minute: a minute is claimed only when some chat's summary is due.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.transaction import run_in_transaction
from handlers.context import EngineSettings
from notifications.jobs import JOBS, Job, JobContext, ScheduleConfig, job_named, zone_of
from notifications.sender import instance_name

logger = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 120  # APScheduler may still fire a run this late (a busy loop)


@dataclass(frozen=True, slots=True)
class RunResult:
    job: str
    slot: datetime
    claimed: bool  # False: another instance (or an earlier run) had the slot, or nothing was due
    queued: int  # messages queued (not counting keys that were queued before)


class JobScheduler:
    """The jobs of one process; ``run_slot`` and ``run_now`` also work without ``start``."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        settings: EngineSettings,
        schedule: ScheduleConfig,
        *,
        jobs: Sequence[Job] = JOBS,
        on_queued: Callable[[], None] | None = None,
        name: str | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self.settings = settings
        self.schedule = schedule
        self.jobs = tuple(jobs)
        self._on_queued = on_queued
        self.name = name or instance_name()
        self._scheduler: AsyncIOScheduler | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        zone = zone_of(self.schedule)
        scheduler = AsyncIOScheduler(
            timezone=zone,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            },
        )
        for job in self.jobs:
            at = job.runs_at(self.schedule)
            trigger = (
                CronTrigger(second=0, timezone=zone)  # every minute: chats' own times
                if at is None
                else CronTrigger(hour=at.hour, minute=at.minute, timezone=zone)
            )
            scheduler.add_job(
                self._fire, trigger, args=[job.name], id=job.name, replace_existing=True
            )
        scheduler.start()
        self._scheduler = scheduler
        logger.info("scheduler started: %s", ", ".join(job.name for job in self.jobs))
        await self.make_up()

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    async def _fire(self, name: str) -> None:
        """APScheduler's call: run the slot that is now (to the minute)."""
        job = job_named(name)
        try:
            now = await asyncio.to_thread(self.now)
            slot = now.replace(second=0, microsecond=0)
            await asyncio.to_thread(self.run_slot, job, slot)
        except Exception:
            logger.exception("scheduled job %s failed", name)

    # --- runs ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The business clock's now, in the business time zone."""
        with self._uow_factory() as uow:
            return uow.clock.now().astimezone(zone_of(self.schedule))

    def _context(self, uow: UnitOfWork) -> JobContext:
        return JobContext(uow, self.settings, self.schedule)

    def run_slot(self, job: Job, slot: datetime) -> RunResult:
        """Claim ``slot`` and queue its messages, in one transaction (nothing when another
        instance has it, or nothing is due then)."""

        def work(uow: UnitOfWork) -> RunResult:
            ctx = self._context(uow)
            if not job.due(ctx, slot):
                return RunResult(job.name, slot, False, 0)
            if not uow.job_runs.try_claim(job.name, slot, self.name, uow.clock.now()):
                return RunResult(job.name, slot, False, 0)
            job.queue(ctx, slot)
            return RunResult(job.name, slot, True, ctx.queued)

        result = run_in_transaction(self._uow_factory, work)
        if result.claimed:
            logger.info("%s for %s: %d messages queued", job.name, slot, result.queued)
        if result.queued and self._on_queued is not None:
            self._on_queued()
        return result

    def run_now(self, name: str, at: datetime | None = None) -> RunResult:
        """Run a job by hand, as if at ``at`` (default now), whatever its schedule and without
        claiming a slot: what was already queued for that day (same keys) is not sent again."""
        job = job_named(name)

        def work(uow: UnitOfWork) -> RunResult:
            slot = (at or uow.clock.now()).astimezone(zone_of(self.schedule))
            ctx = self._context(uow)
            job.queue(ctx, slot, manual=True)
            return RunResult(job.name, slot, True, ctx.queued)

        result = run_in_transaction(self._uow_factory, work)
        if result.queued and self._on_queued is not None:
            self._on_queued()
        return result

    async def make_up(self) -> list[RunResult]:
        """Run, once, the latest slot of each job missed within the grace period."""
        return await asyncio.to_thread(self.missed_runs)

    def missed_runs(self) -> list[RunResult]:
        now = self.now()
        since = now - timedelta(hours=self.schedule.missed_run_grace_hours)
        results = []
        for job in self.jobs:
            for slot in self._latest_missed(job, since, now):
                logger.info("making up %s of %s (missed while the bot was down)", job.name, slot)
                results.append(self.run_slot(job, slot))
        return results

    def _latest_missed(self, job: Job, since: datetime, now: datetime) -> list[datetime]:
        def work(uow: UnitOfWork) -> list[datetime]:
            ctx = self._context(uow)
            slots = [s for s in job.slots(ctx, since, now) if s < now.replace(second=0)]
            latest: dict[tuple[int, int], datetime] = {}
            for slot in slots:  # per time of day: the summaries have one per chosen time
                latest[(slot.hour, slot.minute)] = max(
                    slot, latest.get((slot.hour, slot.minute), slot)
                )
            return sorted(
                slot for slot in latest.values() if not uow.job_runs.claimed(job.name, slot)
            )

        return run_in_transaction(self._uow_factory, work)

    def describe(self) -> list[tuple[str, str, str, datetime | None]]:
        """(name, schedule, description, last slot run) of every job."""

        def work(uow: UnitOfWork) -> list[tuple[str, str, str, datetime | None]]:
            return [
                (
                    job.name,
                    job.schedule_text(self.schedule),
                    job.description,
                    uow.job_runs.last_slot(job.name),
                )
                for job in self.jobs
            ]

        return run_in_transaction(self._uow_factory, work)
