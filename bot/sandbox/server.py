"""The sandbox: emulated Telegram, the real bot and the web chat page in one aiohttp process.

One aiohttp server on ``host:port`` serves both the Bot API (the emulator: the bot polls it like
api.telegram.org, with a throw-away token) and the page with its JSON/SSE API (bot/sandbox/web.py).
The bot is the real front end (``CHATERP_FRAMEWORK``) over the sandbox's own database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from bot.emulator import BotApiEmulator, Chat, EmulatorEvent
from bot.emulator.state import JSON
from bot.runner import BotConfig, FrontEnd, StartupError, build_front_end
from bot.sandbox.cast import (
    BOT_ID,
    BOT_NAME,
    BOT_USERNAME,
    FIRST_NEWCOMER_ID,
    WAREHOUSE_GROUP_ID,
    WAREHOUSE_GROUP_TITLE,
    Persona,
    newcomer,
)
from bot.sandbox.history import ChatHistory, move_counters_past_database
from bot.sandbox.jobs import JobRunner, SchedulerJobs
from bot.sandbox.prepare import load_personas, load_users
from bot.sandbox.views import event_view
from bot.sandbox.web import add_page_routes
from bot.settings import Settings
from handlers.i18n import pick_language
from storage.database import Database

logger = logging.getLogger(__name__)

SAVE_AFTER = 0.5  # seconds of quiet before the chats are saved
POLL_TIMEOUT = 5.0  # seconds a getUpdates waits: short, so Ctrl+C stops the sandbox quickly
EVENT_BACKLOG = 1000  # events a slow page may fall behind before it is told to reload
WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


class Listeners:
    """The pages connected to the event stream, each with its own queue (None: goodbye)."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[JSON | None]] = set()

    def add(self) -> asyncio.Queue[JSON | None]:
        queue: asyncio.Queue[JSON | None] = asyncio.Queue(maxsize=EVENT_BACKLOG)
        self._queues.add(queue)
        return queue

    def __contains__(self, queue: object) -> bool:
        return queue in self._queues

    def remove(self, queue: asyncio.Queue[JSON | None]) -> None:
        self._queues.discard(queue)

    def publish(self, body: JSON | None) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(body)
            except asyncio.QueueFull:  # a stalled page: its stream ends, and on reconnecting
                self._queues.discard(queue)  # it reloads what it shows

    def close(self) -> None:
        self.publish(None)


class SandboxEmulator(BotApiEmulator):
    """The emulator, serving the page and its API beside the Bot API."""

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__()
        self.sandbox = sandbox

    def make_app(self) -> web.Application:
        app = super().make_app()
        add_page_routes(app, self.sandbox)
        return app


