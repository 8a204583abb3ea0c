"""python-telegram-bot ``Update`` → what the engine understands (or a chat-membership fact).

- Messages with text (commands parsed with the bot's username), a shared contact or a
  document become :class:`Incoming`; other messages (stickers, service messages…) are ignored.
- A button press becomes an Incoming from ``callback_query.from_user`` — the presser, never
  the chat — with the pressed message's id.
- Edited messages, channel posts and messages from bots are ignored.
- ``my_chat_member`` in a private chat says the user blocked (``kicked``) or unblocked the bot.
- A group upgraded to a supergroup (``migrate_to_chat_id``) moves the chat.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Chat, Message, Update
from telegram import User as TgUser

from handlers.incoming import ChatType, DocumentRef, Incoming, parse_command


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
    Chat.PRIVATE: ChatType.PRIVATE,
    Chat.GROUP: ChatType.GROUP,
    Chat.SUPERGROUP: ChatType.SUPERGROUP,
}


def translate(update: Update, bot_username: str) -> Event | None:
    """The event in ``update``, or None when there is nothing for the bot to do."""
    if update.callback_query is not None:
        return _press(update)
    if update.message is not None:
        return _message(update.update_id, update.message, bot_username)
    member = update.my_chat_member
    if member is not None and member.chat.type == Chat.PRIVATE:
        status = member.new_chat_member.status
        if status == "kicked":
            return MemberChange(member.from_user.id, blocked=True)
        if status == "member":
            return MemberChange(member.from_user.id, blocked=False)
    return None


def _base(update_id: int, chat: Chat, user: TgUser) -> dict[str, object] | None:
    chat_type = _CHAT_TYPES.get(chat.type)
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


def _press(update: Update) -> Incoming | None:
    query = update.callback_query
    assert query is not None
    message = query.message
    if message is None or query.data is None:  # inline-mode or game buttons: not ours
        return None
    base = _base(update.update_id, message.chat, query.from_user)
    if base is None:
        return None
    return Incoming(
        **base,  # type: ignore[arg-type]
        callback_data=query.data,
        callback_id=query.id,
        message_id=message.message_id,
    )


def _message(update_id: int, message: Message, bot_username: str) -> Event | None:
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
