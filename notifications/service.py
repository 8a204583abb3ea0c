"""What a front end starts beside itself: the outbox sender and the scheduler, framework-neutral.

A front end (python-telegram-bot, aiogram) builds one :class:`NotificationService` with the
unit-of-work factories and its settings, calls ``start(gateway)`` with its BotGateway once it
is connected, gives ``budget.note`` to its ReplyDelivery as ``pace`` (replies count in the same
flood buckets), and calls ``stop()`` when it stops.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from domain.ports import UnitOfWorkFactory
from handlers.context import EngineSettings
from notifications.delivery import BotGateway
from notifications.jobs import ScheduleConfig
from notifications.limits import FloodBudget, SendLimits
from notifications.scheduler import JobScheduler
from notifications.sender import OutboxSender, ReaderFactory, SenderConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NotificationsConfig:
    """How the bot sends on its own (limits, sender) and whether the scheduler runs."""

    limits: SendLimits = field(default_factory=SendLimits)
    sender: SenderConfig = field(default_factory=SenderConfig)
    schedule: ScheduleConfig | None = None  # None: no scheduled jobs in this process
    send: bool = True  # run the outbox sender in this process


class NotificationService:
    """The outbox sender (and the scheduler) of one bot process."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        settings: EngineSettings,
        config: NotificationsConfig | None = None,
        *,
        reader_factory: ReaderFactory | None = None,
    ) -> None:
        self.config = config or NotificationsConfig()
        self.settings = settings
        self.budget = FloodBudget(self.config.limits)
        self._uow_factory = uow_factory
        self._reader_factory = reader_factory
        self.sender: OutboxSender | None = None
        self.scheduler: JobScheduler | None = None

    async def start(self, gateway: BotGateway) -> None:
        if self.config.send:
            self.sender = OutboxSender(
                self._uow_factory,
                gateway,
                settings=self.settings,
                budget=self.budget,
                config=self.config.sender,
                reader_factory=self._reader_factory,
            )
            await self.sender.start()
        if self.config.schedule is not None:
            self.scheduler = JobScheduler(
                self._uow_factory, self.settings, self.config.schedule, on_queued=self.wake
            )
            await self.scheduler.start()

    async def stop(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self.sender is not None:
            await self.sender.stop()

    def wake(self) -> None:
        if self.sender is not None:
            self.sender.wake()

    async def idle(self, timeout: float = 15.0) -> None:
        """Wait until everything due has been sent (tests)."""
        if self.sender is not None:
            await self.sender.idle(timeout)
