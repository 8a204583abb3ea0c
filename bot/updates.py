"""A Telegram update → what the engine understands (or a chat-membership fact), for any framework.

python-telegram-bot and aiogram both model the Bot API's objects with the Bot API's own field
names, so one translation reads either: the protocols below name the fields it uses.

- Messages with text (commands parsed with the bot's username), a shared contact or a
  document become :class:`Incoming`; other messages (stickers, service messages…) are ignored.
- A button press becomes an Incoming from ``callback_query.from_user`` — the presser, never
  the chat — with the pressed message's id.
- Channel posts, messages from bots and anonymous group admins are ignored (edited messages
  are not even asked for).
- ``my_chat_member`` in a private chat says the user blocked (``kicked``) or unblocked the bot.
- A group upgraded to a supergroup (``migrate_to_chat_id``) moves the chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from handlers.incoming import ChatType, DocumentRef, Incoming, parse_command

# --- the Bot API fields read here (both frameworks' classes have them) ------------------------


class TgUser(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def is_bot(self) -> bool: ...
    @property
    def full_name(self) -> str: ...
    @property
    def language_code(self) -> str | None: ...


class TgChat(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def title(self) -> str | None: ...


class TgContact(Protocol):
    @property
    def phone_number(self) -> str: ...
    @property
    def user_id(self) -> int | None: ...


class TgDocument(Protocol):
    @property
    def file_id(self) -> str: ...
    @property
    def file_name(self) -> str | None: ...
    @property
    def mime_type(self) -> str | None: ...
    @property
    def file_size(self) -> int | None: ...


class TgMessage(Protocol):
    @property
    def message_id(self) -> int: ...
    @property
    def chat(self) -> TgChat: ...
    @property
    def from_user(self) -> TgUser | None: ...
    @property
    def text(self) -> str | None: ...
    @property
    def contact(self) -> TgContact | None: ...
    @property
    def document(self) -> TgDocument | None: ...
    @property
    def migrate_to_chat_id(self) -> int | None: ...


class TgPressedMessage(Protocol):
    """The message a button was on (possibly an "inaccessible" one: only chat and id)."""

    @property
    def message_id(self) -> int: ...
    @property
    def chat(self) -> TgChat: ...


class TgCallbackQuery(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def from_user(self) -> TgUser: ...
    @property
    def message(self) -> TgPressedMessage | None: ...
    @property
    def data(self) -> str | None: ...


class TgChatMember(Protocol):
    @property
    def status(self) -> str: ...


class TgChatMemberUpdated(Protocol):
    @property
    def chat(self) -> TgChat: ...
    @property
    def from_user(self) -> TgUser: ...
    @property
    def new_chat_member(self) -> TgChatMember: ...


class TgUpdate(Protocol):
    @property
    def update_id(self) -> int: ...
    @property
    def message(self) -> TgMessage | None: ...
    @property
    def callback_query(self) -> TgCallbackQuery | None: ...
    @property
    def my_chat_member(self) -> TgChatMemberUpdated | None: ...


# --- what an update means ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberChange:
    """The user blocked the bot (``blocked``) or started it again."""

    user_id: int
    blocked: bool


@dataclass(frozen=True, slots=True)
class ChatMoved:
    old_chat_id: int
    new_chat_id: int


Event = Incoming | MemberChange | ChatMoved

_CHAT_TYPES = {
    "private": ChatType.PRIVATE,
    "group": ChatType.GROUP,
    "supergroup": ChatType.SUPERGROUP,
}


def translate(update: TgUpdate, bot_username: str) -> Event | None:
    """The event in ``update``, or None when there is nothing for the bot to do."""
    if update.callback_query is not None:
        return _press(update.update_id, update.callback_query)
    if update.message is not None:
        return _message(update.update_id, update.message, bot_username)
    member = update.my_chat_member
    if member is not None and member.chat.type == "private":
        status = member.new_chat_member.status
        if status == "kicked":
            return MemberChange(member.from_user.id, blocked=True)
        if status == "member":
            return MemberChange(member.from_user.id, blocked=False)
    return None


def _base(update_id: int, chat: TgChat, user: TgUser) -> dict[str, object] | None:
    chat_type = _CHAT_TYPES.get(str(chat.type))
    if chat_type is None or user.is_bot:
        return None
    return {
        "update_id": update_id,
        "chat_id": chat.id,
        "chat_type": chat_type,
        "user_id": user.id,
        "user_name": user.full_name,
        "language_code": user.language_code,
        "chat_title": chat.title or "",
    }


def _press(update_id: int, query: TgCallbackQuery) -> Incoming | None:
    message = query.message
    if message is None or query.data is None:  # inline-mode or game buttons: not ours
        return None
    base = _base(update_id, message.chat, query.from_user)
    if base is None:
        return None
    return Incoming(
        **base,  # type: ignore[arg-type]
        callback_data=query.data,
        callback_id=query.id,
        message_id=message.message_id,
    )


def _message(update_id: int, message: TgMessage, bot_username: str) -> Event | None:
    if message.migrate_to_chat_id:
        return ChatMoved(message.chat.id, message.migrate_to_chat_id)
    user = message.from_user
    if user is None:  # channel posts, anonymous group admins
        return None
    base = _base(update_id, message.chat, user)
    if base is None:
        return None
    if message.text is not None:
        text = message.text
        command = parse_command(text, bot_username) if text.startswith("/") else None
        return Incoming(
            **base,  # type: ignore[arg-type]
            text=text,
            command=command[0] if command else None,
            args=command[1] if command else "",
        )
    if message.contact is not None:
        return Incoming(
            **base,  # type: ignore[arg-type]
            contact_phone=message.contact.phone_number,
            contact_user_id=message.contact.user_id,
        )
    if message.document is not None:
        document = message.document
        return Incoming(
            **base,  # type: ignore[arg-type]
            document=DocumentRef(
                file_id=document.file_id,
                file_name=document.file_name or "",
                mime_type=document.mime_type or "",
                size=document.file_size or 0,
            ),
        )
    return None
