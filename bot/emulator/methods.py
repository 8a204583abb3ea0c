"""The Bot API methods, implemented against :class:`EmulatorState`.

Each method takes the calling bot and its :class:`Params` and returns the ``result`` (or a
:class:`MethodResult` when Telegram adds a ``description`` to a success), or raises
:class:`ApiError` worded like Telegram. Transport (HTTP or in-process) is someone else's job.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp

from bot.emulator import errors
from bot.emulator.errors import ApiError, bad_request, group_upgraded, too_many_requests
from bot.emulator.flood import FloodControl, FloodLimits
from bot.emulator.formatting import FormattedText, format_text
from bot.emulator.html import check_url
from bot.emulator.media import (
    MAX_DOWNLOAD_SIZE,
    MAX_UPLOAD_SIZE,
    StoredFile,
    extension,
    guess_mime_type,
    image_size,
    new_file_ids,
    photo_sides,
)
from bot.emulator.params import Params, Upload
from bot.emulator.state import (
    DEFAULT_ALLOWED_UPDATES,
    JSON,
    ApiCall,
    BotAccount,
    BotActivity,
    Chat,
    Conversation,
    EmulatorEvent,
    EmulatorState,
    StoredMessage,
    Webhook,
)

if TYPE_CHECKING:
    from bot.emulator.webhook import WebhookDelivery

log = logging.getLogger("bot.emulator")

#: Methods that send a new message: what flood control and ``inject_429`` apply to.
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LANGUAGE = re.compile(r"[a-z]{2}")
MAX_GET_UPDATES_LIMIT = 100


@dataclass
class MethodResult:
    """A successful result, with the ``description`` Telegram sometimes adds."""

    value: Any
    description: str | None = None


@dataclass
class Injection:
    """A failure to return for the next ``remaining`` calls of ``methods`` (None: any)."""

    error: ApiError
    remaining: int
    methods: frozenset[str] | None = None
    bot_id: int | None = None

    def matches(self, bot: BotAccount, method: str) -> bool:
        return (
            self.remaining > 0
            and (self.methods is None or method in self.methods)
            and (self.bot_id is None or self.bot_id == bot.id)
        )


Handler = Callable[[BotAccount, Params], Awaitable[Any]]


class BotApi:
    """Dispatches Bot API calls to the method implementations and logs every call."""

    def __init__(
        self,
        state: EmulatorState,
        *,
        callback_answer_timeout: float = 15.0,
        max_poll_timeout: float = 50.0,
    ) -> None:
        self.state = state
        self.callback_answer_timeout = callback_answer_timeout
        self.max_poll_timeout = max_poll_timeout
        self.flood: FloodControl | None = None
        self.injections: list[Injection] = []
        self.webhooks: WebhookDelivery | None = None
        handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "logOut": self.log_out,
            "close": self.close,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "sendChatAction": self.send_chat_action,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.answer_callback_query,
            "getFile": self.get_file,
            "getChat": self.get_chat,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
        }
        # Telegram matches method names case-insensitively.
        self._handlers = {name.lower(): (name, handler) for name, handler in handlers.items()}

    # dispatch ----------------------------------------------------------------------------------

    def method_names(self) -> list[str]:
        return sorted(name for name, _ in self._handlers.values())

    async def call(self, bot: BotAccount, method: str, params: Params) -> MethodResult:
        """Run one method; record it in ``state.calls``; raise :class:`ApiError` on failure."""
        name, handler = self._handlers.get(method.lower(), (method, None))
        call = ApiCall(
            bot=bot.username, method=name, params=params.loggable(), ok=False, at=self.state.now()
        )
        try:
            if handler is None:
                raise ApiError(404, errors.NOT_FOUND)
            self._raise_injected(bot, name)
            outcome = await handler(bot, params)
        except ApiError as error:
            call.error_code, call.description = error.error_code, error.description
            self.state.record_call(call)
            log.debug("emulator %s %s -> %s", bot.username, name, error.error_code)
            raise
        result = outcome if isinstance(outcome, MethodResult) else MethodResult(outcome)
        call.ok, call.result = True, result.value
        self.state.record_call(call)
        log.debug("emulator %s %s -> ok", bot.username, name)
        return result

    def _raise_injected(self, bot: BotAccount, method: str) -> None:
        for injection in self.injections:
            if injection.matches(bot, method):
                injection.remaining -= 1
                self.injections = [i for i in self.injections if i.remaining > 0]
                raise ApiError(
                    injection.error.error_code,
                    injection.error.description,
                    dict(injection.error.parameters),
                )

    def set_flood_limits(self, limits: FloodLimits | None) -> None:
        self.flood = FloodControl(limits, self.state.now) if limits else None

    def inject(
        self,
        error: ApiError,
        count: int = 1,
        methods: frozenset[str] | None = SEND_METHODS,
        bot: BotAccount | None = None,
    ) -> None:
        self.injections.append(Injection(error, count, methods, bot.id if bot else None))

    def inject_429(self, count: int = 1, retry_after: int = 1, **kwargs: Any) -> None:
        self.inject(too_many_requests(retry_after), count, **kwargs)

    # chats ------------------------------------------------------------------------------------

    def find_chat(self, chat_ref: int | str | None) -> Chat:
        """The chat a parameter names, without any permission checks."""
        state = self.state
        chat: Chat | None
        if isinstance(chat_ref, str):
            chat = state.chat_by_username(chat_ref)
        else:
            chat = state.chats.get(chat_ref) if chat_ref is not None else None
            if chat is None and chat_ref in state.users:
                user = state.users[chat_ref]
                chat = Chat(
                    user.id,
                    "private",
                    first_name=user.first_name,
                    last_name=user.last_name,
                    username=user.username,
                )
        if chat is None:
            raise ApiError(400, errors.CHAT_NOT_FOUND)
        return chat

    def target_chat(self, bot: BotAccount, chat_ref: int | str | None) -> Chat:
        """The chat a bot acts in, with Telegram's refusals (migrated, blocked, kicked…)."""
        if isinstance(chat_ref, int) and any(b.id == chat_ref for b in self.state.bots.values()):
            raise ApiError(403, "Forbidden: bot can't send messages to bots")
        chat = self.find_chat(chat_ref)
        if chat.migrated_to is not None:
            raise group_upgraded(chat.migrated_to)
        if chat.type == "private":
            if chat.id in bot.blocked_by:
                raise ApiError(403, errors.BLOCKED)
            if chat.id not in bot.started:
                raise ApiError(403, errors.CANT_INITIATE)
        elif bot.id not in chat.members:
            kicked = errors.KICKED_SUPERGROUP if chat.type == "supergroup" else errors.KICKED_GROUP
            raise ApiError(403, kicked)
        return chat

    def _lookup_user(self, user_id: int) -> JSON | None:
        return self.state.user_json(user_id)

    # markup -----------------------------------------------------------------------------------

    def parse_markup(self, params: Params, *, inline_only: bool = False) -> JSON | None:
        """Validate and normalise ``reply_markup`` (None when absent)."""
        raw = params.json_value("reply_markup", error=errors.CANT_PARSE_MARKUP)
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise ApiError(400, errors.CANT_PARSE_MARKUP)
        if "inline_keyboard" in raw:
            return {"inline_keyboard": _inline_keyboard(raw["inline_keyboard"])}
        if inline_only:
            raise bad_request("inline keyboard expected")
        if "keyboard" in raw:
            return {**raw, "keyboard": _reply_keyboard(raw["keyboard"])}
        if raw.get("remove_keyboard") is True or raw.get("force_reply") is True:
            return dict(raw)
        raise ApiError(400, errors.CANT_PARSE_MARKUP)

    # getMe, close, logOut ----------------------------------------------------------------------

    async def get_me(self, bot: BotAccount, params: Params) -> JSON:
        return {
            **bot.user.to_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": not bot.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def log_out(self, bot: BotAccount, params: Params) -> bool:
        return True

    async def close(self, bot: BotAccount, params: Params) -> bool:
        return True

    # updates ----------------------------------------------------------------------------------

    async def get_updates(self, bot: BotAccount, params: Params) -> list[JSON]:
        """Long polling: confirm by offset, then wait up to ``timeout`` for an update."""
        if bot.webhook is not None:
            raise ApiError(409, errors.CONFLICT_WEBHOOK)
        offset = params.integer("offset")
        limit = params.integer("limit") or MAX_GET_UPDATES_LIMIT
        limit = max(1, min(limit, MAX_GET_UPDATES_LIMIT))
        timeout = max(0.0, min(params.number("timeout") or 0.0, self.max_poll_timeout))
        allowed = params.json_value("allowed_updates")
        if isinstance(allowed, list):
            bot.allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES
        bot.poll_generation += 1
        generation = bot.poll_generation
        _confirm(bot, offset)
        self.state.changed()  # an earlier poll ends with 409; waiters see this poll

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if bot.poll_generation != generation:
                raise ApiError(409, errors.CONFLICT_OTHER_POLL)
            if bot.webhook is not None:
                raise ApiError(409, errors.CONFLICT_WEBHOOK)
            ready = bot.pending[:limit]
            if ready:
                for pending in ready:
                    pending.returned = True
                return [pending.payload for pending in ready]
            remaining = deadline - loop.time()
            if remaining <= 0 or self.state.closing:
                return []
            await self.state.wait_changed(remaining)

    async def set_webhook(self, bot: BotAccount, params: Params) -> MethodResult:
        url = params.string("url") or ""
        if not url:
            return await self.delete_webhook(bot, params)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if not parts.hostname:
            raise ApiError(400, errors.WEBHOOK_URL_INVALID)
        secret = params.string("secret_token")
        if secret is not None and not _SECRET.fullmatch(secret):
            raise ApiError(400, errors.SECRET_TOKEN_INVALID)
        allowed = params.json_value("allowed_updates")
        if isinstance(allowed, list):
            bot.allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES
        if params.flag("drop_pending_updates"):
            bot.pending.clear()
        previous = bot.webhook
        bot.webhook = Webhook(
            url=url,
            secret_token=secret,
            max_connections=params.integer("max_connections") or 40,
            ip_address=params.string("ip_address"),
        )
        if self.webhooks is not None:
            self.webhooks.ensure(bot)
        self.state.changed()
        same = previous is not None and previous.url == url and previous.secret_token == secret
        return MethodResult(True, "Webhook is already set" if same else "Webhook was set")

    async def delete_webhook(self, bot: BotAccount, params: Params) -> MethodResult:
        if params.flag("drop_pending_updates"):
            bot.pending.clear()
        had = bot.webhook is not None
        bot.webhook = None
        if self.webhooks is not None:
            self.webhooks.stop(bot)
        self.state.changed()
        return MethodResult(True, "Webhook was deleted" if had else "Webhook is already deleted")

    async def get_webhook_info(self, bot: BotAccount, params: Params) -> JSON:
        hook = bot.webhook
        info: JSON = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(bot.pending),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.ip_address:
                info["ip_address"] = hook.ip_address
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
            if bot.allowed_updates != DEFAULT_ALLOWED_UPDATES:
                info["allowed_updates"] = sorted(bot.allowed_updates)
        return info

    # sending ----------------------------------------------------------------------------------

    async def send_message(self, bot: BotAccount, params: Params) -> JSON:
        chat = self.target_chat(bot, params.chat_id())
        formatted = format_text(
            params.string("text"),
            params.string("parse_mode"),
            params.json_value("entities"),
            user_lookup=self._lookup_user,
        )
        content: JSON = {"text": formatted.text}
        if formatted.entities:
            content["entities"] = formatted.entities
        return self._send(bot, chat, params, content, formatted)

    async def send_photo(self, bot: BotAccount, params: Params) -> JSON:
        chat = self.target_chat(bot, params.chat_id())
        caption = self._caption(params)
        sizes = await self._photo(params)
        content: JSON = {"photo": [size.to_photo_size() for size in sizes]}
        _add_caption(content, caption)
        return self._send(bot, chat, params, content, caption)

    async def send_document(self, bot: BotAccount, params: Params) -> JSON:
        chat = self.target_chat(bot, params.chat_id())
        caption = self._caption(params)
        document = await self._document(params)
        content: JSON = {"document": document.to_document()}
        _add_caption(content, caption)
        return self._send(bot, chat, params, content, caption)

    def _caption(self, params: Params) -> FormattedText:
        return format_text(
            params.string("caption"),
            params.string("parse_mode"),
            params.json_value("caption_entities"),
            caption=True,
            user_lookup=self._lookup_user,
        )

    def _send(
        self,
        bot: BotAccount,
        chat: Chat,
        params: Params,
        content: JSON,
        formatted: FormattedText,
    ) -> JSON:
        markup = self.parse_markup(params)
        conversation = self.state.conversation(bot, chat.id)
        reply_to = self._reply_target(conversation, params)
        if self.flood is not None:
            self.flood.check(bot.id, chat.id, chat.is_group)
        record = self.store_message(
            bot,
            chat,
            bot.user.to_api(),
            content,
            from_bot=True,
            reply_to=reply_to,
            markup=markup,
            source=formatted.source,
            parse_mode=formatted.parse_mode,
        )
        return record.snapshot()

    def _reply_target(self, conversation: Conversation, params: Params) -> StoredMessage | None:
        reply = params.json_value("reply_parameters")
        if isinstance(reply, dict) and reply.get("message_id") is not None:
            message_id = int(reply["message_id"])
            allow = bool(reply.get("allow_sending_without_reply"))
        else:
            message_id = params.integer("reply_to_message_id") or 0
            allow = params.flag("allow_sending_without_reply")
        if not message_id:
            return None
        target = conversation.messages.get(message_id)
        if target is None or target.deleted:
            if allow:
                return None
            raise ApiError(400, errors.REPLY_NOT_FOUND)
        return target

    def store_message(
        self,
        bot: BotAccount,
        chat: Chat,
        sender: JSON,
        content: JSON,
        *,
        from_bot: bool,
        reply_to: StoredMessage | None = None,
        markup: JSON | None = None,
        source: str | None = None,
        parse_mode: str | None = None,
    ) -> StoredMessage:
        """Append a message to a chat (bot's or user's) and tell subscribers."""
        conversation = self.state.conversation(bot, chat.id)
        message_id = conversation.allocate_id()
        payload: JSON = {
            "message_id": message_id,
            "from": sender,
            "chat": chat.to_api(),
            "date": self.state.unix_time(),
        }
        if reply_to is not None:
            replied = reply_to.snapshot()
            replied.pop("reply_to_message", None)
            payload["reply_to_message"] = replied
        payload.update(content)
        if markup is not None and "inline_keyboard" in markup:
            payload["reply_markup"] = markup
        record = StoredMessage(
            bot.id, chat.id, message_id, from_bot, payload, source, parse_mode, markup
        )
        conversation.messages[message_id] = record
        if from_bot:
            _track_reply_keyboard(conversation, markup)
            conversation.activity.append(BotActivity("sent", message_id, record.snapshot()))
        self.state.emit(EmulatorEvent("message", bot.username, chat.id, record.snapshot(), record))
        return record

    # files ------------------------------------------------------------------------------------

    async def _input_file(self, params: Params, name: str) -> Upload | StoredFile:
        value = params.file(name)
        if value is None:
            raise bad_request(f"there is no {name} in the request")
        if isinstance(value, Upload):
            upload = value
        elif value.startswith(("http://", "https://")):
            upload = await _fetch(value)
        else:
            stored = self.state.files.get(value)
            if stored is None:
                raise ApiError(400, errors.WRONG_FILE_ID)
            if stored.kind != name:
                raise bad_request(f"can't use file of type {stored.kind.title()} as {name.title()}")
            return stored
        if not upload.data:
            raise bad_request("file must be non-empty")
        if len(upload.data) > MAX_UPLOAD_SIZE:
            raise ApiError(413, errors.TOO_LARGE)
        return upload

    async def _photo(self, params: Params) -> list[StoredFile]:
        source = await self._input_file(params, "photo")
        state = self.state
        if isinstance(source, StoredFile):
            return [state.files[file_id] for file_id in state.photo_groups[source.file_id]]
        size = image_size(source.data)
        if size is None:
            raise ApiError(400, errors.IMAGE_PROCESS_FAILED)
        width, height = size
        if width + height > 10000 or max(width, height) > 20 * max(1, min(width, height)):
            raise ApiError(400, errors.PHOTO_INVALID_DIMENSIONS)
        ext = "png" if source.data.startswith(b"\x89PNG") else "jpg"
        group: list[StoredFile] = []
        for side_width, side_height in photo_sides(width, height):
            file_id, unique_id = new_file_ids("photo")
            path = f"photos/file_{state.next_file_number()}.{ext}"
            group.append(
                state.add_file(
                    StoredFile(
                        file_id,
                        unique_id,
                        "photo",
                        source.data,
                        path,
                        width=side_width,
                        height=side_height,
                    )
                )
            )
        ids = [stored.file_id for stored in group]
        for file_id in ids:
            state.photo_groups[file_id] = ids
        return group

    async def _document(self, params: Params) -> StoredFile:
        source = await self._input_file(params, "document")
        if isinstance(source, StoredFile):
            return source
        name = source.filename
        mime = guess_mime_type(name, source.content_type)
        file_id, unique_id = new_file_ids("document")
        state = self.state
        path = f"documents/file_{state.next_file_number()}.{extension(name, mime, 'bin')}"
        return state.add_file(
            StoredFile(file_id, unique_id, "document", source.data, path, name, mime)
        )

    async def get_file(self, bot: BotAccount, params: Params) -> JSON:
        file_id = params.string("file_id", required=True) or ""
        stored = self.state.files.get(file_id)
        if stored is None:
            raise ApiError(400, errors.FILE_UNAVAILABLE)
        if stored.file_size > MAX_DOWNLOAD_SIZE:
            raise ApiError(400, errors.FILE_TOO_BIG)
        return stored.to_file()

    # editing and deleting ---------------------------------------------------------------------

    def _own_message(self, bot: BotAccount, params: Params) -> tuple[Chat, StoredMessage]:
        if params.string("inline_message_id"):
            raise ApiError(400, errors.INLINE_MESSAGE_UNSUPPORTED)
        chat = self.target_chat(bot, params.chat_id())
        message_id = params.integer("message_id", required=True)
        record = self.state.conversation(bot, chat.id).messages.get(message_id or 0)
        if record is None or record.deleted:
            raise ApiError(400, errors.EDIT_NOT_FOUND)
        if not record.from_bot:
            raise ApiError(400, errors.CANT_BE_EDITED)
        return chat, record

    def _apply_edit(
        self,
        bot: BotAccount,
        record: StoredMessage,
        changes: JSON,
        markup: JSON | None,
        formatted: FormattedText | None,
    ) -> JSON:
        before = record.payload
        after = {**before, **changes}
        for key in ("entities", "caption_entities", "caption"):
            if key in changes and not changes[key]:
                after.pop(key)
        if markup is None:
            after.pop("reply_markup", None)
        else:
            after["reply_markup"] = markup
        if _content(after) == _content(before):
            raise ApiError(400, errors.NOT_MODIFIED)
        record.history.append(record.snapshot())
        after["edit_date"] = max(self.state.unix_time(), int(before["date"]))
        record.payload = after
        record.markup = markup
        if formatted is not None:
            record.source, record.parse_mode = formatted.source, formatted.parse_mode
        conversation = self.state.conversation(bot, record.chat_id)
        conversation.activity.append(BotActivity("edited", record.message_id, record.snapshot()))
        self.state.emit(
            EmulatorEvent("edited", bot.username, record.chat_id, record.snapshot(), record)
        )
        return record.snapshot()

    async def edit_message_text(self, bot: BotAccount, params: Params) -> JSON:
        _, record = self._own_message(bot, params)
        if "text" not in record.payload:
            raise ApiError(400, errors.NO_TEXT_TO_EDIT)
        formatted = format_text(
            params.string("text"),
            params.string("parse_mode"),
            params.json_value("entities"),
            user_lookup=self._lookup_user,
        )
        markup = self.parse_markup(params, inline_only=True)
        changes = {"text": formatted.text, "entities": formatted.entities}
        return self._apply_edit(bot, record, changes, markup, formatted)

    async def edit_message_caption(self, bot: BotAccount, params: Params) -> JSON:
        _, record = self._own_message(bot, params)
        if "text" in record.payload:
            raise ApiError(400, errors.NO_CAPTION_TO_EDIT)
        formatted = self._caption(params)
        markup = self.parse_markup(params, inline_only=True)
        changes = {"caption": formatted.text, "caption_entities": formatted.entities}
        return self._apply_edit(bot, record, changes, markup, formatted)

    async def edit_message_reply_markup(self, bot: BotAccount, params: Params) -> JSON:
        _, record = self._own_message(bot, params)
        markup = self.parse_markup(params, inline_only=True)
        return self._apply_edit(bot, record, {}, markup, None)

    async def delete_message(self, bot: BotAccount, params: Params) -> bool:
        chat = self.target_chat(bot, params.chat_id())
        message_id = params.integer("message_id", required=True)
        record = self.state.conversation(bot, chat.id).messages.get(message_id or 0)
        if record is None or record.deleted:
            raise ApiError(400, errors.DELETE_NOT_FOUND)
        if not record.from_bot and chat.is_group and bot.id not in chat.admins:
            raise ApiError(400, errors.CANT_BE_DELETED)
        record.deleted = True
        conversation = self.state.conversation(bot, chat.id)
        conversation.activity.append(BotActivity("deleted", record.message_id, record.snapshot()))
        self.state.emit(EmulatorEvent("deleted", bot.username, chat.id, record.snapshot(), record))
        return True

    # callback queries, chat actions, chats ------------------------------------------------------

    async def answer_callback_query(self, bot: BotAccount, params: Params) -> bool:
        query_id = params.string("callback_query_id", required=True) or ""
        query = self.state.callback_queries.get(query_id)
        if (
            query is None
            or query.bot_id != bot.id
            or query.answer is not None
            or self.state.now() - query.created_at > self.callback_answer_timeout
        ):
            raise ApiError(400, errors.QUERY_TOO_OLD)
        text = params.string("text")
        if text is not None and len(text) > 200:
            raise ApiError(400, errors.ANSWER_TEXT_TOO_LONG)
        query.answer = {
            "text": text,
            "show_alert": params.flag("show_alert"),
            "url": params.string("url"),
            "cache_time": params.integer("cache_time") or 0,
        }
        self.state.emit(
            EmulatorEvent(
                "callback_answer",
                bot.username,
                query.chat_id,
                data={
                    "callback_query_id": query.id,
                    "message_id": query.message_id,
                    **query.answer,
                },
            )
        )
        return True

    async def send_chat_action(self, bot: BotAccount, params: Params) -> bool:
        chat = self.target_chat(bot, params.chat_id())
        action = params.string("action", required=True)
        if action not in CHAT_ACTIONS:
            raise ApiError(400, errors.WRONG_ACTION)
        self.state.conversation(bot, chat.id).chat_action = action
        self.state.emit(
            EmulatorEvent("chat_action", bot.username, chat.id, data={"action": action})
        )
        return True

    async def get_chat(self, bot: BotAccount, params: Params) -> JSON:
        chat = self.find_chat(params.chat_id())
        return {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    # commands ---------------------------------------------------------------------------------

    def _command_key(self, params: Params) -> tuple[str, str]:
        scope = params.json_value("scope") or {"type": "default"}
        if not isinstance(scope, dict):
            raise ApiError(400, errors.SCOPE_INVALID)
        kind = scope.get("type")
        if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            key = str(kind)
        elif kind in ("chat", "chat_administrators", "chat_member"):
            chat_ref = Params(scope).chat_id()
            chat = self.find_chat(chat_ref)
            key = f"{kind}:{chat.id}"
            if kind == "chat_member":
                key += f":{Params(scope).integer('user_id', required=True)}"
        else:
            raise ApiError(400, errors.SCOPE_INVALID)
        language = params.string("language_code") or ""
        if language and not _LANGUAGE.fullmatch(language):
            raise bad_request("invalid language code specified")
        return key, language

    async def set_my_commands(self, bot: BotAccount, params: Params) -> bool:
        commands = params.json_value("commands")
        if not isinstance(commands, list):
            raise bad_request("commands is empty")
        if len(commands) > 100:
            raise ApiError(400, errors.COMMANDS_TOO_MUCH)
        cleaned = []
        for item in commands:
            if not isinstance(item, dict):
                raise ApiError(400, errors.COMMAND_INVALID)
            command = str(item.get("command", ""))
            description = str(item.get("description", "")).strip()
            if not _COMMAND.fullmatch(command):
                raise ApiError(400, errors.COMMAND_INVALID)
            if not 1 <= len(description) <= 256:
                raise ApiError(400, errors.COMMAND_DESCRIPTION_INVALID)
            cleaned.append({"command": command, "description": description})
        key = self._command_key(params)
        if cleaned:
            bot.commands[key] = cleaned
        else:
            bot.commands.pop(key, None)
        return True

    async def get_my_commands(self, bot: BotAccount, params: Params) -> list[JSON]:
        return [dict(c) for c in bot.commands.get(self._command_key(params), [])]

    async def delete_my_commands(self, bot: BotAccount, params: Params) -> bool:
        bot.commands.pop(self._command_key(params), None)
        return True


# helpers --------------------------------------------------------------------------------------


def _confirm(bot: BotAccount, offset: int | None) -> None:
    """Forget the updates an offset confirms (Telegram: all with update_id < offset).

    An update put back by ``redeliver`` is only confirmed after it has been returned again,
    so a running poller whose offset is already past it still receives it.
    """
    if offset is None or offset == 0:
        return
    if offset < 0:
        bot.pending = bot.pending[offset:]
        return
    bot.pending = [p for p in bot.pending if p.update_id >= offset or not p.returned]


def _inline_keyboard(rows: Any) -> list[list[JSON]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, errors.CANT_PARSE_MARKUP)
    result: list[list[JSON]] = []
    count = 0
    for row in rows:
        buttons: list[JSON] = []
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise ApiError(
                    400, errors.CANT_PARSE_BUTTON + 'Field "text" must be of type String'
                )
            actions = [key for key in INLINE_BUTTON_ACTIONS if button.get(key) is not None]
            if not actions:
                raise ApiError(
                    400,
                    errors.CANT_PARSE_BUTTON + "Text buttons are unallowed in the inline keyboard",
                )
            action = actions[0]
            value = button[action]
            if action == "callback_data" and (
                not isinstance(value, str) or not 1 <= len(value.encode("utf-8")) <= 64
            ):
                raise ApiError(400, errors.BUTTON_DATA_INVALID)
            if action == "url" and (not isinstance(value, str) or check_url(value) is None):
                raise bad_request("BUTTON_URL_INVALID")
            clean: JSON = {"text": button["text"], action: value}
            if button.get("style") is not None:
                clean["style"] = button["style"]
            buttons.append(clean)
            count += 1
        result.append(buttons)
    if count > 100:
        raise bad_request("REPLY_MARKUP_TOO_LONG")
    return result


def _reply_keyboard(rows: Any) -> list[list[JSON]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, errors.CANT_PARSE_MARKUP)
    result: list[list[JSON]] = []
    for row in rows:
        buttons: list[JSON] = []
        for button in row:
            if isinstance(button, str):
                button = {"text": button}
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request(
                    'can\'t parse keyboard button: Field "text" must be of type String'
                )
            buttons.append(dict(button))
        result.append(buttons)
    return result


def _track_reply_keyboard(conversation: Conversation, markup: JSON | None) -> None:
    if markup is None:
        return
    if "keyboard" in markup:
        conversation.reply_keyboard = markup
    elif markup.get("remove_keyboard"):
        conversation.reply_keyboard = None


def _add_caption(content: JSON, caption: FormattedText) -> None:
    if caption.text:
        content["caption"] = caption.text
        if caption.entities:
            content["caption_entities"] = caption.entities


def _content(payload: JSON) -> tuple[Any, ...]:
    """What "message is not modified" compares."""
    return (
        payload.get("text"),
        payload.get("entities") or [],
        payload.get("caption"),
        payload.get("caption_entities") or [],
        payload.get("reply_markup"),
    )


async def _fetch(url: str) -> Upload:
    """Download a file a send method names by URL (as Telegram would)."""
    try:
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
            if response.status != 200:
                raise ApiError(400, errors.URL_CONTENT_FAILED)
            data = await response.read()
            content_type = response.headers.get("Content-Type", "").split(";")[0] or None
    except (aiohttp.ClientError, TimeoutError, ValueError):
        raise ApiError(400, errors.URL_CONTENT_FAILED) from None
    name = urlsplit(url).path.rsplit("/", 1)[-1] or None
    return Upload(data, name, content_type)
