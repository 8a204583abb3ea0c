"""The scheduled jobs: what each one queues for whom, and when it is due.

A job only decides who hears what and queues render parts under natural keys (the sender
renders them when they go out), so a run is one short transaction together with its slot
claim (notifications/scheduler.py). Keys carry the day, so running a job twice for the same
day — two instances, a restart, a make-up run, ``chaterp jobs run`` — never sends twice.

- ``daily-summary``: at each subscription's time (default 19:00), weekly on Mondays and
  monthly on the 1st where switched on; owners privately by default, and chats chosen with
  /subscribe.
- ``overdue-receivables`` (morning): each salesperson their overdue customers, with "Remind
  customer"; owners what is overdue more than ``ESCALATE_AFTER_DAYS`` and the customers
  without a salesperson.
- ``low-stock-digest`` (morning): the low-stock chats (else warehouse staff and owners).
- ``birthdays`` (morning): each salesperson their customers' birthdays; owners those without
  a salesperson.
- ``outbox-cleanup`` (night): deletes sent messages older than 30 days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.model import Role
from domain.ports import ReportSubscription, UnitOfWork
from domain.services.customers import birthdays_on
from domain.services.low_stock import low_stock
from domain.services.receivables import overdue_customers
from handlers.context import EngineSettings
from notifications import recipients
from notifications.parts import RenderPart, queue
from notifications.recipients import Recipient

RETENTION_DAYS = 30  # sent messages kept this long (then outbox-cleanup deletes them)


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    """When the jobs run (in the business time zone) and how far back a missed run is made up."""

    timezone: str = "Asia/Shanghai"
    daily_summary_at: time = time(19, 0)  # the default for owners who chose no time
    overdue_at: time = time(9, 0)
    low_stock_digest_at: time = time(8, 30)
    birthdays_at: time = time(9, 0)
    cleanup_at: time = time(3, 30)
    escalate_after_days: int = 14
    missed_run_grace_hours: float = 6.0


@dataclass(slots=True)
class JobContext:
    uow: UnitOfWork
    settings: EngineSettings
    schedule: ScheduleConfig
    queued: int = 0
    recipients: set[int] = field(default_factory=set)

    def send(self, key: str, people: Sequence[Recipient], what: str, **args: Any) -> None:
        for person in people:
            language = person.language or self.settings.default_language
            part = RenderPart(what, language, args)
            if queue(self.uow, f"{key}:{person.chat_id}", person.chat_id, [part]):
                self.queued += 1
                self.recipients.add(person.chat_id)


class Job:
    """A job: ``queue`` does one run for a slot (the time it is scheduled for)."""

    name: str = ""
    description: str = ""

    def runs_at(self, schedule: ScheduleConfig) -> time | None:
        """Its daily time (None: it runs at times read from the database)."""
        return None

    def slots(self, ctx: JobContext, start: datetime, end: datetime) -> list[datetime]:
        """Its scheduled times in ``[start, end]``."""
        at = self.runs_at(ctx.schedule)
        assert at is not None
        return daily_slots(at, start, end)

    def due(self, ctx: JobContext, slot: datetime) -> bool:
        """Anything to do at ``slot`` (checked before the slot is claimed)."""
        return True

    def queue(self, ctx: JobContext, slot: datetime, *, manual: bool = False) -> None:
        raise NotImplementedError

    def schedule_text(self, schedule: ScheduleConfig) -> str:
        at = self.runs_at(schedule)
        return f"daily at {at:%H:%M}" if at is not None else ""


def daily_slots(at: time, start: datetime, end: datetime) -> list[datetime]:
    """Every ``at`` o'clock (in ``start``'s zone) from ``start`` to ``end``."""
    zone = start.tzinfo
    found: list[datetime] = []
    day = start.date() - timedelta(days=1)
    while day <= end.date() + timedelta(days=1):
        slot = datetime.combine(day, at, zone)
        if start <= slot <= end:
            found.append(slot)
        day += timedelta(days=1)
    return found


# --- summaries ------------------------------------------------------------------------------


def report_chats(uow: UnitOfWork, default_at: time) -> list[ReportSubscription]:
    """Every chat that receives summaries: the subscriptions saved with /subscribe, and each
    owner who never chose (daily at the default time) — leaving out chats the bot cannot
    write to and private chats of people who are no longer owners."""
    saved = {sub.chat_id: sub for sub in uow.report_subscriptions.list()}
    owners = {r.chat_id: r for r in recipients.owners(uow)}
    for chat_id in owners:
        saved.setdefault(chat_id, ReportSubscription(chat_id, send_at=default_at))
    inactive = uow.chat_states.inactive()
    chats = []
    for chat_id, sub in sorted(saved.items()):
        if chat_id > 0 and chat_id not in owners:
            continue
        if chat_id < 0 and chat_id in inactive:
            continue
        if sub.daily or sub.weekly or sub.monthly:
            chats.append(sub)
    return chats


def report_kinds(sub: ReportSubscription, day: date) -> list[tuple[str, str, str]]:
    """(key prefix, period, key suffix) of the reports ``sub`` gets on ``day``."""
    kinds = []
    if sub.daily:
        kinds.append(("daily-summary", "today", day.isoformat()))
    if sub.weekly and day.weekday() == 0:
        last_monday = day - timedelta(days=7)
        kinds.append(("weekly-summary", "last_week", last_monday.isoformat()))
    if sub.monthly and day.day == 1:
        last_month = (day - timedelta(days=1)).strftime("%Y-%m")
        kinds.append(("monthly-summary", "last_month", last_month))
    return kinds


def _language(uow: UnitOfWork, chat_id: int) -> str | None:
    if chat_id < 0:
        return None
    user = uow.users.by_telegram_id(chat_id)
    return user.language if user else None


class SummaryJob(Job):
    name = "daily-summary"
    description = (
        "The summary with charts, at each chat's chosen time (weekly on Mondays, monthly on "
        "the 1st, where switched on)"
    )

    def schedule_text(self, schedule: ScheduleConfig) -> str:
        return f"each subscription's time (default {schedule.daily_summary_at:%H:%M})"

    def _due_chats(self, ctx: JobContext, slot: datetime) -> list[ReportSubscription]:
        chats = report_chats(ctx.uow, ctx.schedule.daily_summary_at)
        return [s for s in chats if (s.send_at.hour, s.send_at.minute) == (slot.hour, slot.minute)]

    def slots(self, ctx: JobContext, start: datetime, end: datetime) -> list[datetime]:
        times = {s.send_at for s in report_chats(ctx.uow, ctx.schedule.daily_summary_at)}
        return sorted(slot for at in times for slot in daily_slots(at, start, end))

    def due(self, ctx: JobContext, slot: datetime) -> bool:
        return bool(self._due_chats(ctx, slot))

    def queue(self, ctx: JobContext, slot: datetime, *, manual: bool = False) -> None:
        """The slot's chats (every subscribed chat when run by hand)."""
        chats = (
            report_chats(ctx.uow, ctx.schedule.daily_summary_at)
            if manual
            else (self._due_chats(ctx, slot))
        )
        for sub in chats:
            person = Recipient(sub.chat_id, _language(ctx.uow, sub.chat_id))
            for prefix, period, suffix in report_kinds(sub, slot.date()):
                ctx.send(
                    f"{prefix}:{suffix}", [person], "summary", period=period, at=slot.isoformat()
                )


