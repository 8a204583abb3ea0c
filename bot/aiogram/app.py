"""The aiogram 3 front end: Dispatcher → engine → delivery.

The same product as bot/ptb, on aiogram: the Dispatcher's handlers for messages, button
presses and membership changes turn each update into an event (bot/updates.py, shared with
PTB) and run it through the engine and delivery (bot/frontend.py) with an aiogram-backed
gateway (bot/aiogram/gateway.py). API calls and file downloads go to ``api_base_url``
(aiogram's ``TelegramAPIServer``).

- Order: aiogram runs every update as a task of its own; its event isolation, keyed by chat,
  is our chat lanes (bot/aiogram/isolation.py): one chat strictly in order, different chats
  concurrently, a bounded number at once. aiogram's FSM storage holds nothing: conversation
  state is in the database.
- Polling by default (pending updates are kept: what people sent while the bot was down is
  answered on start). A second poller with the same token is fatal for ``serve`` (aiogram
  itself would retry forever), as with PTB.
- A webhook when ``webhook_url`` is set, served by aiogram's own aiohttp handler: 401 without
  the right ``X-Telegram-Bot-Api-Secret-Token`` (compared in constant time, never logged), and
  the call is answered once the update is handled (aiogram moves it to the background after
  55 s, under Telegram's 60), so a crash before that means Telegram delivers it again and the
  engine's update-id check keeps the retry from acting twice.
- Stopping finishes the updates in hand (aiogram's ``stop_polling`` does not wait for them).
Users never see a stack trace: a failure is logged (token-redacted) and the press answered.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramConflictError,
    TelegramNotFound,
    TelegramUnauthorizedError,
)
from aiogram.fsm.strategy import FSMStrategy
from aiogram.methods import (
    DeleteMyCommands,
    GetUpdates,
    SendDocument,
    SendPhoto,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject, Update
from aiogram.utils.token import TokenValidationError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.aiogram.gateway import AiogramGateway
from bot.aiogram.isolation import ChatLaneIsolation, NoStateStorage
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
from bot.runner import ALLOWED_UPDATES, BotConfig, StartupError
from bot.updates import translate
from domain.ports import UnitOfWorkFactory
from handlers.engine import ConversationEngine
from notifications.delivery import ReplyDelivery
from notifications.sender import ReaderFactory
from notifications.service import NotificationService

logger = logging.getLogger(__name__)

NOT_A_TOKEN = (
    "TELEGRAM_BOT_TOKEN is not shaped like a bot token (digits, a colon, then letters; "
    "copy it from @BotFather)."
)
SHUTDOWN_TIMEOUT = 10.0  # seconds in-flight webhook calls get to finish when stopping
BOOTSTRAP_DELAY = 1.0  # seconds between deleteWebhook attempts at start


# aiogram parses every answer as pydantic's Response[<the method's result type>], and pydantic
# keeps such parametrised models in a weak cache: a garbage collection frees one that nothing
# holds, and the next call builds it again, 4-15 ms on the event loop every few hundred
# getUpdates. Holding those the bot calls through aiogram keeps them built.
RESPONSE_MODELS = tuple(
    Response[method.__returning__]
    for method in (GetUpdates, SendPhoto, SendDocument, SetMyCommands, DeleteMyCommands)
)


def harden_aiogram_logging() -> None:
    """Token redaction on every record, quiet HTTP loggers, no line per update at INFO."""
    install_record_redaction()
    quiet_noisy_loggers()
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)


class _ConflictWatch(BaseRequestMiddleware):
    """Tells the front end when getUpdates meets another poller (409 Conflict)."""

    def __init__(self, on_conflict: Callable[[], None]) -> None:
        self._on_conflict = on_conflict

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        try:
            return await make_request(bot, method)
        except TelegramConflictError:
            if isinstance(method, GetUpdates):
                self._on_conflict()
            raise


class ChatOrderedDispatcher(Dispatcher):
    """aiogram's Dispatcher, ordered by chat lanes, holding no FSM state, reporting when each
    update arrives (before it waits for its chat) and when it is done."""

    def __init__(
        self,
        lanes: ChatLanes,
        *,
        arrived: Callable[[Update], None],
        done: Callable[[Update], Any],
    ) -> None:
        super().__init__(
            storage=NoStateStorage(),
            fsm_strategy=FSMStrategy.CHAT,
            events_isolation=ChatLaneIsolation(lanes),
        )
        self._arrived = arrived
        self._done = done

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        self._arrived(update)
        try:
            return await super().feed_update(bot, update, **kwargs)
        finally:
            await self._done(update)


class AiogramFrontEnd:
    """The bot on aiogram 3; ``start``/``stop`` for tests, ``serve`` for production."""

    def __init__(
        self,
        config: BotConfig,
        uow_factory: UnitOfWorkFactory,
        *,
        on_handled: Callable[[int], None] | None = None,
        engine_process: EngineSpec | None = None,
        reader_factory: ReaderFactory | None = None,
    ) -> None:
        harden_aiogram_logging()
        self.config = config
        self.on_handled = on_handled
        self.engine: ConversationEngine | None = None
        self.engine_calls: EngineCalls | None = None
        self.delivery: ReplyDelivery | None = None
        self.notifications: NotificationService | None = None
        self._started: Started | None = None
        self._engine_process = engine_process
        self._reader_factory = reader_factory
        self.lanes = ChatLanes(config.max_concurrent_updates)
        self._uow_factory = uow_factory
        self._stopper = Stopper()
        self._polling: asyncio.Task[None] | None = None
        self._webhook: web.AppRunner | None = None
        self._in_hand = 0  # updates arrived and not done
        self._all_done: asyncio.Event | None = None
        session = AiohttpSession(api=TelegramAPIServer.from_base(config.api_base_url))
        session.middleware(_ConflictWatch(lambda: self._stopper.fail(POLLING_CONFLICT)))
        try:
            self.bot = Bot(config.token, session=session)
        except TokenValidationError:
            raise StartupError(NOT_A_TOKEN) from None
        self.dispatcher = ChatOrderedDispatcher(self.lanes, arrived=self._arrived, done=self._done)
        for observer in (
            self.dispatcher.message,
            self.dispatcher.callback_query,
            self.dispatcher.my_chat_member,
        ):
            observer.register(self._on_event)

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._all_done = asyncio.Event()
        self._all_done.set()
        try:
            me = await self.bot.me()  # getMe: the bot's username
        except (TelegramUnauthorizedError, TelegramNotFound):
            await self.bot.session.close()
            raise StartupError(TOKEN_REFUSED) from None
        except TelegramAPIError as error:
            await self.bot.session.close()
            raise unreachable(self.config, error.message) from None
        username = me.username or ""
        started = await start_engine(
            self.config,
            self._uow_factory,
            AiogramGateway(self.bot),
            username,
            self._engine_process,
            self._reader_factory,
        )
        self._started = started
        self.engine, self.engine_calls = started.engine, started.calls
        self.delivery, self.notifications = started.delivery, started.notifications
        if self.config.webhook_url:
            await self._start_webhook(self.config.webhook_url)
            logger.info("@%s is listening for webhook calls", username)
        else:
            await self._start_polling()
            logger.info("@%s is polling for updates", username)

    async def _start_polling(self) -> None:
        # getUpdates fails while a webhook is set (from an earlier run in webhook mode).
        for attempt in range(1, BOOTSTRAP_RETRIES + 1):
            try:
                await self.bot.delete_webhook(drop_pending_updates=False)
                break
            except TelegramAPIError as error:
                if attempt == BOOTSTRAP_RETRIES:
                    raise unreachable(self.config, error.message) from None
                await asyncio.sleep(BOOTSTRAP_DELAY)
        started = asyncio.Event()

        async def polling_started() -> None:
            started.set()

        self.dispatcher.startup.register(polling_started)
        self._polling = asyncio.create_task(
            self.dispatcher.start_polling(
                self.bot,
                polling_timeout=max(1, round(self.config.poll_timeout)),
                allowed_updates=list(ALLOWED_UPDATES),
                handle_signals=False,
                close_bot_session=False,
            ),
            name="aiogram-polling",
        )
        self._polling.add_done_callback(self._polling_ended)
        # Wait until aiogram runs its polling loop, so that stop() can always stop it.
        waiting = asyncio.ensure_future(started.wait())
        await asyncio.wait([waiting, self._polling], return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if self._polling.done():
            self._polling.result()  # raises what stopped it

    def _polling_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        logger.error("polling stopped: %s", type(error).__name__, exc_info=error)
        self._stopper.fail(f"Polling stopped unexpectedly ({type(error).__name__}); see the log.")

    async def _start_webhook(self, url: str) -> None:
        # Without a configured secret a random one still authenticates Telegram's calls: we
        # register it with setWebhook ourselves on every start.
        secret = self.config.webhook_secret or secrets.token_urlsafe(32)
        handler = SimpleRequestHandler(
            self.dispatcher, self.bot, handle_in_background=False, secret_token=secret
        )
        app = web.Application()
        # The route only: register() would also close the bot's session when the server
        # stops, while calls in flight still reply through it.
        app.router.add_post("/" + (urlparse(url).path or "/").lstrip("/"), handler.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        await web.TCPSite(runner, self.config.webhook_listen, self.config.webhook_port).start()
        self._webhook = runner
        try:
            await self.bot.set_webhook(
                url,
                secret_token=secret,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
        except TelegramAPIError as error:
            raise webhook_refused(url, error.message) from None

    async def stop(self) -> None:
        if self._webhook is not None:  # stop receiving; calls in flight finish first
            await self._webhook.cleanup()
            self._webhook = None
        if self._polling is not None:
            if not self._polling.done():
                await self.dispatcher.stop_polling()
            await asyncio.gather(self._polling, return_exceptions=True)
            self._polling = None
        if self._all_done is not None:
            await self._all_done.wait()  # the updates already fetched
        await stop_engine(self._started)
        await self.bot.session.close()

    async def serve(self) -> None:
        await self._stopper.serve(self.start, self.stop)

    # --- updates ------------------------------------------------------------------------------

    def _arrived(self, update: Update) -> None:
        """An update arrived, before it waits for its chat: a press's deadline starts."""
        self._in_hand += 1
        if self._all_done is not None:
            self._all_done.clear()
        if update.callback_query is not None and self.delivery is not None:
            self.delivery.callback_arrived(update.callback_query.id)

    async def _done(self, update: Update) -> None:
        try:
            if update.callback_query is not None and self.delivery is not None:
                await self.delivery.finish_callback(update.callback_query.id)
            if self.on_handled is not None:
                self.on_handled(update.update_id)
        finally:
            self._in_hand -= 1
            if self._in_hand == 0 and self._all_done is not None:
                self._all_done.set()

    async def _on_event(self, event: TelegramObject, event_update: Update) -> None:
        """The handler of every message, button press and membership change."""
        started = self._started
        assert started is not None, "start() first"
        try:
            translated = translate(event_update, started.engine.settings.bot_username)
            if translated is not None:
                await handle_event(started, translated)
        except Exception:
            logger.exception("update %s could not be handled", event_update.update_id)
