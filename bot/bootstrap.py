"""Composition root: the one place that picks concrete classes (database, clock, policy)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings
from domain.clock import SystemClock
from handlers.context import EngineSettings
from notifications.publisher import OutboxPublisher
from storage.database import Database
from storage.migrate import upgrade


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    database: Database


def build_services(settings: Settings, *, migrate: bool = True) -> Services:
    """Open the database (bringing its schema up to date) with the system clock and policy.

    Its units of work turn domain events into outbox messages (notifications.publisher), in
    every process that writes: the bot, the command line, the scheduler.
    """
    database = Database(
        settings.database_url,
        clock=SystemClock(settings.timezone),
        policy=settings.policy(),
        publisher=OutboxPublisher(message_settings(settings)),
    )
    if migrate:
        upgrade(database.engine)
    return Services(settings=settings, database=database)


def message_settings(settings: Settings) -> EngineSettings:
    """What rendering messages outside an update needs from the settings."""
    return EngineSettings(
        default_language=settings.default_language,
        timezone=settings.timezone,
        currency=settings.currency,
        draft_ttl_hours=settings.draft_ttl_hours,
        daily_summary_at=settings.daily_summary_at,
    )
