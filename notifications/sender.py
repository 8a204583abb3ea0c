"""The outbox sender: delivers queued messages under Telegram's limits, for any bot framework.

It talks only to a :class:`~notifications.delivery.BotGateway` (through the same
:class:`~notifications.delivery.Courier` rules as replies) and to the database:

- **Claims** due messages for a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so several
  senders on one database share the work and never send one message twice; a chat another
  sender is working on is left to it, so one chat's messages keep their order. Leases are
  renewed while messages wait in memory; a sender that dies leaves its messages to whoever
  claims after the lease (``lease`` seconds).
- **Lanes**: one task per chat sends that chat's messages in order; different chats go in
  parallel, each message waiting for its slot in the flood buckets (notifications/limits.py).
- **Progress** is committed after every part before the next one goes, so a sender killed
  mid-batch resumes with only what was not sent (at most the one message per chat that was
  in the air at the moment of the crash can go twice: Telegram has no idempotency key).
- **Render parts** are rendered just before sending (a read-only transaction, in a thread)
  and the result is kept in the row, so a resumed message continues with the same parts.
- **Photos** are uploaded once: the file_id Telegram gives back is stored with the file and
  every other chat gets the photo by id.
- **Telegram's answers**: 429 waits ``retry_after`` in that chat's lane (others go on), and
  a long wait puts the message back for later; 403 marks the private chat blocked or the group
  inactive, skips its queued messages and tells the owners; a group that became a supergroup
  is followed everywhere; a refused message (400) is marked failed and logged; network trouble
  retries with back-off, ``max_attempts`` times.
- Woken by the database's bell right after a commit that queued messages, and polling every
  ``poll_interval`` seconds for messages left by a crash or written by another process.

It never delays replies to people: it runs beside them on the event loop, waits in its own
buckets (which replies only count themselves into), and does its database work in threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from domain.model import Role
from domain.ports import OutboxMessage, UnitOfWork, UnitOfWorkFactory
from domain.transaction import run_in_transaction
from handlers.context import EngineSettings
from handlers.text import split_message
from notifications import renderers
from notifications.delivery import (
    MAX_CAPTION_CHARS,
    BadRequest,
    Blocked,
    BotGateway,
    Courier,
    DeliveryError,
    RetryAfter,
)
from notifications.limits import FloodBudget, SendLimits
from notifications.parts import (
    DocumentPart,
    Part,
    PhotoPart,
    RenderPart,
    TextPart,
    dumps,
    loads,
    queue,
)

logger = logging.getLogger(__name__)

ReaderFactory = Callable[[], AbstractContextManager[UnitOfWork]]

DONE, REFUSED, HELD_BACK = "done", "refused", "held back"  # what became of one message


@dataclass(frozen=True, slots=True)
class SenderConfig:
    lease: float = 120.0  # seconds a claim is ours without renewal
    batch: int = 50  # messages per claim (a claim holds SQLite's write lock: keep it short)
    backlog_seconds: float = 20.0  # hold about this many seconds of sending in memory
    poll_interval: float = 2.0  # seconds between looks for messages nobody rang about
    max_attempts: int = 8  # failed tries (network trouble) before a message is given up
    max_retry_after: float = 30.0  # a longer flood wait puts the message back for later
    max_backoff: float = 600.0  # longest wait before retrying after a failure


def backoff(attempts: int, longest: float) -> float:
    """Seconds to wait before try ``attempts + 1`` after a failure (5 s, 10 s, 20 s…)."""
    return float(min(longest, 5 * 2 ** max(0, attempts)))


def instance_name() -> str:
    """Who holds a lease: host, process and a random part (a restart is someone else)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(slots=True)
class _Op:
    """A database change the writer commits (several per transaction)."""

    kind: str
    args: tuple[Any, ...]
    done: asyncio.Future[None] | None = None


@dataclass(slots=True)
class _Lane:
    messages: deque[OutboxMessage] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None


