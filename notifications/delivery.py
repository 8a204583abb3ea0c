"""Sending what the engine returned, with Telegram's delivery rules, for any bot framework.

A front end (python-telegram-bot or aiogram) wraps its Bot in a :class:`BotGateway`
that raises the framework-neutral errors below, and hands every update's replies to
:class:`ReplyDelivery`. The rules live here once:

- HTML text over 4096 characters goes out in several messages cut at line breaks; the keyboard
  rides on the last one (under the end of the text, where the thumb is).
- A tracked send (an order card) is recorded with ``record_sent`` so every copy can be edited.
- "Message is not modified" is success (logged at DEBUG). An edit of a message that is gone
  (deleted, too old, unknown) becomes a fresh message.
- 403 (the user blocked the bot) marks the user blocked and the other replies still go out.
- 429 waits ``retry_after`` and tries again, a bounded number of times.
- A group that became a supergroup: the chat is moved (``move_chat``) and the send retried
  once at the new id.
- A button press is answered exactly once. Its toast (plain text: callback answers have no
  parse mode) is shown when the replies are ready within ``answer_within`` seconds of the
  press arriving; otherwise the press is answered empty at that deadline, so the spinner never
  hangs, and a toast that comes later is sent as a message instead. "Query is too old" is
  tolerated. ``finish_callback`` answers a press whose handling failed.

Nothing here raises to the caller: a reply that cannot be delivered is logged and skipped.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from handlers.incoming import Incoming
from handlers.replies import (
    CommandMenu,
    EditText,
    InlineKeyboard,
    Keyboard,
    Reply,
    SendDocument,
    SendPhoto,
    SendText,
    Toast,
)
from handlers.text import split_message

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_CAPTION_CHARS = 1024
MAX_TOAST_CHARS = 200
ANSWER_WITHIN = 2.0  # seconds from a press arriving until it is answered even without a toast
MAX_ATTEMPTS = 4  # tries of one Bot API call under flood control (429)
MAX_RETRY_AFTER = 60.0  # a longer flood wait gives the reply up instead of stalling the chat
RETRY_MARGIN = 0.1  # seconds added to retry_after (it is rounded by Telegram)
REMEMBERED_ANSWERS = 10_000  # recent presses whose answer is known to be sent

MenuScope = Literal["default", "all_private_chats", "all_group_chats", "chat"]


# --- errors a gateway raises ------------------------------------------------------------------


class DeliveryError(Exception):
    """A Bot API call failed; ``description`` is Telegram's text (never holds the token)."""

    def __init__(self, description: str = "") -> None:
        super().__init__(description)
        self.description = description


class Blocked(DeliveryError):
    """403: the user blocked the bot, or the bot is no longer in the group."""


class RetryAfter(DeliveryError):
    """429: flood control; try again after ``seconds``."""

    def __init__(self, seconds: float, description: str = "") -> None:
        super().__init__(description or f"retry after {seconds:g} s")
        self.seconds = seconds


class NotModified(DeliveryError):
    """400 "message is not modified": the message already shows this (a success)."""


class ChatMigrated(DeliveryError):
    """400: the group became a supergroup with ``new_chat_id``."""

    def __init__(self, new_chat_id: int, description: str = "") -> None:
        super().__init__(description or f"migrated to {new_chat_id}")
        self.new_chat_id = new_chat_id


class MessageGone(DeliveryError):
    """400: the message to edit was deleted, is unknown, or can no longer be edited."""


class QueryExpired(DeliveryError):
    """400: the button press is too old to answer, or was answered already."""


class BadRequest(DeliveryError):
    """Any other 400 (e.g. "can't parse entities": a bug in the text we built)."""


class Unavailable(DeliveryError):
    """Network trouble, a timeout or a server error: whether it arrived is unknown."""


_GONE = (
    "message to edit not found",
    "message can't be edited",
    "message_id_invalid",
    "there is no text in the message to edit",
)
_QUERY_EXPIRED = ("query is too old", "query id is invalid")


