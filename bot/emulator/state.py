"""All emulator state in one place: users, chats, messages, files, bots, updates and calls.

Nothing here speaks HTTP. The Bot API methods (``methods.py``) and the user-side client
(``client.py``) both read and change this state, and every change wakes whoever waits
(long polls, webhook senders, tests waiting for the bot's reply).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.emulator.html import render_html
from bot.emulator.media import StoredFile

log = logging.getLogger("bot.emulator")

JSON = dict[str, Any]
ChatType = Literal["private", "group", "supergroup"]
Clock = Callable[[], float]

#: What Telegram sends when allowed_updates is unset or empty.
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


@dataclass
class User:
    """A Telegram user (or a bot's own user)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    is_premium: bool = False

    def to_api(self) -> JSON:
        result: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            result["last_name"] = self.last_name
        if self.username:
            result["username"] = self.username
        if self.language_code and not self.is_bot:
            result["language_code"] = self.language_code
        if self.is_premium:
            result["is_premium"] = True
        return result

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


@dataclass
class Chat:
    """A chat. Private chats share the user's id; groups are negative, supergroups -100…."""

    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    members: set[int] = field(default_factory=set)
    admins: set[int] = field(default_factory=set)
    migrated_to: int | None = None
    migrated_from: int | None = None

    def to_api(self) -> JSON:
        result: JSON = {"id": self.id, "type": self.type}
        if self.type == "private":
            result["first_name"] = self.first_name or ""
            if self.last_name:
                result["last_name"] = self.last_name
        else:
            result["title"] = self.title or ""
        if self.username:
            result["username"] = self.username
        return result

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")


@dataclass
class StoredMessage:
    """One message in a chat, as the bot's account sees it, with every earlier version."""

    bot_id: int
    chat_id: int
    message_id: int
    from_bot: bool
    payload: JSON
    source: str | None = None
    parse_mode: str | None = None
    markup: JSON | None = None
    history: list[JSON] = field(default_factory=list)
    deleted: bool = False

    @property
    def text(self) -> str | None:
        return self.payload.get("text", self.payload.get("caption"))

    @property
    def html(self) -> str:
        """The message text rendered from its entities as Telegram HTML (for display)."""
        if "text" in self.payload:
            return render_html(self.payload["text"], self.payload.get("entities"))
        return render_html(self.payload.get("caption", ""), self.payload.get("caption_entities"))

    @property
    def sender_id(self) -> int | None:
        sender = self.payload.get("from")
        return int(sender["id"]) if sender else None

    def snapshot(self) -> JSON:
        return copy.deepcopy(self.payload)


@dataclass
class BotActivity:
    """Something the bot did in a chat that a user would see."""

    kind: Literal["sent", "edited", "deleted"]
    message_id: int
    message: JSON


@dataclass
class Conversation:
    """One chat as one bot's account sees it: its messages and what the user has read."""

    bot_id: int
    chat_id: int
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    activity: list[BotActivity] = field(default_factory=list)
    read_cursor: int = 0
    reply_keyboard: JSON | None = None
    chat_action: str | None = None

    def allocate_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class CallbackQueryRecord:
    """A button press waiting for (or given) its answerCallbackQuery."""

    id: str
    bot_id: int
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created_at: float
    answer: JSON | None = None


@dataclass
class PendingUpdate:
    update_id: int
    payload: JSON
    returned: bool = False

    @property
    def kind(self) -> str:
        return next(key for key in self.payload if key != "update_id")


@dataclass
class Webhook:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class BotAccount:
    """A registered bot: its identity, its update queue, webhook, commands and relations."""

    token: str
    user: User
    privacy_mode: bool = True
    next_update_id: int = 1
    pending: list[PendingUpdate] = field(default_factory=list)
    all_updates: dict[int, JSON] = field(default_factory=dict)
    allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
    webhook: Webhook | None = None
    commands: dict[tuple[str, str], list[JSON]] = field(default_factory=dict)
    started: set[int] = field(default_factory=set)
    blocked_by: set[int] = field(default_factory=set)
    poll_generation: int = 0

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def username(self) -> str:
        return self.user.username or ""


@dataclass
class ApiCall:
    """One Bot API call, for assertions. Never holds the token."""

    bot: str
    method: str
    params: JSON
    ok: bool
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    at: float = 0.0


@dataclass
class EmulatorEvent:
    """What subscribers hear: a message appeared, changed or went away, or a toast/action.

    ``kind`` is ``"message"``, ``"edited"``, ``"deleted"``, ``"callback_answer"`` or
    ``"chat_action"``; ``message`` is a copy of the Telegram Message as it was at that moment
    (None for toasts and actions) and ``html`` its text rendered as Telegram HTML then;
    ``record`` is the live stored message (it changes with later edits).
    """

    kind: str
    bot: str
    chat_id: int
    message: JSON | None = None
    record: StoredMessage | None = None
    data: JSON = field(default_factory=dict)
    html: str | None = None

    def __post_init__(self) -> None:
        if self.html is None and self.record is not None:
            self.html = self.record.html


Subscriber = Callable[[EmulatorEvent], Awaitable[None] | None]


class EmulatorState:
    """The single owner of emulator data, plus change notification."""

    def __init__(self, clock: Clock = time.time, max_calls: int = 50_000) -> None:
        self.clock = clock
        self.max_calls = max_calls
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.bots: dict[str, BotAccount] = {}
        self.conversations: dict[tuple[int, int], Conversation] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.photo_groups: dict[str, list[str]] = {}
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.calls: list[ApiCall] = []
        self.closing = False
        self._changed = asyncio.Event()
        self._subscribers: list[Subscriber] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._file_counter = 0

    # time -------------------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def unix_time(self) -> int:
        return int(self.clock())

    # change notification -----------------------------------------------------------------------

    def changed(self) -> None:
        """Wake every waiter; each re-checks its own condition."""
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def wait_changed(self, timeout: float | None) -> bool:
        """Wait for the next change; False on timeout."""
        event = self._changed
        if timeout is not None and timeout <= 0:
            return False
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def wait_until(self, predicate: Callable[[], Any], timeout: float) -> Any:
        """Wait until ``predicate()`` is truthy and return it; raise TimeoutError otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            await self.wait_changed(remaining)

    # subscribers -------------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def emit(self, event: EmulatorEvent) -> None:
        for callback in list(self._subscribers):
            try:
                outcome = callback(event)
            except Exception:
                log.exception("emulator subscriber failed")
                continue
            if inspect.isawaitable(outcome):
                task = asyncio.ensure_future(outcome)
                self._tasks.add(task)
                task.add_done_callback(self._task_done)
        self.changed()

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("emulator subscriber failed", exc_info=task.exception())

    # lookups -----------------------------------------------------------------------------------

    def bot_by_id(self, bot_id: int) -> BotAccount:
        return next(bot for bot in self.bots.values() if bot.id == bot_id)

    def conversation(self, bot: BotAccount, chat_id: int) -> Conversation:
        key = (bot.id, chat_id)
        if key not in self.conversations:
            self.conversations[key] = Conversation(bot.id, chat_id)
        return self.conversations[key]

    def user_json(self, user_id: int) -> JSON | None:
        user = self.users.get(user_id)
        if user is None:
            user = next((b.user for b in self.bots.values() if b.id == user_id), None)
        return user.to_api() if user else None

    def chat_by_username(self, username: str) -> Chat | None:
        name = username.lstrip("@").lower()
        return next(
            (c for c in self.chats.values() if c.username and c.username.lower() == name), None
        )

    # files -------------------------------------------------------------------------------------

    def next_file_number(self) -> int:
        self._file_counter += 1
        return self._file_counter

    def add_file(self, stored: StoredFile) -> StoredFile:
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    # updates -----------------------------------------------------------------------------------

    def enqueue_update(self, bot: BotAccount, kind: str, obj: JSON) -> int | None:
        """Queue an update for ``bot``; None when its allowed_updates filter drops it."""
        if kind not in bot.allowed_updates:
            return None
        update_id = bot.next_update_id
        bot.next_update_id += 1
        payload = {"update_id": update_id, kind: copy.deepcopy(obj)}
        bot.all_updates[update_id] = payload
        bot.pending.append(PendingUpdate(update_id, payload))
        self.changed()
        return update_id

    def requeue_update(self, bot: BotAccount, update_id: int) -> None:
        """Put a known update back in the queue with its original update_id."""
        payload = bot.all_updates[update_id]
        bot.pending = [p for p in bot.pending if p.update_id != update_id]
        bot.pending.append(PendingUpdate(update_id, copy.deepcopy(payload)))
        bot.pending.sort(key=lambda p: p.update_id)
        self.changed()

    def record_call(self, call: ApiCall) -> None:
        """Log a call, keeping the newest ``max_calls`` (a sandbox may run for days)."""
        self.calls.append(call)
        if len(self.calls) > self.max_calls:
            del self.calls[: len(self.calls) - self.max_calls]
