"""A recording chat for flow tests: drives the engine like a transport, without Telegram.

It numbers the bot's messages per chat, applies edits in place, records tracked cards with the
engine, and lets a test type, press buttons by their label, and read what each chat shows.
Messages the system sends on its own (the outbox) are delivered after every update by the
real outbox sender, through a gateway that records into the same chats.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from handlers.engine import ConversationEngine
from handlers.incoming import ChatType, Incoming, parse_command
from handlers.replies import (
    CommandMenu,
    EditText,
    InlineKeyboard,
    Keyboard,
    Reply,
    ReplyKeyboard,
    SendDocument,
    SendPhoto,
    SendText,
    Toast,
)
from notifications.sender import OutboxSender


@dataclass(frozen=True, slots=True)
class Person:
    telegram_id: int
    name: str
    language: str = "en"


@dataclass(slots=True)
class Shown:
    """A bot message as the chat shows it now (edits applied)."""

    message_id: int
    chat_id: int
    text: str
    keyboard: Keyboard | None = None
    photo: bytes | None = None
    document: bytes | None = None
    edits: int = 0

    def buttons(self) -> list[str]:
        if isinstance(self.keyboard, InlineKeyboard):
            return [button.text for row in self.keyboard.rows for button in row]
        if isinstance(self.keyboard, ReplyKeyboard):
            keys = [key for row in self.keyboard.rows for key in row]
            return keys + ([self.keyboard.contact] if self.keyboard.contact else [])
        return []


@dataclass(slots=True)
class ChatDriver:
    engine: ConversationEngine
    sender: OutboxSender | None = None  # delivers the outbox after each update (if given)
    group_ids: set[int] = field(default_factory=set)
    chats: dict[int, list[Shown]] = field(default_factory=dict)
    toasts: list[Toast] = field(default_factory=list)
    menus: list[CommandMenu] = field(default_factory=list)
    last_update: dict[int, Incoming] = field(default_factory=dict)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _message_ids: dict[int, itertools.count[int]] = field(default_factory=dict)

    # --- acting as a person --------------------------------------------------------------

    def send(self, person: Person, text: str, *, chat: int | None = None) -> list[Reply]:
        """Type ``text`` (a command or not) in the private chat, or in group ``chat``."""
        command = (
            parse_command(text, self.engine.settings.bot_username) if text.startswith("/") else None
        )
        return self._deliver(
            self._incoming(
                person,
                chat,
                text=text,
                command=command[0] if command else None,
                args=command[1] if command else "",
            )
        )

    def share_contact(self, person: Person, phone: str, *, chat: int | None = None) -> list[Reply]:
        return self._deliver(
            self._incoming(person, chat, contact_phone=phone, contact_user_id=person.telegram_id)
        )

    def press(
        self, person: Person, label: str, *, chat: int | None = None, message: Shown | None = None
    ) -> list[Reply]:
        """Press the button whose label contains ``label`` on ``message`` (default: the newest
        bot message in the chat that has such a button)."""
        chat_id = person.telegram_id if chat is None else chat
        target = message or self._newest_with_button(chat_id, label)
        assert isinstance(target.keyboard, InlineKeyboard), f"no inline keyboard on {target.text!r}"
        data = next(b.data for row in target.keyboard.rows for b in row if label in b.text)
        return self.press_data(person, data, message_id=target.message_id, chat=chat)

    def press_data(
        self, person: Person, data: str, *, message_id: int, chat: int | None = None
    ) -> list[Reply]:
        """Press a button with raw callback data (also forged data, in tests)."""
        return self._deliver(
            self._incoming(
                person,
                chat,
                callback_data=data,
                callback_id=f"cb{next(self._update_ids)}",
                message_id=message_id,
            )
        )

    def redeliver(self, person: Person) -> list[Reply]:
        """Deliver ``person``'s last update again, with the same update id."""
        return self._deliver(self.last_update[person.telegram_id])

    # --- reading what chats show -----------------------------------------------------------

    def messages(self, chat_id: int) -> list[Shown]:
        return self.chats.get(chat_id, [])

    def last(self, chat_id: int) -> Shown:
        shown = self.messages(chat_id)
        assert shown, f"the bot has not written in chat {chat_id}"
        return shown[-1]

    def texts(self, chat_id: int) -> list[str]:
        return [m.text for m in self.messages(chat_id)]

    # --- the transport part ----------------------------------------------------------------

    def _incoming(self, person: Person, chat: int | None, **fields: object) -> Incoming:
        chat_id = person.telegram_id if chat is None else chat
        return Incoming(
            update_id=next(self._update_ids),
            chat_id=chat_id,
            chat_type=ChatType.GROUP
            if chat_id in self.group_ids or chat_id < 0
            else ChatType.PRIVATE,
            user_id=person.telegram_id,
            user_name=person.name,
            language_code=person.language,
            **fields,  # type: ignore[arg-type]
        )

    def _deliver(self, incoming: Incoming) -> list[Reply]:
        self.last_update[incoming.user_id] = incoming
        # What a test set up through the use cases was announced before anyone typed.
        self.send_outbox()
        replies = self.engine.handle(incoming)
        for reply in replies:
            self._apply(incoming.chat_id, reply)
        self.send_outbox()
        return replies

    def send_outbox(self) -> int:
        """Let the outbox sender deliver what is due (after an update, or a job in a test)."""
        if self.sender is None:
            return 0
        return asyncio.run(self.sender.send_due())

    def shown(self, chat_id: int) -> Shown:
        """A new message in ``chat_id`` (the outbox sender's side of this chat)."""
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        message = Shown(message_id=next(counter), chat_id=chat_id, text="")
        self.chats.setdefault(chat_id, []).append(message)
        return message

    def _apply(self, origin: int, reply: Reply) -> None:
        if isinstance(reply, Toast):
            self.toasts.append(reply)
        elif isinstance(reply, CommandMenu):
            self.menus.append(reply)
        elif isinstance(reply, SendText | SendPhoto | SendDocument):
            chat_id = origin if reply.chat_id is None else reply.chat_id
            counter = self._message_ids.setdefault(chat_id, itertools.count(1))
            shown = Shown(message_id=next(counter), chat_id=chat_id, text="")
            if isinstance(reply, SendText):
                shown.text, shown.keyboard = reply.text, reply.keyboard
                if reply.track:
                    self.engine.record_sent(reply.track, chat_id, shown.message_id)
            elif isinstance(reply, SendPhoto):
                shown.text, shown.photo = reply.caption, reply.data
            else:
                shown.text, shown.document = reply.caption, reply.data
            self.chats.setdefault(chat_id, []).append(shown)
        elif isinstance(reply, EditText):
            chat_id = origin if reply.chat_id is None else reply.chat_id
            for shown in self.messages(chat_id):
                if shown.message_id == reply.message_id:
                    shown.text, shown.keyboard = reply.text, reply.keyboard
                    shown.edits += 1
                    return
            raise AssertionError(f"edit of unknown message {reply.message_id} in chat {chat_id}")

    def _newest_with_button(self, chat_id: int, label: str) -> Shown:
        for shown in reversed(self.messages(chat_id)):
            if label in " | ".join(shown.buttons()):
                return shown
        raise AssertionError(f"no message in chat {chat_id} has a button {label!r}")


