"""Composition root: the one place that picks concrete classes (database, clock, policy)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings
from domain.clock import SystemClock
from storage.database import Database
from storage.migrate import upgrade


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    database: Database


def build_services(settings: Settings, *, migrate: bool = True) -> Services:
    """Open the database (bringing its schema up to date) with the system clock and policy."""
    database = Database(
        settings.database_url, clock=SystemClock(settings.timezone), policy=settings.policy()
    )
    if migrate:
        upgrade(database.engine)
    return Services(settings=settings, database=database)
