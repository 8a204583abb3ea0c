"""Running the bot: what ``chaterp run`` calls when a token is set.

Picks the chat framework (``CHATERP_FRAMEWORK``: python-telegram-bot or aiogram, each a
:class:`FrontEnd` over the same engine and notifications.delivery), and holds what every front
end is configured with: its configuration and the command menus set at start-up (the rest of
what they share is in bot/frontend.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time
from time import monotonic
from typing import Protocol

from sqlalchemy.engine import make_url

from bot.engine_process import ENGINE_THREADS, EngineSpec
from bot.lanes import MAX_CONCURRENT_UPDATES, ChatLanes
from bot.settings import Settings
from domain.ports import LedgerPolicy, UnitOfWorkFactory
from domain.transaction import run_in_transaction
from handlers.context import EngineSettings
from handlers.engine import ConversationEngine
from handlers.i18n import LANGUAGES, Translator
from notifications.delivery import ANSWER_WITHIN, MenuScope, ReplyDelivery
from notifications.jobs import ScheduleConfig
from notifications.sender import ReaderFactory
from notifications.service import NotificationsConfig, NotificationService

logger = logging.getLogger(__name__)

FRAMEWORKS = ("ptb", "aiogram")
DRAFT_TTL_HOURS = 24
# What the bot asks Telegram for: edited messages, channel posts, inline queries… are not used.
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")


class StartupError(RuntimeError):
    """The bot cannot start (bad token, unreachable API…); the message is safe to print."""


@dataclass(frozen=True, slots=True)
class BotConfig:
    """Everything a front end needs from the settings (the token is kept out of repr)."""

    token: str = field(repr=False)
    api_base_url: str = "https://api.telegram.org"
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    default_language: str = "en"
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    draft_ttl_hours: int = DRAFT_TTL_HOURS
    poll_timeout: float = 10.0  # seconds a getUpdates long poll waits
    max_concurrent_updates: int = MAX_CONCURRENT_UPDATES
    answer_within: float = ANSWER_WITHIN  # seconds before a slow button press is answered empty
    notifications: NotificationsConfig = field(default_factory=NotificationsConfig)
    daily_summary_at: time = time(19, 0)  # an owner's summary time until they choose one

    @classmethod
    def from_settings(cls, settings: Settings) -> BotConfig:
        if settings.telegram_bot_token is None:
            raise StartupError("TELEGRAM_BOT_TOKEN is not set")
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        return cls(
            token=settings.telegram_bot_token.get_secret_value(),
            api_base_url=settings.telegram_api_base_url.rstrip("/"),
            webhook_url=settings.webhook_url or None,
            webhook_secret=secret,
            webhook_listen=settings.webhook_listen,
            webhook_port=settings.webhook_port,
            default_language=settings.default_language,
            timezone=settings.timezone,
            currency=settings.currency,
            # DRAFT_TTL_HOURS is not a Settings field yet; picked up once it is.
            draft_ttl_hours=settings.draft_ttl_hours,
            notifications=notifications_config(settings),
            daily_summary_at=settings.daily_summary_at,
        )


class FrontEnd(Protocol):
    """A chat framework wired to the engine: start/stop for tests, serve() for production."""

    engine: ConversationEngine | None
    delivery: ReplyDelivery | None
    lanes: ChatLanes  # the updates waiting and running, per chat
    notifications: NotificationService | None

    async def start(self) -> None:
        """Connect (getMe), build the engine, set menus, start polling or the webhook."""
        ...

    async def stop(self) -> None:
        """Stop receiving, finish the updates in hand, close connections."""
        ...

    async def serve(self) -> None:
        """start(), run until SIGINT/SIGTERM (or a fatal error), then stop()."""
        ...


def build_front_end(
    framework: str,
    config: BotConfig,
    uow_factory: UnitOfWorkFactory,
    *,
    on_handled: Callable[[int], None] | None = None,
    engine_process: EngineSpec | None = None,
    reader_factory: ReaderFactory | None = None,
) -> FrontEnd:
    """The front end for ``framework``; ``on_handled(update_id)`` runs after every update.

    With ``engine_process`` the conversation engine runs in a child process on that database
    (what ``chaterp run`` does); without, in worker threads on ``uow_factory`` (tests).
    ``reader_factory`` gives read-only units of work (rendering outbox messages and reports
    without taking SQLite's write lock); the unit-of-work factory is used when it is None.
    """
    if framework == "ptb":
        from bot.ptb.app import PtbFrontEnd

        return PtbFrontEnd(
            config,
            uow_factory,
            on_handled=on_handled,
            engine_process=engine_process,
            reader_factory=reader_factory,
        )
    if framework == "aiogram":
        from bot.aiogram.app import AiogramFrontEnd

        return AiogramFrontEnd(
            config,
            uow_factory,
            on_handled=on_handled,
            engine_process=engine_process,
            reader_factory=reader_factory,
        )
    raise StartupError(f"unknown framework {framework!r}; use one of: {', '.join(FRAMEWORKS)}")


def run_bot(
    settings: Settings,
    uow_factory: UnitOfWorkFactory,
    *,
    reader_factory: ReaderFactory | None = None,
) -> None:
    """Run the bot until stopped (blocking). Raises StartupError when it cannot start."""
    config = BotConfig.from_settings(settings)
    front = build_front_end(
        settings.chaterp_framework,
        config,
        uow_factory,
        engine_process=engine_spec(settings.database_url, settings.policy()),
        reader_factory=reader_factory,
    )
    asyncio.run(front.serve())


def engine_spec(database_url: str, policy: LedgerPolicy) -> EngineSpec:
    """The engine process for ``database_url`` (its engine settings are filled in at start,
    once the bot's username is known), logging like this process."""
    sqlite = make_url(database_url).get_backend_name() == "sqlite"
    return EngineSpec(
        database_url=database_url,
        settings=EngineSettings(),
        policy=policy,
        # SQLite runs one write transaction at a time, and every update writes (its processed
        # id): more threads would only queue on the write lock, in no particular order.
        # PostgreSQL runs updates of different chats side by side.
        threads=1 if sqlite else ENGINE_THREADS,
        log_level=logging.getLogger().getEffectiveLevel(),
    )


def notifications_config(settings: Settings) -> NotificationsConfig:
    """The sender's limits and the scheduler's times from the settings."""
    from notifications.limits import SendLimits
    from notifications.sender import SenderConfig

    return NotificationsConfig(
        limits=SendLimits(
            global_per_second=settings.outbox_global_per_second,
            chat_per_second=settings.outbox_chat_per_second,
            group_per_minute=settings.outbox_group_per_minute,
        ),
        sender=SenderConfig(poll_interval=settings.outbox_poll_seconds),
        schedule=schedule_config(settings) if settings.scheduler_enabled else None,
    )


def schedule_config(settings: Settings) -> ScheduleConfig:
    """When the scheduled jobs run, from the settings."""
    return ScheduleConfig(
        timezone=settings.timezone,
        daily_summary_at=settings.daily_summary_at,
        overdue_at=settings.overdue_reminders_at,
        low_stock_digest_at=settings.low_stock_digest_at,
        birthdays_at=settings.birthdays_at,
        escalate_after_days=settings.escalate_after_days,
        missed_run_grace_hours=settings.missed_run_grace_hours,
    )


# --- command menus set at start-up --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MenuSpec:
    scope: MenuScope
    language: str | None  # a two-letter code, or None for "every other language"
    commands: tuple[tuple[str, str], ...]


def startup_menus(engine: ConversationEngine) -> list[MenuSpec]:
    """The menus for people without their own (strangers) and for group chats, per language.

    Registered users get a menu scoped to their private chat from the engine (CommandMenu
    replies), listing what their role can do; that menu wins over these.
    """
    specs: list[MenuSpec] = []
    default = engine.settings.default_language
    for language in LANGUAGES:
        t = Translator(language, engine.settings.timezone)
        everyone = tuple(
            (flow.command, t(flow.description))
            for name in ("start", "help")
            if (flow := engine.commands.get(name)) is not None and flow.command
        )
        groups = tuple(
            (flow.command, t(flow.description))
            for flow in engine.flows.values()
            if flow.command and flow.groups_too and flow.command != "start"
        )
        code = None if language == default else language[:2]
        specs.append(MenuSpec("default", code, everyone))
        specs.append(MenuSpec("all_group_chats", code, groups))
    return specs


def warm_up(engine: ConversationEngine, uow_factory: UnitOfWorkFactory) -> None:
    """Build the product index (and load the matcher's dictionaries) before the first update,
    so the first order after a start is not seconds slower than the rest; then freeze the heap.
    Failures are logged."""
    try:
        run_in_transaction(
            uow_factory, lambda uow: engine.product_index.search(uow, "10 螺丝 bolt")
        )
    except Exception:
        logger.exception("warming up the product index failed; it is built on first use")
    freeze_heap()


def freeze_heap() -> None:
    """Take everything loaded at start-up (modules, the matcher's pinyin dictionaries, the
    index: over 250,000 objects) out of the garbage collector's full passes. Each full pass
    walked them all and stopped every thread, the event loop included, for 0.1-0.15 s."""
    gc.collect()  # what is garbage now is freed, not frozen
    gc.freeze()


HEAP_SETTLING_SECONDS = 600.0


def settle_heap(
    seconds: float = HEAP_SETTLING_SECONDS, clock: Callable[[], float] = monotonic
) -> Callable[[], None]:
    """For ``seconds`` after start, freeze what survives each full garbage collection too.

    The first updates and messages load much on first use (Babel's locale data, compiled SQL,
    the frameworks' models): long-lived, yet walked by every later full pass, 15-25 ms during
    which every thread (the event loop too) stands still. Right after a full collection every
    object still tracked is reachable, so freezing it frees nothing that was garbage; only what
    is alive then and later dies in a reference cycle stays, which the settling time bounds.
    Returns a function that stops it early."""
    deadline = clock() + seconds

    def settle(phase: str, info: dict[str, int]) -> None:
        if phase != "stop" or info.get("generation") != 2:
            return
        if clock() > deadline:
            stop()
        else:
            gc.freeze()

    def stop() -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(settle)

    gc.callbacks.append(settle)
    return stop


async def install_menus(delivery: ReplyDelivery, engine: ConversationEngine) -> None:
    """Set the start-up menus (failures are logged, never fatal)."""
    for spec in startup_menus(engine):
        await delivery.set_menu(spec.commands, scope=spec.scope, language=spec.language)