def bad_request(description: str) -> DeliveryError:
    """The neutral error for a 400 with Telegram's ``description`` (the same for every
    framework: they pass Telegram's text through)."""
    lowered = description.lower()
    if "message is not modified" in lowered:
        return NotModified(description)
    if any(part in lowered for part in _GONE):
        return MessageGone(description)
    if any(part in lowered for part in _QUERY_EXPIRED):
        return QueryExpired(description)
    return BadRequest(description)


# --- what a front end provides ----------------------------------------------------------------


class BotGateway(Protocol):
    """The Bot API calls delivery needs; implemented once per framework."""

    async def send_text(self, chat_id: int, html: str, keyboard: Keyboard | None) -> int:
        """Send an HTML message; returns its message id."""
        ...

    async def edit_text(
        self, chat_id: int, message_id: int, html: str, keyboard: InlineKeyboard | None
    ) -> None: ...

    async def send_photo(self, chat_id: int, png: bytes, caption: str, filename: str) -> int: ...

    async def send_cached_photo(
        self, chat_id: int, photo: bytes | str, caption: str, filename: str
    ) -> tuple[int, str]:
        """Send a photo by upload (bytes) or by a Telegram file_id (str); returns the message
        id and the photo's file_id (the largest size), so the next chat gets it by id."""
        ...

    async def send_document(
        self, chat_id: int, data: bytes, filename: str, caption: str
    ) -> int: ...

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None: ...

    async def set_commands(
        self,
        commands: Sequence[tuple[str, str]],
        *,
        scope: MenuScope,
        chat_id: int | None = None,
        language: str | None = None,
    ) -> None:
        """Set (or, with no commands, delete) the command menu of ``scope``."""
        ...


class DeliveryHooks(Protocol):
    """Database effects of delivery (the ConversationEngine provides them; synchronous)."""

    def record_sent(self, key: str, chat_id: int, message_id: int) -> None: ...
    def mark_blocked(self, telegram_user_id: int, blocked: bool) -> None: ...
    def move_chat(self, old_chat_id: int, new_chat_id: int) -> None: ...


Pace = Callable[[int], Awaitable[None]]


async def _no_pace(chat_id: int) -> None:
    return None


