"""Requests for messages the bot composes and sends on its own (through the outbox)."""

from __future__ import annotations

from domain.events import ReportRequested
from domain.model import Actor, Role
from domain.ports import UnitOfWork
from domain.services.common import require_role

REPORT_PERIODS = ("today", "week", "month")


def request_report(
    uow: UnitOfWork, *, actor: Actor, chat_id: int, period: str, language: str, request: str
) -> None:
    """The summary of ``period`` with its charts, to ``chat_id``, in ``language`` (owners)."""
    require_role(actor, (Role.OWNER,), "request_report")
    if period not in REPORT_PERIODS:
        raise ValueError(f"unknown report period {period!r}")
    uow.events.append(ReportRequested(chat_id, period, language, request))