class OutboxSender:
    """Sends what the outbox holds; ``start``/``stop``, ``wake``, and ``idle`` for tests."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        gateway: BotGateway,
        *,
        settings: EngineSettings,
        budget: FloodBudget | None = None,
        config: SenderConfig | None = None,
        reader_factory: ReaderFactory | None = None,
        name: str | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._reader = reader_factory or uow_factory
        self.settings = settings
        self.budget = budget or FloodBudget(SendLimits())
        self.config = config or SenderConfig()
        self.name = name or instance_name()
        self.courier = Courier(
            gateway,
            on_moved=self._moved,
            pace=self.budget.acquire,
            refund=self.budget.refund,
            max_retry_after=self.config.max_retry_after,
        )
        self.gateway = gateway
        self._lanes: dict[int, _Lane] = {}
        self._held = 0  # messages claimed and not finished
        self._file_ids: dict[str, str] = {}
        self._uploading: dict[str, asyncio.Lock] = {}
        self._ops: asyncio.Queue[_Op] | None = None
        self._wakeup: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False
        self._claiming = False  # a claim is running in a thread (its rows are not held yet)
        self.sent = 0  # messages finished as sent (for benchmarks and logs)

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._ops = asyncio.Queue()
        self._wakeup = asyncio.Event()
        self._running = True
        with self._uow_factory() as uow:
            uow.outbox.on_commit(self.wake)
        self._tasks = [
            asyncio.create_task(self._writer(), name="outbox-writer"),
            asyncio.create_task(self._claimer(), name="outbox-claimer"),
            asyncio.create_task(self._renewer(), name="outbox-lease"),
        ]
        logger.info("outbox sender %s started", self.name)

    async def stop(self) -> None:
        """Stop sending; what is held goes back to the queue at once (not after the lease)."""
        if not self._running:
            return
        self._running = False
        writer, claimer, renewer = self._tasks
        assert self._wakeup is not None
        self._wakeup.set()
        # The claimer is not cancelled: a claim already running in its thread would commit
        # after we stopped, leaving rows leased to nobody. It stops after that claim.
        await asyncio.gather(claimer, return_exceptions=True)
        lanes = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in (renewer, *lanes):
            task.cancel()
        await asyncio.gather(renewer, *lanes, return_exceptions=True)
        held = [m.id for lane in self._lanes.values() for m in lane.messages]
        self._lanes.clear()
        if held:
            await self._write("release_all", held)
        assert self._ops is not None
        await self._ops.join()
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        logger.info("outbox sender %s stopped", self.name)

    async def crash(self) -> None:
        """Stop as if the process died (tests): nothing is released or written any more."""
        self._running = False
        lanes = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in (*self._tasks, *lanes):
            task.cancel()
        await asyncio.gather(*self._tasks, *lanes, return_exceptions=True)
        self._lanes.clear()

    async def send_due(self) -> int:
        """Claim and send everything due now, one message after another, without background
        tasks (the flow tests' recording chat, ``chaterp jobs run``); how many were sent."""
        sent_before = self.sent
        while True:
            batch = await asyncio.to_thread(self._claim, self.config.batch)
            if not batch:
                return self.sent - sent_before
            stopped: set[int] = set()  # chats refused or held back: later messages wait
            waiting: list[int] = []
            for message in batch:
                if message.chat_id in stopped:
                    waiting.append(message.id)
                    continue
                if await self._deliver(message) is not DONE:
                    stopped.add(message.chat_id)
            if waiting:
                await self._write("unclaim", waiting)

    def wake(self) -> None:
        """Look for messages now (safe from any thread: commits happen in worker threads)."""
        loop, event = self._loop, self._wakeup
        if loop is None or event is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(event.set)

    async def idle(self, timeout: float = 15.0) -> None:
        """Wait until nothing due is left to send (tests and benchmarks)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self._quiet():
                due = await asyncio.to_thread(self._due_count)
                if due == 0 and self._quiet():
                    await self._ops.join()
                    return
                self.wake()
            if loop.time() > deadline:
                raise TimeoutError(f"outbox not sent within {timeout} s ({self._held} held)")
            await asyncio.sleep(0.005)

    def _quiet(self) -> bool:
        """Nothing held, claimed or waiting to be written."""
        return (
            self._held == 0 and not self._claiming and self._ops is not None and self._ops.empty()
        )

    def _due_count(self) -> int:
        with self._reader() as uow:
            return uow.outbox.pending(now=uow.clock.now())

    # --- claiming -----------------------------------------------------------------------------

    @property
    def _high_water(self) -> int:
        rate = self.budget.limits.global_per_second
        return max(self.config.batch, int(rate * self.config.backlog_seconds) if rate > 0 else 0)

    async def _claimer(self) -> None:
        assert self._wakeup is not None
        while self._running:
            self._wakeup.clear()
            claimed = 0
            if self._held < self._high_water:
                room = min(self.config.batch, self._high_water - self._held)
                self._claiming = True
                try:
                    batch = await asyncio.to_thread(self._claim, room)
                except Exception:
                    logger.exception("claiming outbox messages failed; trying again shortly")
                    batch = []
                finally:
                    self._claiming = False
                if not self._running:  # stopping: give them back at once
                    if batch:
                        await self._write("release_all", [m.id for m in batch])
                    return
                for message in batch:
                    self._enqueue(message)
                claimed = len(batch)
                if claimed == room:
                    continue  # there may be more
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.config.poll_interval)

    def _claim(self, limit: int) -> list[OutboxMessage]:
        def work(uow: UnitOfWork) -> list[OutboxMessage]:
            now = uow.clock.now()
            until = now + timedelta(seconds=self.config.lease)
            return uow.outbox.claim(owner=self.name, now=now, lease_until=until, limit=limit)

        return run_in_transaction(self._uow_factory, work)

    def _enqueue(self, message: OutboxMessage) -> None:
        lane = self._lanes.get(message.chat_id)
        if lane is None:
            lane = self._lanes[message.chat_id] = _Lane()
        lane.messages.append(message)
        self._held += 1
        if lane.task is None:
            lane.task = asyncio.create_task(self._run_lane(message.chat_id, lane))

    async def _renewer(self) -> None:
        while self._running:
            await asyncio.sleep(self.config.lease / 3)
            held = [m.id for lane in self._lanes.values() for m in lane.messages]
            if held:
                await self._write("renew", held)

    # --- one chat ---------------------------------------------------------------------------

    async def _run_lane(self, chat_id: int, lane: _Lane) -> None:
        try:
            while lane.messages:
                message = lane.messages[0]
                try:
                    outcome = await self._deliver(message)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("outbox message %s failed unexpectedly", message.key)
                    with contextlib.suppress(Exception):
                        await self._write("release", message.id, 30.0, "internal error", True)
                    outcome = HELD_BACK
                if lane.messages and lane.messages[0] is message:
                    lane.messages.popleft()
                    self._held -= 1
                if outcome is not DONE:
                    rest = [m.id for m in lane.messages]
                    self._held -= len(rest)
                    lane.messages.clear()
                    if outcome is HELD_BACK and rest:
                        # They wait for the message before them (release pushed them back).
                        with contextlib.suppress(Exception):
                            await self._write("unclaim", rest)
        finally:
            if self._lanes.get(chat_id) is lane and not lane.messages:
                del self._lanes[chat_id]
            elif self._lanes.get(chat_id) is lane:
                lane.task = None
            if self._held < self._high_water // 2 and self._wakeup is not None:
                self._wakeup.set()

    async def _deliver(self, message: OutboxMessage) -> str:
        """Send one message from where it stopped: DONE (sent, failed for good or skipped),
        REFUSED (the chat blocked the bot) or HELD_BACK (to try again later)."""
        parts = loads(message.parts)
        if any(isinstance(part, RenderPart) for part in parts):
            parts = await asyncio.to_thread(self._render, parts)
            if not parts:
                await self._write("finish", message.id, "skipped", "nothing left to say")
                return DONE
            await self._write("set_parts", message.id, parts)
        ids = list(message.message_ids)
        chat_id = message.chat_id
        for index in range(message.parts_sent, len(parts)):
            part = parts[index]
            try:
                chat_id, sent = await self._send_part(chat_id, part)
            except Blocked as error:
                await self._write("blocked", self.courier.where(chat_id), error.description)
                return REFUSED
            except RetryAfter as flood:
                logger.info("chat %s is flood-limited for %.0f s", chat_id, flood.seconds)
                await self._write("release", message.id, flood.seconds, "flood control", False)
                return HELD_BACK
            except BadRequest as error:
                logger.error("Telegram refused outbox message %s: %s", message.key, error)
                await self._write("finish", message.id, "failed", error.description)
                return DONE
            except DeliveryError as error:
                return await self._failed(message, error.description or type(error).__name__)
            ids.extend(sent)
            track = part.track if isinstance(part, TextPart) else None
            last = index + 1 == len(parts)
            await self._write("progress", message.id, index + 1, ids, track, chat_id, last)
        if message.parts_sent >= len(parts):  # nothing was left: finished before a crash
            await self._write("finish", message.id, "sent", "")
        self.sent += 1
        return DONE

    async def _failed(self, message: OutboxMessage, error: str) -> str:
        tries = message.attempts + 1
        if tries >= self.config.max_attempts:
            logger.error("outbox message %s given up after %d tries: %s", message.key, tries, error)
            await self._write("finish", message.id, "failed", error)
            return DONE
        delay = backoff(message.attempts, self.config.max_backoff)
        logger.warning("outbox message %s not sent (%s); retry in %.0fs", message.key, error, delay)
        await self._write("release", message.id, delay, error, True)
        return HELD_BACK

    def _render(self, parts: Sequence[Part]) -> list[Part]:
        rendered: list[Part] = []
        with self._reader() as uow:
            for part in parts:
                if isinstance(part, RenderPart):
                    rendered.extend(renderers.render(uow, self.settings, part))
                else:
                    rendered.append(part)
        return rendered

    async def _send_part(self, chat_id: int, part: Part) -> tuple[int, list[int]]:
        if isinstance(part, TextPart):
            return await self.courier.send_text(chat_id, part.html, part.keyboard)
        if isinstance(part, PhotoPart):
            return await self._send_photo(chat_id, part)
        if isinstance(part, DocumentPart):
            data = await self._blob_bytes(part.blob)
            caption = part.caption if len(part.caption) <= MAX_CAPTION_CHARS else ""
            chat_id, message_id = await self.courier.at(
                chat_id, lambda c: self.gateway.send_document(c, data, part.filename, caption)
            )
            ids = [message_id]
            if part.caption and not caption:
                chat_id, more = await self.courier.send_chunks(
                    chat_id, split_message(part.caption), None
                )
                ids += more
            return chat_id, ids
        raise TypeError(f"cannot send {part!r}")

    async def _send_photo(self, chat_id: int, part: PhotoPart) -> tuple[int, list[int]]:
        caption = part.caption if len(part.caption) <= MAX_CAPTION_CHARS else ""
        lock = self._uploading.setdefault(part.blob, asyncio.Lock())
        async with lock:  # the first chat uploads; the others wait and send by file_id
            file_id = self._file_ids.get(part.blob)
            if file_id is None:
                found = await asyncio.to_thread(self._blob, part.blob)
                if found is None:
                    raise BadRequest(f"file {part.blob[:12]} is gone")
                data, file_id = found
                if file_id is None:
                    chat_id, (message_id, file_id) = await self.courier.at(
                        chat_id,
                        lambda c: self.gateway.send_cached_photo(c, data, caption, part.filename),
                    )
                    self._file_ids[part.blob] = file_id
                    await self._write("file_id", part.blob, file_id)
                    return await self._caption_after(chat_id, part, caption, [message_id])
                self._file_ids[part.blob] = file_id
        try:
            chat_id, (message_id, _) = await self.courier.at(
                chat_id, lambda c: self.gateway.send_cached_photo(c, file_id, caption, "")
            )
        except BadRequest:  # the file_id is not valid for this bot (a new token): upload again
            self._file_ids.pop(part.blob, None)
            data = await self._blob_bytes(part.blob)
            chat_id, (message_id, _) = await self.courier.at(
                chat_id, lambda c: self.gateway.send_cached_photo(c, data, caption, part.filename)
            )
        return await self._caption_after(chat_id, part, caption, [message_id])

    async def _caption_after(
        self, chat_id: int, part: PhotoPart, caption: str, ids: list[int]
    ) -> tuple[int, list[int]]:
        """A caption too long for Telegram follows the photo as text."""
        if part.caption and not caption:
            chat_id, more = await self.courier.send_chunks(
                chat_id, split_message(part.caption), None
            )
            ids = ids + more
        return chat_id, ids

    def _blob(self, digest: str) -> tuple[bytes, str | None] | None:
        with self._reader() as uow:
            return uow.outbox.blob(digest)

    async def _blob_bytes(self, digest: str) -> bytes:
        found = await asyncio.to_thread(self._blob, digest)
        if found is None:
            raise BadRequest(f"file {digest[:12]} is gone")
        return found[0]

    async def _moved(self, old_chat_id: int, new_chat_id: int) -> None:
        await self._write("moved", old_chat_id, new_chat_id)

    # --- the writer ---------------------------------------------------------------------------

    async def _write(self, kind: str, *args: Any) -> None:
        """Commit a change (with whatever else is waiting) and return once it is committed."""
        if self._ops is None or self._loop is None or not self._running:
            # One-shot sending (send_due) or stopping: commit it right here.
            op = _Op(kind, args)
            await asyncio.to_thread(run_in_transaction, self._uow_factory, self._apply([op]))
            return
        done: asyncio.Future[None] = self._loop.create_future()
        await self._ops.put(_Op(kind, args, done))
        await done

    async def _writer(self) -> None:
        assert self._ops is not None
        while True:
            ops = [await self._ops.get()]
            while not self._ops.empty():
                ops.append(self._ops.get_nowait())
            try:
                await self._apply_with_retries(ops)
                for op in ops:
                    if op.done is not None and not op.done.done():
                        op.done.set_result(None)
            except Exception as error:
                logger.exception("outbox bookkeeping failed")
                for op in ops:
                    if op.done is not None and not op.done.done():
                        op.done.set_exception(error)
            finally:
                for _ in ops:
                    self._ops.task_done()

    async def _apply_with_retries(self, ops: list[_Op]) -> None:
        for attempt in range(5):
            try:
                await asyncio.to_thread(run_in_transaction, self._uow_factory, self._apply(ops))
                return
            except Exception:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))

    def _apply(self, ops: list[_Op]) -> Callable[[UnitOfWork], None]:
        def work(uow: UnitOfWork) -> None:
            now = uow.clock.now()
            outbox = uow.outbox
            for op in ops:
                kind, args = op.kind, op.args
                if kind == "progress":
                    message_id, parts_sent, ids, track, chat_id, last = args
                    outbox.progress(message_id, self.name, parts_sent, ids)
                    if track and ids:
                        uow.sent_messages.add(track, chat_id, ids[-1], now)
                    if last:
                        outbox.finish(message_id, self.name, "sent", now)
                elif kind == "finish":
                    message_id, status, error = args
                    outbox.finish(message_id, self.name, status, now, error)
                elif kind == "release":
                    message_id, delay, error, failed = args
                    until = now + timedelta(seconds=float(delay))
                    outbox.release(message_id, self.name, until, error, failed=failed)
                elif kind == "release_all":
                    for message_id in args[0]:
                        outbox.release(message_id, self.name, now, "", failed=False)
                elif kind == "unclaim":
                    outbox.renew(args[0], self.name, now)  # a lease that ends now
                elif kind == "renew":
                    until = now + timedelta(seconds=self.config.lease)
                    outbox.renew(args[0], self.name, until)
                elif kind == "set_parts":
                    message_id, parts = args
                    for part in parts:
                        if isinstance(part, PhotoPart) and part.data is not None:
                            outbox.put_blob(part.data, now)
                    outbox.set_parts(message_id, self.name, dumps(parts))
                elif kind == "file_id":
                    outbox.set_file_id(args[0], args[1])
                elif kind == "moved":
                    uow.chat_topics.move_chat(args[0], args[1])
                elif kind == "blocked":
                    refused(uow, args[0], args[1], self.settings)
                else:  # pragma: no cover - a programming error
                    raise ValueError(kind)

        return work


def chat_title(uow: UnitOfWork, chat_id: int) -> str:
    """The name a group was subscribed under (empty when unknown)."""
    from notifications.recipients import LOW_STOCK_TOPIC, SHIPPING_TOPIC

    for topic in (SHIPPING_TOPIC, LOW_STOCK_TOPIC):
        title = uow.chat_topics.titles(topic).get(chat_id)
        if title:
            return title
    subscription = uow.report_subscriptions.get(chat_id)
    return subscription.title if subscription else ""


def refused(uow: UnitOfWork, chat_id: int, description: str, settings: EngineSettings) -> None:
    """403 from a chat: stop writing there, drop what is queued for it, tell the owners."""
    from notifications.recipients import owners

    now = uow.clock.now()
    skipped = uow.outbox.skip_chat(chat_id, now, f"403: {description}"[:200])
    if chat_id > 0:
        user = uow.users.by_telegram_id(chat_id)
        uow.users.set_blocked(chat_id, True)
        logger.info("user %s blocked the bot; %d queued messages skipped", chat_id, skipped)
        if user is None or user.role is Role.CUSTOMER or not user.active:
            return
        what, args = "bot-blocked", {"user": user.id}
    else:
        uow.chat_states.set_inactive(chat_id, description, now)
        logger.warning("the bot cannot write to group %s any more: %s", chat_id, description)
        what, args = "group-gone", {"chat": chat_id, "title": chat_title(uow, chat_id)}
    day = now.date().isoformat()
    for owner in owners(uow):
        if owner.chat_id == chat_id:
            continue
        language = owner.language or settings.default_language
        queue(
            uow,
            f"refused:{chat_id}:{day}:{owner.chat_id}",
            owner.chat_id,
            [RenderPart(what, language, args)],
        )