class Courier:
    """Bot API calls to a chat under Telegram's rules, shared by replies and the outbox sender.

    - ``pace(chat_id)`` is awaited before every call that puts something in a chat (the
      sender waits for its rate limits there; replies only count themselves);
    - 429: wait ``retry_after`` (plus a margin) and try again, at most ``max_attempts`` times
      and never for longer than ``max_retry_after`` at once (then RetryAfter is raised);
    - a group that became a supergroup: ``on_moved(old, new)`` runs, the call is repeated once
      at the new id, and later calls to the old id go to the new one;
    - long HTML is split into several messages, the keyboard on the last.
    Errors other than these are raised to the caller.
    """

    def __init__(
        self,
        gateway: BotGateway,
        *,
        on_moved: Callable[[int, int], Awaitable[None]],
        pace: Pace = _no_pace,
        refund: Callable[[int], None] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        max_retry_after: float = MAX_RETRY_AFTER,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.gateway = gateway
        self.moved: dict[int, int] = {}  # group → supergroup ids seen in this process
        self._on_moved = on_moved
        self._pace = pace
        self._refund = refund  # a paced call refused with 429 gives its slot back
        self._max_attempts = max(1, max_attempts)
        self._max_retry_after = max_retry_after
        self._sleep = sleep

    def where(self, chat_id: int) -> int:
        """The chat's id now (a group that moved has a new one)."""
        return self.moved.get(chat_id, chat_id)

    async def send_chunks(
        self, chat_id: int, chunks: Sequence[str], keyboard: Keyboard | None
    ) -> tuple[int, list[int]]:
        """Send ``chunks`` in order (the keyboard on the last); the chat and the message ids."""
        ids: list[int] = []
        for number, chunk in enumerate(chunks, start=1):
            markup = keyboard if number == len(chunks) else None
            chat_id, message_id = await self.at(
                chat_id, lambda target, c=chunk, m=markup: self.gateway.send_text(target, c, m)
            )
            ids.append(message_id)
        return chat_id, ids

    async def send_text(
        self, chat_id: int, html_text: str, keyboard: Keyboard | None
    ) -> tuple[int, list[int]]:
        return await self.send_chunks(chat_id, split_message(html_text), keyboard)

    async def at(self, chat_id: int, call: Callable[[int], Awaitable[T]]) -> tuple[int, T]:
        """Run ``call(chat_id)``; if the group moved, follow it once. Returns (chat, result)."""
        chat_id = self.where(chat_id)
        try:
            return chat_id, await self.retrying(lambda: call(chat_id), chat_id=chat_id)
        except ChatMigrated as moved:
            new_chat_id = moved.new_chat_id
            await self.migrated(chat_id, new_chat_id)
            return new_chat_id, await self.retrying(lambda: call(new_chat_id), chat_id=new_chat_id)

    async def retrying(self, call: Callable[[], Awaitable[T]], *, chat_id: int | None = None) -> T:
        """Run ``call`` (paced when it writes to ``chat_id``); on 429 wait and try again."""
        attempt = 1
        while True:
            if chat_id is not None:
                await self._pace(chat_id)
            try:
                return await call()
            except RetryAfter as flood:
                if chat_id is not None and self._refund is not None:
                    self._refund(chat_id)
                if attempt >= self._max_attempts or flood.seconds > self._max_retry_after:
                    raise
                logger.warning(
                    "flood control: waiting %.1f s (attempt %d of %d)",
                    flood.seconds,
                    attempt,
                    self._max_attempts,
                )
                await self._sleep(flood.seconds + RETRY_MARGIN)
                attempt += 1

    async def migrated(self, old_chat_id: int, new_chat_id: int) -> None:
        logger.info("group %s is now supergroup %s", old_chat_id, new_chat_id)
        self.moved[old_chat_id] = new_chat_id
        await self._on_moved(old_chat_id, new_chat_id)


# --- delivery ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _PendingAnswer:
    """A button press whose answer is not sent yet, with its deadline timer."""

    callback_id: str
    timer: asyncio.TimerHandle | None = None


@dataclass(slots=True)
class _Batch:
    """Chats that refused us while delivering one list of replies."""

    blocked: set[int] = field(default_factory=set)


def plain_toast(text: str) -> str:
    """A toast as plain text: tags dropped, entities unescaped, at most 200 characters."""
    plain = html.unescape(re.sub(r"<[^<>]*>", "", text)).strip()
    if len(plain) > MAX_TOAST_CHARS:
        plain = plain[: MAX_TOAST_CHARS - 1].rstrip() + "…"
    return plain


class ReplyDelivery:
    """Executes the engine's replies for one update (or any list of replies) via a gateway."""

    def __init__(
        self,
        gateway: BotGateway,
        hooks: DeliveryHooks,
        *,
        answer_within: float = ANSWER_WITHIN,
        max_attempts: int = MAX_ATTEMPTS,
        max_retry_after: float = MAX_RETRY_AFTER,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        run_sync: Callable[..., Awaitable[Any]] = asyncio.to_thread,
        pace: Pace = _no_pace,
    ) -> None:
        self.gateway = gateway
        self._hooks = hooks
        self._answer_within = answer_within
        self._run_sync = run_sync
        self._pending: dict[str, _PendingAnswer] = {}
        self._answered: OrderedDict[str, None] = OrderedDict()  # recent presses answered
        self._tasks: set[asyncio.Task[None]] = set()
        self.courier = Courier(
            gateway,
            on_moved=lambda old, new: self._hook(self._hooks.move_chat, old, new),
            pace=pace,
            max_attempts=max_attempts,
            max_retry_after=max_retry_after,
            sleep=sleep,
        )

    # --- entry points -----------------------------------------------------------------------

    def callback_arrived(self, callback_id: str) -> None:
        """Start a press's answer deadline (call it when the update arrives, before queueing)."""
        if callback_id in self._pending or callback_id in self._answered:
            return  # a redelivery of a press in hand or answered
        pending = _PendingAnswer(callback_id)
        loop = asyncio.get_running_loop()
        pending.timer = loop.call_later(self._answer_within, self._answer_early, pending)
        self._pending[callback_id] = pending

    async def deliver(self, incoming: Incoming, replies: Sequence[Reply]) -> None:
        """Answer the press (if it was one) first, then send the other replies in order."""
        toasts = [reply for reply in replies if isinstance(reply, Toast)]
        batch = _Batch()
        if incoming.callback_id is not None:
            await self._answer(incoming.callback_id, toasts, incoming.chat_id, batch)
        elif toasts:
            logger.debug("update %s: toast without a button press ignored", incoming.update_id)
        for reply in replies:
            if not isinstance(reply, Toast):
                await self._one(reply, incoming.chat_id, batch)

    async def send(self, replies: Sequence[Reply], *, chat_id: int) -> None:
        """Send replies not caused by a press (notifications); ``chat_id`` is the default chat."""
        batch = _Batch()
        for reply in replies:
            if isinstance(reply, Toast):
                logger.debug("toast outside a button press ignored")
            else:
                await self._one(reply, chat_id, batch)

    async def finish_callback(self, callback_id: str) -> None:
        """Answer a press empty unless it was answered already (after a failure, say)."""
        if self._claim(callback_id):
            await self._answer_now(callback_id, "", False)

    async def set_menu(
        self,
        commands: Sequence[tuple[str, str]],
        *,
        scope: MenuScope,
        chat_id: int | None = None,
        language: str | None = None,
    ) -> None:
        """Set a command menu; failures are logged."""
        try:
            await self._retrying(
                lambda: self.gateway.set_commands(
                    commands, scope=scope, chat_id=chat_id, language=language
                )
            )
        except DeliveryError as error:
            logger.warning("could not set the %s command menu: %s", scope, error.description)

    async def close(self) -> None:
        """Stop pending deadline timers and wait for early answers still in flight."""
        for pending in self._pending.values():
            if pending.timer is not None:
                pending.timer.cancel()
        self._pending.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- button presses ---------------------------------------------------------------------

    def _answer_early(self, pending: _PendingAnswer) -> None:
        if pending.callback_id in self._answered:
            return
        self._remember_answered(pending.callback_id)
        logger.debug("press %s not done in time; answering it now", pending.callback_id)
        task = asyncio.ensure_future(self._answer_now(pending.callback_id, "", False))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _claim(self, callback_id: str) -> bool:
        """True if the caller may answer the press now (nobody has); it is then answered."""
        pending = self._pending.pop(callback_id, None)
        if pending is not None and pending.timer is not None:
            pending.timer.cancel()
        if callback_id in self._answered:
            return False
        self._remember_answered(callback_id)
        return True

    def _remember_answered(self, callback_id: str) -> None:
        self._answered[callback_id] = None
        while len(self._answered) > REMEMBERED_ANSWERS:
            self._answered.popitem(last=False)

    async def _answer(
        self, callback_id: str, toasts: Sequence[Toast], chat_id: int, batch: _Batch
    ) -> None:
        shown = [toast for toast in toasts if toast.text.strip()]
        text = "\n".join(toast.text for toast in shown)
        alert = any(toast.alert for toast in shown)
        if self._claim(callback_id):
            await self._answer_now(callback_id, plain_toast(text), alert)
        elif text:
            logger.info(
                "press %s was answered before its notice was ready; sent as a message", callback_id
            )
            await self._one(SendText(text), chat_id, batch)

    async def _answer_now(self, callback_id: str, text: str, alert: bool) -> None:
        try:
            await self._retrying(lambda: self.gateway.answer_callback(callback_id, text, alert))
        except QueryExpired:
            logger.debug("press %s is too old to answer", callback_id)
        except DeliveryError as error:
            logger.warning("could not answer press %s: %s", callback_id, error.description)
        except Exception:
            logger.exception("could not answer press %s", callback_id)

    # --- one reply --------------------------------------------------------------------------

    async def _one(self, reply: Reply, origin: int, batch: _Batch) -> None:
        if isinstance(reply, CommandMenu):
            chat_id = reply.chat_id
        else:
            chat_id = origin if reply.chat_id is None else reply.chat_id
        chat_id = self.courier.where(chat_id)
        if chat_id in batch.blocked:
            return
        kind = type(reply).__name__
        try:
            if isinstance(reply, SendText):
                await self._send_text(chat_id, reply)
            elif isinstance(reply, EditText):
                await self._edit_text(chat_id, reply)
            elif isinstance(reply, SendPhoto | SendDocument):
                await self._send_file(chat_id, reply)
            elif isinstance(reply, CommandMenu):
                # No language: the menu is already in the language this user chose, which may
                # differ from their Telegram app's (a language-specific chat menu would then be
                # skipped for the default one).
                await self._retrying(
                    lambda: self.gateway.set_commands(reply.commands, scope="chat", chat_id=chat_id)
                )
        except Blocked as error:
            batch.blocked.add(chat_id)
            await self._blocked(chat_id, error)
        except DeliveryError as error:
            logger.warning("%s to chat %s not delivered: %s", kind, chat_id, error.description)
        except Exception:
            logger.exception("%s to chat %s not delivered", kind, chat_id)

    async def _send_text(self, chat_id: int, reply: SendText) -> None:
        chat_id, message_id = await self._send_chunks(
            chat_id, split_message(reply.text), reply.keyboard
        )
        if reply.track:
            await self._hook(self._hooks.record_sent, reply.track, chat_id, message_id)

    async def _send_chunks(
        self, chat_id: int, chunks: Sequence[str], keyboard: Keyboard | None
    ) -> tuple[int, int]:
        """Send ``chunks`` in order (the keyboard on the last); the chat and last message id."""
        chat_id, ids = await self.courier.send_chunks(chat_id, chunks, keyboard)
        return chat_id, ids[-1] if ids else 0

    async def _edit_text(self, chat_id: int, reply: EditText) -> None:
        first, *rest = split_message(reply.text)
        try:
            await self.courier.retrying(
                lambda: self.gateway.edit_text(
                    chat_id, reply.message_id, first, None if rest else reply.keyboard
                ),
                chat_id=chat_id,
            )
        except NotModified:
            logger.debug("message %s in chat %s was already up to date", reply.message_id, chat_id)
        except MessageGone as error:
            logger.info(
                "message %s in chat %s cannot be edited (%s); sending it anew",
                reply.message_id,
                chat_id,
                error.description,
            )
            await self._send_chunks(chat_id, [first, *rest], reply.keyboard)
            return
        except ChatMigrated as moved:
            await self.courier.migrated(chat_id, moved.new_chat_id)
            await self._send_chunks(moved.new_chat_id, [first, *rest], reply.keyboard)
            return
        if rest:
            await self._send_chunks(chat_id, rest, reply.keyboard)

    async def _send_file(self, chat_id: int, reply: SendPhoto | SendDocument) -> None:
        caption = reply.caption if len(reply.caption) <= MAX_CAPTION_CHARS else ""
        if isinstance(reply, SendPhoto):
            chat_id, _ = await self.courier.at(
                chat_id,
                lambda target: self.gateway.send_photo(target, reply.data, caption, reply.filename),
            )
        else:
            chat_id, _ = await self.courier.at(
                chat_id,
                lambda target: self.gateway.send_document(
                    target, reply.data, reply.filename, caption
                ),
            )
        if reply.caption and not caption:  # too long for a caption: the text follows the file
            await self._send_chunks(chat_id, split_message(reply.caption), None)

    # --- Telegram's answers -----------------------------------------------------------------

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        return await self.courier.retrying(call)

    async def _blocked(self, chat_id: int, error: Blocked) -> None:
        if chat_id > 0:  # a private chat's id is the user's id
            logger.info("user %s blocked the bot (%s)", chat_id, error.description)
            await self._hook(self._hooks.mark_blocked, chat_id, True)
        else:
            logger.warning("the bot cannot write to group %s: %s", chat_id, error.description)

    async def _hook(self, hook: Callable[..., object], *args: object) -> None:
        """Run a database hook in a worker thread; a failure is logged, not raised."""
        try:
            await self._run_sync(hook, *args)
        except Exception:
            logger.exception("%s%r failed", getattr(hook, "__name__", "hook"), args)