# --- receivables, stock, birthdays ----------------------------------------------------------


class OverdueJob(Job):
    name = "overdue-receivables"
    description = (
        "Each salesperson's overdue customers with a Remind button; owners get what is overdue "
        "too long and customers without a salesperson"
    )

    def runs_at(self, schedule: ScheduleConfig) -> time:
        return schedule.overdue_at

    def queue(self, ctx: JobContext, slot: datetime, *, manual: bool = False) -> None:
        uow, day = ctx.uow, slot.date()
        late = overdue_customers(uow, day)
        if not late:
            return
        key = f"overdue:{day.isoformat()}"
        reps = {o.customer.sales_rep_id for o in late if o.customer.sales_rep_id is not None}
        for rep_id in sorted(reps):
            user = uow.users.get(rep_id)
            person = recipients.of_user(user)
            if user is None or person is None or user.role is Role.CUSTOMER:
                continue
            ctx.send(key, [person], "overdue-list", user=rep_id, day=day.isoformat())
        owners = recipients.owners(uow)
        if any(o.customer.sales_rep_id is None for o in late):
            ctx.send(
                f"{key}:unassigned", owners, "overdue-list", unassigned=True, day=day.isoformat()
            )
        days = ctx.schedule.escalate_after_days
        if any(o.older_than(days, day) for o in late):
            key = f"overdue-escalation:{day.isoformat()}"
            args = {"days": days, "day": day.isoformat()}
            ctx.send(key, owners, "overdue-escalation", **args)


class LowStockDigestJob(Job):
    name = "low-stock-digest"
    description = "Everything at or under its reorder point, with suggested quantities"

    def runs_at(self, schedule: ScheduleConfig) -> time:
        return schedule.low_stock_digest_at

    def queue(self, ctx: JobContext, slot: datetime, *, manual: bool = False) -> None:
        if not low_stock(ctx.uow):
            return
        day = slot.date().isoformat()
        ctx.send(f"low-stock-digest:{day}", recipients.low_stock(ctx.uow), "low-stock-digest")


class BirthdaysJob(Job):
    name = "birthdays"
    description = "Each salesperson hears whose birthday it is among their customers"

    def runs_at(self, schedule: ScheduleConfig) -> time:
        return schedule.birthdays_at

    def queue(self, ctx: JobContext, slot: datetime, *, manual: bool = False) -> None:
        uow, day = ctx.uow, slot.date()
        born = birthdays_on(uow, day)
        key = f"birthdays:{day.isoformat()}"
        for rep_id in sorted({c.sales_rep_id for c in born if c.sales_rep_id is not None}):
            user = uow.users.get(rep_id)
            person = recipients.of_user(user)
            if user is None or person is None or user.role is Role.CUSTOMER:
                continue
            ctx.send(key, [person], "birthdays", user=rep_id, day=day.isoformat())
        if any(c.sales_rep_id is None for c in born):
            owners = recipients.owners(uow)
            ctx.send(f"{key}:unassigned", owners, "birthdays", unassigned=True, day=day.isoformat())


class CleanupJob(Job):
    name = "outbox-cleanup"
    description = f"Deletes sent messages older than {RETENTION_DAYS} days"

    def runs_at(self, schedule: ScheduleConfig) -> time:
        return schedule.cleanup_at

    def queue(self, ctx: JobContext, slot: datetime, *, manual: bool = False) -> None:
        ctx.uow.outbox.purge(slot - timedelta(days=RETENTION_DAYS))


JOBS: tuple[Job, ...] = (
    SummaryJob(),
    OverdueJob(),
    LowStockDigestJob(),
    BirthdaysJob(),
    CleanupJob(),
)


def job_named(name: str) -> Job:
    for job in JOBS:
        if job.name == name.strip().replace("_", "-"):
            return job
    raise KeyError(name)


def zone_of(schedule: ScheduleConfig) -> ZoneInfo:
    return ZoneInfo(schedule.timezone)
