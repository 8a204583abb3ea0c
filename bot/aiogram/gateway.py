"""notifications.delivery's BotGateway on an aiogram ``Bot``.

Keyboards become aiogram markup here, and aiogram's exceptions become the framework-neutral
errors delivery understands; everything goes out in HTML parse mode without link previews.
aiogram has no flood control of its own: delivery's retry on 429 applies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TypeVar

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.types import ForceReply as AiogramForceReply

from bot.logging_setup import redact
from handlers.replies import ForceReply, InlineKeyboard, Keyboard, RemoveKeyboard, ReplyKeyboard
from notifications import delivery as nd

T = TypeVar("T")

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | AiogramForceReply
Scope = (
    BotCommandScopeChat
    | BotCommandScopeDefault
    | BotCommandScopeAllPrivateChats
    | BotCommandScopeAllGroupChats
)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def markup(keyboard: Keyboard | None) -> Markup | None:
    """aiogram reply markup for one of our keyboards."""
    if keyboard is None:
        return None
    if isinstance(keyboard, InlineKeyboard):
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text=button.text, callback_data=button.data)
                    for button in row
                ]
                for row in keyboard.rows
            ]
        )
    if isinstance(keyboard, ReplyKeyboard):
        rows: list[list[KeyboardButton]] = [
            [KeyboardButton(text=key) for key in row] for row in keyboard.rows if row
        ]
        if keyboard.contact:
            rows.append([KeyboardButton(text=keyboard.contact, request_contact=True)])
        return ReplyKeyboardMarkup(
            keyboard=rows, resize_keyboard=True, one_time_keyboard=keyboard.one_time
        )
    if isinstance(keyboard, RemoveKeyboard):
        return ReplyKeyboardRemove()
    if isinstance(keyboard, ForceReply):
        return AiogramForceReply(input_field_placeholder=keyboard.placeholder[:64] or None)
    raise TypeError(f"unknown keyboard {keyboard!r}")


def scope_of(scope: nd.MenuScope, chat_id: int | None) -> Scope:
    if scope == "chat":
        if chat_id is None:
            raise ValueError("a chat menu needs chat_id")
        return BotCommandScopeChat(chat_id=chat_id)
    if scope == "all_private_chats":
        return BotCommandScopeAllPrivateChats()
    if scope == "all_group_chats":
        return BotCommandScopeAllGroupChats()
    return BotCommandScopeDefault()


def translate(error: TelegramAPIError) -> nd.DeliveryError:
    """The neutral error for an aiogram exception (its text is redacted: a network error's
    text comes from the HTTP client and could name the URL, which holds the token)."""
    text = redact(error.message)
    if isinstance(error, TelegramRetryAfter):
        return nd.RetryAfter(float(error.retry_after), text)
    if isinstance(error, TelegramMigrateToChat):
        return nd.ChatMigrated(int(error.migrate_to_chat_id), text)
    if isinstance(error, TelegramForbiddenError):
        return nd.Blocked(text)
    if isinstance(error, TelegramBadRequest):
        return nd.bad_request(text)
    if isinstance(error, TelegramNetworkError | TelegramServerError):  # timeouts included
        return nd.Unavailable(text)
    return nd.DeliveryError(text)


async def _call(call: Awaitable[T]) -> T:
    try:
        return await call
    except TelegramAPIError as error:
        raise translate(error) from None


class AiogramGateway:
    """BotGateway for aiogram."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send_text(self, chat_id: int, html: str, keyboard: Keyboard | None) -> int:
        message = await _call(
            self.bot.send_message(
                chat_id=chat_id,
                text=html,
                parse_mode=ParseMode.HTML,
                reply_markup=markup(keyboard),
                link_preview_options=NO_PREVIEW,
            )
        )
        return message.message_id

    async def edit_text(
        self, chat_id: int, message_id: int, html: str, keyboard: InlineKeyboard | None
    ) -> None:
        inline = markup(keyboard)
        assert inline is None or isinstance(inline, InlineKeyboardMarkup)
        await _call(
            self.bot.edit_message_text(
                text=html,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=inline,
                link_preview_options=NO_PREVIEW,
            )
        )

    async def send_photo(self, chat_id: int, png: bytes, caption: str, filename: str) -> int:
        message = await _call(
            self.bot.send_photo(
                chat_id=chat_id,
                photo=BufferedInputFile(png, filename=filename),
                caption=caption or None,
                parse_mode=ParseMode.HTML,
            )
        )
        return message.message_id

    async def send_cached_photo(
        self, chat_id: int, photo: bytes | str, caption: str, filename: str
    ) -> tuple[int, str]:
        upload = photo if isinstance(photo, str) else BufferedInputFile(photo, filename=filename)
        message = await _call(
            self.bot.send_photo(
                chat_id=chat_id, photo=upload, caption=caption or None, parse_mode=ParseMode.HTML
            )
        )
        sizes = message.photo
        file_id = sizes[-1].file_id if sizes else (photo if isinstance(photo, str) else "")
        return message.message_id, file_id

    async def send_document(self, chat_id: int, data: bytes, filename: str, caption: str) -> int:
        message = await _call(
            self.bot.send_document(
                chat_id=chat_id,
                document=BufferedInputFile(data, filename=filename),
                caption=caption or None,
                parse_mode=ParseMode.HTML,
            )
        )
        return message.message_id

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None:
        await _call(
            self.bot.answer_callback_query(
                callback_query_id=callback_id, text=text or None, show_alert=alert
            )
        )

    async def set_commands(
        self,
        commands: Sequence[tuple[str, str]],
        *,
        scope: nd.MenuScope,
        chat_id: int | None = None,
        language: str | None = None,
    ) -> None:
        target = scope_of(scope, chat_id)
        if commands:
            await _call(
                self.bot.set_my_commands(
                    commands=[
                        BotCommand(command=name, description=description)
                        for name, description in commands
                    ],
                    scope=target,
                    language_code=language,
                )
            )
        else:
            await _call(self.bot.delete_my_commands(scope=target, language_code=language))
