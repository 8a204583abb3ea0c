"""notifications.delivery's BotGateway on an aiogram ``Bot``.

aiogram's exceptions (and the Bot API's refusals) become the framework-neutral errors delivery
understands; everything goes out in HTML parse mode without link previews. aiogram has no flood
control of its own: delivery's retry on 429 applies.

The calls made for every update (send, edit, answer a press: bot/json_calls.py, shared with
PTB) go out as JSON on aiogram's own aiohttp session and their answers stay JSON: aiogram
would send each as multipart form data and build pydantic objects for the method and for the
Message it returns (which we only need the id of), together about a third of the bot's CPU per
update. Everything else uses aiogram's typed methods.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Sequence
from http import HTTPStatus
from typing import TypeVar

import aiohttp
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
)

from bot.json_calls import JSON, JsonCalls
from bot.logging_setup import redact
from notifications import delivery as nd

T = TypeVar("T")

Scope = (
    BotCommandScopeChat
    | BotCommandScopeDefault
    | BotCommandScopeAllPrivateChats
    | BotCommandScopeAllGroupChats
)


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


def refusal(status: int, answer: JSON) -> nd.DeliveryError:
    """The neutral error for a Bot API answer that is not ok (as aiogram would classify it)."""
    text = redact(str(answer.get("description") or f"HTTP {status}"))
    parameters = answer.get("parameters") or {}
    if parameters.get("retry_after"):
        return nd.RetryAfter(float(parameters["retry_after"]), text)
    if parameters.get("migrate_to_chat_id"):
        return nd.ChatMigrated(int(parameters["migrate_to_chat_id"]), text)
    if status == HTTPStatus.FORBIDDEN:
        return nd.Blocked(text)
    if status == HTTPStatus.BAD_REQUEST:
        return nd.bad_request(text)
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return nd.Unavailable(text)
    return nd.DeliveryError(text)


async def _call(call: Awaitable[T]) -> T:
    try:
        return await call
    except TelegramAPIError as error:
        raise translate(error) from None


class AiogramGateway(JsonCalls):
    """BotGateway for aiogram."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def _api(self, method: str, **params: object) -> JSON:
        """A Bot API call as JSON on aiogram's session (its server, timeout and connection
        pool), the answer checked as aiogram checks it and kept as JSON."""
        payload = {name: value for name, value in params.items() if value is not None}
        session = self.bot.session
        url = session.api.api_url(token=self.bot.token, method=method)
        try:
            client = await session.create_session()
            async with client.post(
                url, json=payload, timeout=aiohttp.ClientTimeout(total=float(session.timeout))
            ) as response:
                status, body = response.status, await response.read()
        except TimeoutError:
            raise nd.Unavailable("Request timeout error") from None
        except aiohttp.ClientError as error:  # its text may hold the URL, and so the token
            raise nd.Unavailable(redact(f"{type(error).__name__}: {error}")) from None
        try:
            answer = json.loads(body)
        except ValueError:
            raise refusal(status, {}) from None
        if not isinstance(answer, dict):
            raise refusal(status, {})
        if HTTPStatus.OK <= status <= HTTPStatus.IM_USED and answer.get("ok"):
            result = answer.get("result")
            return result if isinstance(result, dict) else {}
        raise refusal(status, answer)

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