class Sandbox:
    """Everything ``chaterp sandbox`` runs; ``start``/``stop`` for tests, ``serve`` for people."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        jobs: JobRunner | None = None,
        history: ChatHistory | None = None,
        on_handled: Callable[[int], None] | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.host = host
        self.port = port
        self.jobs: JobRunner = jobs or self._real_jobs()
        self.history = history
        self._save_pending: asyncio.TimerHandle | None = None
        self.listeners = Listeners()
        self.emulator = SandboxEmulator(self)
        # A fresh token each run: nobody can drive the bot's side without it.
        token = f"{BOT_ID}:{secrets.token_urlsafe(27)[:35]}"
        self.account = self.emulator.add_bot(token, BOT_USERNAME, BOT_NAME)
        self.personas: dict[int, Persona] = {}
        self.newcomers: dict[int, Persona] = {}
        self.group: Chat | None = None
        self.front: FrontEnd | None = None
        self._on_handled = on_handled
        self._refreshing: asyncio.Task[None] | None = None
        self._refresh_again = False
        self._unsubscribe: Callable[[], None] | None = None

    def _real_jobs(self) -> JobRunner:
        """The scheduler's jobs over this database, delivered by the bot's sender."""
        from bot.bootstrap import message_settings
        from bot.runner import schedule_config
        from notifications.scheduler import JobScheduler

        scheduler = JobScheduler(
            self.database.uow, message_settings(self.settings), schedule_config(self.settings)
        )

        def wake() -> None:
            if self.front is not None and self.front.notifications is not None:
                self.front.notifications.wake()

        return SchedulerJobs(scheduler, wake)

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The page's address (http://127.0.0.1:8080)."""
        return self.emulator.url

    async def start(self) -> str:
        """Serve the page and the Bot API, then start the bot; returns the page's URL."""
        try:
            await self.emulator.start(self.host, self.port)
        except OSError as error:
            raise StartupError(
                f"Cannot listen on {self.host}:{self.port} ({error.strerror}). Is another "
                "sandbox running? Stop it, or pick another port with --port or SANDBOX_PORT."
            ) from None
        if self.history is not None:
            restored = self.history.load(self.emulator.state, self.account)
            logger.info("sandbox: %s chats restored from %s", restored, self.history.path)
        await asyncio.to_thread(
            move_counters_past_database, self.database, self.emulator.state, self.account
        )
        self._unsubscribe = self.emulator.subscribe(self._forward)
        self._bind_personas(await asyncio.to_thread(load_personas, self.database))
        front = build_front_end(
            self.settings.chaterp_framework,
            self._bot_config(),
            self.database.uow,
            on_handled=self._handled,
            reader_factory=self.database.reader,
        )
        try:
            await front.start()
        except BaseException:
            await self._stop_server()
            raise
        self.front = front
        await self._install_missing_menus()
        return self.url

    async def stop(self) -> None:
        if self.front is not None:
            front, self.front = self.front, None
            await front.stop()
        if self._refreshing is not None:
            await asyncio.gather(self._refreshing, return_exceptions=True)
        await self._stop_server()

    async def _stop_server(self) -> None:
        self.listeners.close()  # event streams end, so the server can close at once
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self.emulator.stop()
        if self._save_pending is not None:
            self._save_pending.cancel()
        self._save()

    def _save(self) -> None:
        self._save_pending = None
        if self.history is None:
            return
        try:
            self.history.save(self.emulator.state, self.account)
        except OSError:
            logger.exception("sandbox: saving the chats to %s failed", self.history.path)

    async def serve(self, on_ready: Callable[[str], None] | None = None) -> None:
        """start(), run until Ctrl+C or SIGTERM, then stop()."""
        stop_requested = asyncio.Event()
        loop = asyncio.get_running_loop()
        handled: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop_requested.set)
                handled.append(sig)
        try:
            url = await self.start()
            if on_ready is not None:
                on_ready(url)
            await stop_requested.wait()
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            await self.stop()

    def _bot_config(self) -> BotConfig:
        """The settings' bot configuration, pointed at the sandbox and always polling."""
        host, port = self.host, self.emulator.url.rsplit(":", 1)[1]
        local = WILDCARD_HOSTS.get(host, host)
        shown = f"[{local}]" if ":" in local else local
        settings = self.settings.model_copy(
            update={
                "telegram_bot_token": SecretStr(self.account.token),
                "telegram_api_base_url": f"http://{shown}:{port}",
                "webhook_url": None,
            }
        )
        return replace(BotConfig.from_settings(settings), poll_timeout=POLL_TIMEOUT)

    async def _install_missing_menus(self) -> None:
        """Give each persona the command menu of their role, as the bot did when they joined
        (the demo's people joined before the sandbox existed)."""
        engine = self.front.engine if self.front is not None else None
        if engine is None:
            return
        users = await asyncio.to_thread(load_users, self.database)
        default = self.settings.default_language
        for person in list(self.personas.values()):
            user = users.get(person.telegram_id)
            if user is None or (f"chat:{person.telegram_id}", "") in self.account.commands:
                continue
            language = pick_language(user.language, person.language_code, default)
            menu = engine.menu_for(user, person.telegram_id, language)
            commands = [{"command": c, "description": d} for c, d in menu.commands]
            scope = {"type": "chat", "chat_id": person.telegram_id}
            await self.emulator.call_api(
                "setMyCommands", bot=self.account, commands=commands, scope=scope
            )

    # --- people and chats ---------------------------------------------------------------------

    def chats_of(self, persona: Persona) -> list[JSON]:
        """The chats ``persona`` can open: the private chat with the bot, then their groups."""
        chats: list[JSON] = [{"id": persona.telegram_id, "kind": "private", "title": BOT_NAME}]
        group = self.group
        if group is not None and persona.telegram_id in group.members:
            chats.append({"id": group.id, "kind": "group", "title": group.title})
        return chats

    def persona(self, telegram_id: int) -> Persona | None:
        return self.personas.get(telegram_id) or self.newcomers.get(telegram_id)

    def all_personas(self) -> list[Persona]:
        return [*self.personas.values(), *self.newcomers.values()]

    def add_newcomer(self) -> Persona:
        """Someone new, with no access yet (to open an invite link as)."""
        taken = set(self.emulator.state.users)
        telegram_id = next(i for i in range(FIRST_NEWCOMER_ID, 2**31) if i not in taken)
        person = newcomer(telegram_id, telegram_id - FIRST_NEWCOMER_ID + 1)
        self.newcomers[telegram_id] = person
        self._register(person)
        self.listeners.publish({"kind": "personas"})
        return person

    def _bind_personas(self, personas: list[Persona]) -> bool:
        """Give every persona an emulated account; staff are in the warehouse group. True when
        the list changed (someone joined with an invite, or was revoked)."""
        fresh = {p.telegram_id: p for p in personas}
        if fresh == self.personas and self.group is not None:
            return False
        self.personas = fresh
        for telegram_id in list(self.newcomers):
            if telegram_id in fresh:  # the invite was accepted: a user now
                del self.newcomers[telegram_id]
        for person in personas:
            self._register(person)
        staff = [p.telegram_id for p in personas if p.is_staff]
        if self.group is None:
            owners = [p.telegram_id for p in personas if p.role == "owner"]
            self.group = self.emulator.group(
                WAREHOUSE_GROUP_ID,
                WAREHOUSE_GROUP_TITLE,
                members=staff,
                admins=owners,
                bot_is_admin=True,  # so typed answers in the group reach it (privacy mode)
            )
        else:
            for telegram_id in staff:
                if telegram_id not in self.group.members:
                    self._join_group(telegram_id)
        return True

    def _register(self, person: Persona) -> None:
        name, _, surname = person.name.partition(" ")
        if person.telegram_id not in self.emulator.state.users:
            self.emulator.user(
                person.telegram_id,
                person.name if person.role else name,
                None if person.role else (surname or None),
                language_code=person.language_code,
            )
        # They started the bot long ago (the demo's history), so it may write to them first.
        self.account.started.add(person.telegram_id)

    def _join_group(self, telegram_id: int) -> None:
        assert self.group is not None
        task = asyncio.ensure_future(self.emulator.join(self.group, telegram_id))
        task.add_done_callback(_log_failure)

    # --- events -------------------------------------------------------------------------------

    def _forward(self, event: EmulatorEvent) -> None:
        if event.bot in (self.account.username, ""):
            self.listeners.publish(event_view(event))
        if self.history is not None and self._save_pending is None:
            self._save_pending = asyncio.get_running_loop().call_later(SAVE_AFTER, self._save)

    def _handled(self, update_id: int) -> None:
        """After each update: someone may have joined or been revoked; refresh the personas."""
        if self._on_handled is not None:
            self._on_handled(update_id)
        self._refresh_again = True
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self._refresh_personas())

    async def _refresh_personas(self) -> None:
        while self._refresh_again:
            self._refresh_again = False
            try:
                personas = await asyncio.to_thread(load_personas, self.database)
            except Exception:
                logger.exception("sandbox: reading the people failed")
                return
            if self._bind_personas(personas):
                self.listeners.publish({"kind": "personas"})


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("sandbox: joining the warehouse group failed", exc_info=task.exception())
