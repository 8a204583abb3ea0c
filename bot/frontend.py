"""What every front end does the same way, whatever the framework underneath.

A front end (bot/ptb, bot/aiogram) only receives updates and wraps its Bot in a gateway; the
rest is here, once:

- :func:`start_engine`: the engine for the bot's username, warmed up, running in a child
  process of its own (``chaterp run``) or in worker threads (tests), with reply delivery
  through the gateway, the start-up command menus set, and the notifications (outbox sender
  and scheduler) started beside it; :func:`stop_engine` stops all of it;
- :func:`handle_event`: one translated update (bot/updates.py) through the engine and its
  replies out through delivery;
- :class:`Stopper`: running until SIGINT/SIGTERM or a fatal error (a second poller), then
  stopping cleanly; the error's message is what ``chaterp run`` prints;
- the start-up messages people read when the bot cannot start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bot.engine_process import (
    EngineCalls,
    EngineProcess,
    EngineSpec,
    EngineUnavailable,
    ThreadedEngine,
)
from bot.logging_setup import redact
from bot.runner import (
    BotConfig,
    StartupError,
    freeze_heap,
    install_menus,
    settle_heap,
    warm_up,
)
from bot.updates import ChatMoved, Event, MemberChange
from domain.ports import UnitOfWorkFactory
from handlers.context import EngineSettings
from handlers.engine import ConversationEngine
from handlers.incoming import Incoming
from handlers.registry import build_engine
from notifications.delivery import BotGateway, ReplyDelivery
from notifications.sender import ReaderFactory
from notifications.service import NotificationService

logger = logging.getLogger(__name__)

BOOTSTRAP_RETRIES = 5  # deleteWebhook before polling, on a flaky network at start
TOKEN_REFUSED = "Telegram refused the bot token: check TELEGRAM_BOT_TOKEN (from @BotFather)."
POLLING_CONFLICT = (
    "Another process is polling with this bot token; stopping. Run one poller, "
    "or use a webhook (WEBHOOK_URL) to run several instances."
)


def unreachable(config: BotConfig, reason: str) -> StartupError:
    return StartupError(f"Cannot reach the Bot API at {config.api_base_url}: {redact(reason)}")


def webhook_refused(url: str, reason: str) -> StartupError:
    return StartupError(f"Telegram refused the webhook {url}: {redact(reason)}")


@dataclass(frozen=True, slots=True)
class Started:
    """A connected bot's engine: where it runs (``calls``), how replies go out, and what the
    bot sends on its own."""

    engine: ConversationEngine
    calls: EngineCalls
    delivery: ReplyDelivery
    notifications: NotificationService


async def start_engine(
    config: BotConfig,
    uow_factory: UnitOfWorkFactory,
    gateway: BotGateway,
    bot_username: str,
    engine_process: EngineSpec | None = None,
    reader_factory: ReaderFactory | None = None,
) -> Started:
    """The engine and reply delivery for a connected bot, warmed up, menus set, and its
    notifications started.

    With ``engine_process`` the engine runs in a child process on that database (what
    ``chaterp run`` does), else in worker threads of this process on ``uow_factory`` (tests
    that share a fake clock or an in-memory database with the bot). ``reader_factory``: read
    units of work for the sender and the reports (``uow_factory`` when None).
    """
    settings = EngineSettings(
        bot_username=bot_username,
        default_language=config.default_language,
        timezone=config.timezone,
        currency=config.currency,
        draft_ttl_hours=config.draft_ttl_hours,
        daily_summary_at=config.daily_summary_at,
    )
    engine = build_engine(uow_factory, settings)
    notifications = NotificationService(
        uow_factory, settings, config.notifications, reader_factory=reader_factory
    )
    calls: EngineCalls
    if engine_process is None:
        await asyncio.to_thread(warm_up, engine, uow_factory)
        calls = ThreadedEngine(engine)
    else:
        # Its commits that queue outbox messages ring the sender here.
        process = EngineProcess(
            replace(engine_process, settings=settings), on_outbox=notifications.wake
        )
        try:
            await process.start()
        except EngineUnavailable as error:
            raise StartupError(f"The conversation engine did not start: {error}") from None
        freeze_heap()
        settle_heap()
        calls = process
    delivery = ReplyDelivery(
        gateway,
        engine,
        answer_within=config.answer_within,
        run_sync=calls.run_hook,
        pace=notifications.budget.note,  # replies count in the sender's flood buckets
    )
    await install_menus(delivery, engine)
    await notifications.start(gateway)
    return Started(engine, calls, delivery, notifications)


async def handle_event(started: Started, event: Event) -> None:
    """Run one update's event through the engine and deliver what it answers."""
    calls = started.calls
    if isinstance(event, Incoming):
        replies = await calls.handle(event)
        await started.delivery.deliver(event, replies)
    elif isinstance(event, MemberChange):
        logger.info(
            "user %s %s the bot", event.user_id, "blocked" if event.blocked else "unblocked"
        )
        await calls.call("mark_blocked", event.user_id, event.blocked)
    elif isinstance(event, ChatMoved):
        logger.info("group %s is now supergroup %s", event.old_chat_id, event.new_chat_id)
        await calls.call("move_chat", event.old_chat_id, event.new_chat_id)


async def stop_engine(started: Started | None) -> None:
    """Stop the notifications, wait for early press answers in flight, then end the engine
    (its process, if any)."""
    if started is None:
        return
    await started.notifications.stop()
    await started.delivery.close()
    await started.calls.stop()


class Stopper:
    """Runs a front end until SIGINT/SIGTERM or :meth:`fail`, then stops it."""

    def __init__(self) -> None:
        self.fatal: str | None = None
        self._requested: asyncio.Event | None = None

    def fail(self, message: str) -> None:
        """A fatal error while running: log it, stop, and make ``serve`` raise it."""
        if self.fatal is None:
            self.fatal = message
            logger.critical(message)
        if self._requested is not None:
            self._requested.set()

    async def serve(
        self, start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]]
    ) -> None:
        """``start()``, wait for a signal or a failure, ``stop()``; raise the failure."""
        self._requested = asyncio.Event()
        if self.fatal is not None:
            self._requested.set()
        loop = asyncio.get_running_loop()
        handled: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._requested.set)
                handled.append(sig)
        try:
            await start()
            await self._requested.wait()
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            await stop()
        if self.fatal:
            raise StartupError(self.fatal)
