"""The python-telegram-bot front end: Application → engine → delivery.

One catch-all handler turns each PTB ``Update`` into an event (bot/updates.py, shared with
aiogram) and runs it through the engine and delivery (bot/frontend.py) with a PTB-backed
gateway. Updates of one chat run strictly in order, different chats concurrently
(bot/ptb/processor.py on bot/lanes.py). Bot API calls go through aiohttp (bot/ptb/request.py),
a quarter of the CPU of PTB's default httpx per call.

Polling by default (pending updates are kept: what people sent while the bot was down is
answered on start); a webhook when ``webhook_url`` is set (bot/ptb/webhook.py: 403 without
the right secret token, and the call is answered once the update is handled). Users never
see a stack trace: a failure is logged (token-redacted) and the engine apologises for failed
updates.
"""

from __future__ import annotations

import datetime as dtm
import logging
import secrets
from collections.abc import Callable
from urllib.parse import urlparse

from telegram import Update
from telegram import error as tg
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.engine_process import EngineCalls, EngineSpec
from bot.frontend import (
    BOOTSTRAP_RETRIES,
    POLLING_CONFLICT,
    TOKEN_REFUSED,
    Started,
    Stopper,
    handle_event,
    start_engine,
    stop_engine,
    unreachable,
    webhook_refused,
)
from bot.lanes import ChatLanes
from bot.logging_setup import install_record_redaction, quiet_noisy_loggers
from bot.ptb.gateway import PtbGateway, quiet_api_request_warnings
from bot.ptb.processor import PerChatUpdateProcessor
from bot.ptb.request import AiohttpRequest
from bot.ptb.webhook import WebhookServer
from bot.runner import ALLOWED_UPDATES, BotConfig, StartupError
from bot.updates import translate
from domain.ports import UnitOfWorkFactory
from handlers.engine import ConversationEngine
from notifications.delivery import ReplyDelivery
from notifications.sender import ReaderFactory
from notifications.service import NotificationService

logger = logging.getLogger(__name__)

# PTB logs a wrong webhook secret at DEBUG (PTB#5120); the supplied value must not be logged.
_WRONG_SECRET = "Request had the wrong secret token"


class _DropWrongSecret(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_WRONG_SECRET)


def harden_ptb_logging() -> None:
    """Token redaction on every record, quiet HTTP loggers, no echo of a wrong secret."""
    install_record_redaction()
    quiet_noisy_loggers()
    quiet_api_request_warnings()
    updater_log = logging.getLogger("telegram.ext.Updater")
    if not any(isinstance(f, _DropWrongSecret) for f in updater_log.filters):
        updater_log.addFilter(_DropWrongSecret())


class PtbFrontEnd:
    """The bot on python-telegram-bot; ``start``/``stop`` for tests, ``serve`` for production."""

    def __init__(
        self,
        config: BotConfig,
        uow_factory: UnitOfWorkFactory,
        *,
        on_handled: Callable[[int], None] | None = None,
        engine_process: EngineSpec | None = None,
        reader_factory: ReaderFactory | None = None,
    ) -> None:
        harden_ptb_logging()
        self.config = config
        self.on_handled = on_handled
        self.engine: ConversationEngine | None = None
        self.engine_calls: EngineCalls | None = None
        self.delivery: ReplyDelivery | None = None
        self.notifications: NotificationService | None = None
        self._started: Started | None = None
        self._engine_process = engine_process
        self._reader_factory = reader_factory
        self._uow_factory = uow_factory
        self._stopper = Stopper()
        self._webhook: WebhookServer | None = None
        self.processor = PerChatUpdateProcessor(
            config.max_concurrent_updates, on_arrival=self._arrived
        )
        self.lanes: ChatLanes = self.processor.lanes
        base = config.api_base_url.rstrip("/")
        self.application = (
            Application.builder()
            .token(config.token)
            .base_url(f"{base}/bot")
            .base_file_url(f"{base}/file/bot")
            .request(AiohttpRequest())
            .get_updates_request(AiohttpRequest(connection_pool_size=1))
            .concurrent_updates(self.processor)
            .job_queue(None)
            .build()
        )
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        app = self.application
        try:
            await app.initialize()  # getMe: the bot's username
        except tg.InvalidToken:
            raise StartupError(TOKEN_REFUSED) from None
        except tg.TelegramError as error:
            raise unreachable(self.config, error.message) from None
        username = app.bot.username
        started = await start_engine(
            self.config,
            self._uow_factory,
            PtbGateway(app.bot),
            username,
            self._engine_process,
            self._reader_factory,
        )
        self._started = started
        self.engine, self.engine_calls = started.engine, started.calls
        self.delivery, self.notifications = started.delivery, started.notifications
        await app.start()
        assert app.updater is not None
        if self.config.webhook_url:
            await self._start_webhook(self.config.webhook_url)
            logger.info("@%s is listening for webhook calls", username)
        else:
            await app.updater.start_polling(
                timeout=dtm.timedelta(seconds=self.config.poll_timeout),
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
                bootstrap_retries=BOOTSTRAP_RETRIES,
                error_callback=self._polling_error,
            )
            logger.info("@%s is polling for updates", username)

    async def _start_webhook(self, url: str) -> None:
        # Without a configured secret a random one still authenticates Telegram's calls: we
        # register it with setWebhook ourselves on every start.
        secret = self.config.webhook_secret or secrets.token_urlsafe(32)
        self._webhook = WebhookServer(
            self.application.bot,
            self.application.update_queue,
            secret=secret,
            listen=self.config.webhook_listen,
            port=self.config.webhook_port,
            path=urlparse(url).path or "/",
        )
        await self._webhook.start()
        try:
            await self.application.bot.set_webhook(
                url,
                secret_token=secret,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
        except tg.TelegramError as error:
            raise webhook_refused(url, error.message) from None

    async def stop(self) -> None:
        app = self.application
        if self._webhook is not None:  # stop receiving; calls in flight finish first
            await self._webhook.stop()
            self._webhook = None
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()  # finishes the updates already fetched
        await stop_engine(self._started)
        await app.shutdown()

    async def serve(self) -> None:
        await self._stopper.serve(self.start, self.stop)

    def _polling_error(self, error: tg.TelegramError) -> None:
        if isinstance(error, tg.Conflict):
            self._stopper.fail(POLLING_CONFLICT)
            return
        logger.warning("polling failed (%s: %s); retrying", type(error).__name__, error.message)

    # --- updates ------------------------------------------------------------------------------

    def _arrived(self, update: object) -> None:
        """Runs when an update arrives, before it waits for its chat: a press's deadline starts."""
        if (
            isinstance(update, Update)
            and update.callback_query is not None
            and self.delivery is not None
        ):
            self.delivery.callback_arrived(update.callback_query.id)

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await self._handle(update)
        except Exception:
            logger.exception("update %s could not be handled", update.update_id)
        finally:
            if update.callback_query is not None and self.delivery is not None:
                await self.delivery.finish_callback(update.callback_query.id)
            if self._webhook is not None:
                self._webhook.handled(update.update_id)
            if self.on_handled is not None:
                self.on_handled(update.update_id)

    async def _handle(self, update: Update) -> None:
        started = self._started
        assert started is not None, "start() first"
        event = translate(update, started.engine.settings.bot_username)
        if event is not None:
            await handle_event(started, event)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Errors PTB caught outside our handler (ours never raises)."""
        logger.error("error while processing an update", exc_info=context.error)