class RecordingGateway:
    """The BotGateway of the recording chat: what the outbox sender sends lands in ``driver``."""

    def __init__(self, driver: ChatDriver) -> None:
        self.driver = driver
        self.files: dict[str, bytes] = {}
        self.uploads = 0

    async def send_text(self, chat_id: int, html: str, keyboard: Keyboard | None) -> int:
        shown = self.driver.shown(chat_id)
        shown.text, shown.keyboard = html, keyboard
        return shown.message_id

    async def edit_text(
        self, chat_id: int, message_id: int, html: str, keyboard: InlineKeyboard | None
    ) -> None:
        self.driver._apply(chat_id, EditText(message_id, html, keyboard, chat_id=chat_id))

    async def send_photo(self, chat_id: int, png: bytes, caption: str, filename: str) -> int:
        message_id, _ = await self.send_cached_photo(chat_id, png, caption, filename)
        return message_id

    async def send_cached_photo(
        self, chat_id: int, photo: bytes | str, caption: str, filename: str
    ) -> tuple[int, str]:
        if isinstance(photo, bytes):
            self.uploads += 1
            file_id = f"file{len(self.files) + 1}"
            self.files[file_id] = photo
        else:
            file_id = photo
        shown = self.driver.shown(chat_id)
        shown.text, shown.photo = caption, self.files[file_id]
        return shown.message_id, file_id

    async def send_document(self, chat_id: int, data: bytes, filename: str, caption: str) -> int:
        shown = self.driver.shown(chat_id)
        shown.text, shown.document = caption, data
        return shown.message_id

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None:
        self.driver.toasts.append(Toast(text, alert))

    async def set_commands(
        self,
        commands: Sequence[tuple[str, str]],
        *,
        scope: str,
        chat_id: int | None = None,
        language: str | None = None,
    ) -> None:
        return None
