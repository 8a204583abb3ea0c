"""notifications.delivery's BotGateway on a python-telegram-bot ``Bot``.

PTB's exceptions become the framework-neutral errors delivery understands; everything goes out
in HTML parse mode without link previews.

The calls made for every update (send, edit, answer a press: bot/json_calls.py, shared with
aiogram) go through PTB's
``Bot.do_api_request``: the same request, the same answer checks and errors, but the answer
stays JSON. Building PTB's ``Message`` from each answer (which we only need the id of) cost
about as much CPU as the HTTP request itself.
"""

from __future__ import annotations

import datetime as dtm
import warnings
from collections.abc import Awaitable, Sequence
from typing import TypeVar

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InputFile,
)
from telegram import error as tg
from telegram.constants import ParseMode
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from bot.json_calls import JSON, JsonCalls
from notifications import delivery as nd

T = TypeVar("T")


def quiet_api_request_warnings() -> None:
    """do_api_request asks to use the typed method instead; skipping its Message is our point."""
    warnings.filterwarnings(
        "ignore",
        message=r"Please use 'Bot\.(sendMessage|editMessageText|answerCallbackQuery)'",
        category=PTBUserWarning,
    )


def _seconds(error: tg.RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB warns that retry_after becomes a timedelta in v23
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def translate(error: tg.TelegramError) -> nd.DeliveryError:
    """The neutral error for a PTB exception (PTB messages never contain the token)."""
    text = error.message
    if isinstance(error, tg.RetryAfter):
        return nd.RetryAfter(_seconds(error), text)
    if isinstance(error, tg.ChatMigrated):
        return nd.ChatMigrated(int(error.new_chat_id), text)
    if isinstance(error, tg.Forbidden):
        return nd.Blocked(text)
    if isinstance(error, tg.BadRequest):
        return nd.bad_request(text)
    if isinstance(error, tg.NetworkError):  # includes TimedOut
        return nd.Unavailable(text)
    return nd.DeliveryError(text)


async def _call(call: Awaitable[T]) -> T:
    try:
        return await call
    except tg.TelegramError as error:
        raise translate(error) from None


class PtbGateway(JsonCalls):
    """BotGateway for python-telegram-bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def _api(self, method: str, **params: object) -> JSON:
        """A Bot API call whose answer is used as JSON: PTB checks the answer and raises its
        errors as usual, but builds no Message object (most of the cost of a send)."""
        api_kwargs = {name: value for name, value in params.items() if value is not None}
        result = await _call(self.bot.do_api_request(method, api_kwargs=api_kwargs))
        return result if isinstance(result, dict) else {}

    async def send_photo(self, chat_id: int, png: bytes, caption: str, filename: str) -> int:
        message = await _call(
            self.bot.send_photo(
                chat_id,
                InputFile(png, filename=filename),
                caption=caption or None,
                parse_mode=ParseMode.HTML,
            )
        )
        return message.message_id

    async def send_cached_photo(
        self, chat_id: int, photo: bytes | str, caption: str, filename: str
    ) -> tuple[int, str]:
        upload = photo if isinstance(photo, str) else InputFile(photo, filename=filename)
        message = await _call(
            self.bot.send_photo(chat_id, upload, caption=caption or None, parse_mode=ParseMode.HTML)
        )
        sizes = message.photo
        file_id = sizes[-1].file_id if sizes else (photo if isinstance(photo, str) else "")
        return message.message_id, file_id

    async def send_document(self, chat_id: int, data: bytes, filename: str, caption: str) -> int:
        message = await _call(
            self.bot.send_document(
                chat_id,
                InputFile(data, filename=filename),
                caption=caption or None,
                parse_mode=ParseMode.HTML,
            )
        )
        return message.message_id

    async def set_commands(
        self,
        commands: Sequence[tuple[str, str]],
        *,
        scope: nd.MenuScope,
        chat_id: int | None = None,
        language: str | None = None,
    ) -> None:
        if scope == "chat":
            if chat_id is None:
                raise ValueError("a chat menu needs chat_id")
            ptb_scope: (
                BotCommandScopeChat
                | BotCommandScopeDefault
                | BotCommandScopeAllPrivateChats
                | BotCommandScopeAllGroupChats
            ) = BotCommandScopeChat(chat_id)
        elif scope == "all_private_chats":
            ptb_scope = BotCommandScopeAllPrivateChats()
        elif scope == "all_group_chats":
            ptb_scope = BotCommandScopeAllGroupChats()
        else:
            ptb_scope = BotCommandScopeDefault()
        if commands:
            await _call(
                self.bot.set_my_commands(
                    [BotCommand(name, description) for name, description in commands],
                    scope=ptb_scope,
                    language_code=language,
                )
            )
        else:
            await _call(self.bot.delete_my_commands(scope=ptb_scope, language_code=language))
