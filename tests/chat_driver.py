"""A recording chat for flow tests: drives the engine like a transport, without Telegram.

It numbers the bot's messages per chat, applies edits in place, records tracked cards with the
engine, and lets a test type, press buttons by their label, and read what each chat shows.
"""

from __future__ import annotations

import itertools
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
        replies = self.engine.handle(incoming)
        for reply in replies:
            self._apply(incoming.chat_id, reply)
        return replies

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
