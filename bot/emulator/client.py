"""The user side of the emulator: people typing, tapping buttons and reading what the bot sent.

Tests and the sandbox page drive the emulator through :class:`EmulatorClient` in-process (no
HTTP needed); the same state serves the Bot API over HTTP while ``BotApiEmulator`` runs, so a
real bot and a scripted user meet in the middle.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from bot.emulator.entities import detect_entities
from bot.emulator.errors import ApiError
from bot.emulator.flood import FloodLimits
from bot.emulator.formatting import format_text
from bot.emulator.media import (
    StoredFile,
    extension,
    guess_mime_type,
    image_size,
    new_file_ids,
    photo_sides,
)
from bot.emulator.methods import SEND_METHODS, BotApi
from bot.emulator.params import Params
from bot.emulator.state import (
    JSON,
    ApiCall,
    BotAccount,
    CallbackQueryRecord,
    Chat,
    Clock,
    EmulatorEvent,
    EmulatorState,
    StoredMessage,
    Subscriber,
    User,
)
from bot.emulator.webhook import WebhookDelivery

UserRef = User | int
ChatRef = Chat | User | int | None
BotRef = BotAccount | str | None
MessageRef = JSON | StoredMessage | int


class EmulatorError(Exception):
    """A test or sandbox asked for something a real user could not do."""


class EmulatorTimeout(TimeoutError):
    """Waiting for the bot took too long; the message says what was seen meanwhile."""


class EmulatorClient:
    """Users, chats and bots in one emulated Telegram, driven from Python.

    ``clock`` gives Unix time for message dates, callback-query age and flood control (tests
    may pass a fake); waiting always uses the event loop's own clock.
    """

    def __init__(
        self,
        *,
        clock: Clock = time.time,
        callback_answer_timeout: float = 15.0,
        max_poll_timeout: float = 50.0,
        webhook_retry_delays: Sequence[float] = (0.05, 0.2, 0.5),
    ) -> None:
        self.state = EmulatorState(clock)
        self.api = BotApi(
            self.state,
            callback_answer_timeout=callback_answer_timeout,
            max_poll_timeout=max_poll_timeout,
        )
        self.webhooks = WebhookDelivery(self.state, self.api, retry_delays=webhook_retry_delays)
        self.api.webhooks = self.webhooks
        self._query_ids = itertools.count(secrets.randbelow(10**12) * 1000)

    # setup ------------------------------------------------------------------------------------

    def add_bot(
        self,
        token: str,
        username: str = "chaterp_bot",
        first_name: str = "chaterp",
        *,
        privacy_mode: bool = True,
    ) -> BotAccount:
        """Register a bot token. The bot's user id is the number before the colon."""
        head = token.split(":", 1)[0]
        bot_id = int(head) if head.isdigit() else 7_000_000_000 + len(self.state.bots) + 1
        user = User(bot_id, first_name, username=username, is_bot=True)
        account = BotAccount(token, user, privacy_mode=privacy_mode)
        self.state.bots[token] = account
        return account

    def user(
        self,
        id: int,
        first_name: str = "User",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        *,
        is_premium: bool = False,
    ) -> User:
        """Create a user, or return the existing one with these details updated."""
        if id <= 0:
            raise EmulatorError("user ids are positive")
        user = User(id, first_name, last_name, username, language_code, is_premium=is_premium)
        self.state.users[id] = user
        chat = self.state.chats.get(id)
        if chat is not None:
            chat.first_name, chat.last_name, chat.username = first_name, last_name, username
        return user

    def group(
        self,
        id: int,
        title: str,
        members: Iterable[UserRef] = (),
        *,
        kind: Literal["group", "supergroup"] = "group",
        username: str | None = None,
        admins: Iterable[UserRef] = (),
        bots: Iterable[BotRef] | None = None,
        bot_is_admin: bool = False,
    ) -> Chat:
        """A group (negative id) or supergroup (-100… id) with its members and admins.

        Every registered bot is a member unless ``bots`` names them.
        """
        if id >= 0 or (kind == "supergroup" and not str(id).startswith("-100")):
            raise EmulatorError("group ids are negative; supergroup ids start with -100")
        accounts = (
            [self._bot(b) for b in bots] if bots is not None else list(self.state.bots.values())
        )
        chat = Chat(id, kind, title=title, username=username)
        chat.members = {self._user(m).id for m in members} | {b.id for b in accounts}
        chat.admins = {self._user(a).id for a in admins}
        if bot_is_admin:
            chat.admins |= {b.id for b in accounts}
        self.state.chats[id] = chat
        return chat

    # reading ----------------------------------------------------------------------------------

    @property
    def calls(self) -> list[ApiCall]:
        """Every Bot API call so far (method, params without the token, result or error)."""
        return self.state.calls

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.state.calls if call.method.lower() == method.lower()]

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` on every new/edited/deleted message, toast and chat action.

        Returns a function that unsubscribes. Async callbacks are scheduled as tasks.
        """
        return self.state.subscribe(callback)

    def records(self, chat: ChatRef, *, bot: BotRef = None) -> list[StoredMessage]:
        """Every message of a chat in order, deleted ones included, with edit history."""
        conversation = self.state.conversation(self._bot(bot), self._chat_id(chat))
        return list(conversation.messages.values())

    def messages(self, chat: ChatRef, *, bot: BotRef = None) -> list[JSON]:
        """The chat as a user sees it now: messages in order, edits applied, deletions gone."""
        return [r.snapshot() for r in self.records(chat, bot=bot) if not r.deleted]

    def last_bot_message(self, chat: ChatRef, *, bot: BotRef = None) -> JSON | None:
        for record in reversed(self.records(chat, bot=bot)):
            if record.from_bot and not record.deleted:
                return record.snapshot()
        return None

    def reply_keyboard(self, chat: ChatRef, *, bot: BotRef = None) -> JSON | None:
        """The reply keyboard (``ReplyKeyboardMarkup``) the user currently sees, if any."""
        conversation = self.state.conversation(self._bot(bot), self._chat_id(chat))
        return conversation.reply_keyboard

    @staticmethod
    def buttons(message: JSON | StoredMessage) -> list[list[tuple[str, str | None]]]:
        """The inline keyboard as rows of ``(text, callback_data or None)``."""
        payload = message.payload if isinstance(message, StoredMessage) else message
        rows = (payload.get("reply_markup") or {}).get("inline_keyboard") or []
        return [[(b["text"], b.get("callback_data")) for b in row] for row in rows]

    def find_button(self, message: JSON | StoredMessage, text: str) -> tuple[str, str | None]:
        """The first button whose text contains ``text`` (case-insensitive; exact wins)."""
        flat = [button for row in self.buttons(message) for button in row]
        wanted = text.casefold()
        exact = [b for b in flat if b[0].casefold() == wanted]
        partial = [b for b in flat if wanted in b[0].casefold()]
        if exact or partial:
            return (exact or partial)[0]
        raise LookupError(f"no button containing {text!r}; buttons: {[b[0] for b in flat]}")

    def callback_answer(self, query_id: str) -> JSON | None:
        """What answerCallbackQuery said for a press (None until answered)."""
        query = self.state.callback_queries.get(query_id)
        return query.answer if query else None

    def pending_updates(self, *, bot: BotRef = None) -> list[JSON]:
        """Updates queued for the bot and not yet confirmed."""
        return [p.payload for p in self._bot(bot).pending]

    def file(self, file_id: str) -> StoredFile:
        return self.state.files[file_id]

    def commands_for(
        self, user: UserRef, chat: ChatRef = None, *, bot: BotRef = None
    ) -> list[JSON]:
        """The command menu ``user`` sees in ``chat``, resolved with Telegram's scope order."""
        account, person = self._bot(bot), self._user(user)
        chat_id = self._chat_id(chat, person)
        language = (person.language_code or "")[:2]
        room = self.state.chats.get(chat_id)
        if room is None or room.type == "private":
            scopes = [f"chat:{chat_id}", "all_private_chats", "default"]
        else:
            admin = person.id in room.admins
            scopes = [
                f"chat_member:{chat_id}:{person.id}",
                *([f"chat_administrators:{chat_id}"] if admin else []),
                f"chat:{chat_id}",
                *(["all_chat_administrators"] if admin else []),
                "all_group_chats",
                "default",
            ]
        for scope in scopes:
            for lang in (language, ""):
                if (scope, lang) in account.commands:
                    return [dict(c) for c in account.commands[(scope, lang)]]
        return []

    # waiting ----------------------------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every change) and return it."""
        try:
            return await self.state.wait_until(predicate, timeout)
        except TimeoutError:
            raise EmulatorTimeout(f"condition not met within {timeout} s") from None

    async def wait_for_bot_messages(
        self, chat: ChatRef, count: int = 1, timeout: float = 5.0, *, bot: BotRef = None
    ) -> list[JSON]:
        """Wait until the bot has sent or edited ``count`` messages the user has not yet read.

        Returns all of them (each as it looked right after that send/edit) and marks them read.
        """
        account = self._bot(bot)
        conversation = self.state.conversation(account, self._chat_id(chat))

        def unread() -> list[JSON]:
            return [
                a.message
                for a in conversation.activity[conversation.read_cursor :]
                if a.kind in ("sent", "edited")
            ]

        try:
            await self.state.wait_until(lambda: len(unread()) >= count, timeout)
        except TimeoutError:
            failures = [c for c in self.state.calls[-20:] if not c.ok and c.method != "getUpdates"]
            raise EmulatorTimeout(
                f"bot sent/edited {len(unread())} of {count} expected message(s) in chat "
                f"{conversation.chat_id} within {timeout} s; recent failed calls: "
                + "; ".join(f"{c.method} {c.error_code} {c.description}" for c in failures)
            ) from None
        messages = unread()
        conversation.read_cursor = len(conversation.activity)
        return messages

    def mark_read(self, chat: ChatRef, *, bot: BotRef = None) -> None:
        """Treat everything the bot did in ``chat`` so far as seen."""
        conversation = self.state.conversation(self._bot(bot), self._chat_id(chat))
        conversation.read_cursor = len(conversation.activity)

    async def wait_for_callback_answer(self, query_id: str, timeout: float = 5.0) -> JSON:
        try:
            answer: JSON = await self.state.wait_until(
                lambda: self.callback_answer(query_id), timeout
            )
        except TimeoutError:
            raise EmulatorTimeout(
                f"callback query {query_id} not answered in {timeout} s"
            ) from None
        return answer

    # user actions -----------------------------------------------------------------------------

    async def send_text(
        self,
        user: UserRef,
        text: str,
        chat: ChatRef = None,
        *,
        reply_to: MessageRef | None = None,
        bot: BotRef = None,
    ) -> JSON:
        """``user`` types ``text`` (None chat: the private chat with the bot).

        Commands, mentions and links get their entities as in Telegram. Returns the Message.
        """
        try:
            formatted = format_text(text)
        except ApiError as error:
            raise EmulatorError(error.description) from None
        content: JSON = {"text": formatted.text}
        if formatted.entities:
            content["entities"] = formatted.entities
        return self._user_message(user, chat, content, bot=bot, reply_to=reply_to)

    async def share_contact(
        self,
        user: UserRef,
        phone: str,
        first_name: str | None = None,
        last_name: str | None = None,
        *,
        contact_user_id: int | None = -1,
        chat: ChatRef = None,
        bot: BotRef = None,
    ) -> JSON:
        """``user`` shares a contact; by default their own (as a request_contact button does)."""
        person = self._user(user)
        contact: JSON = {"phone_number": phone, "first_name": first_name or person.first_name}
        surname = last_name if first_name else (last_name or person.last_name)
        if surname:
            contact["last_name"] = surname
        owner = person.id if contact_user_id == -1 else contact_user_id
        if owner is not None:
            contact["user_id"] = owner
        return self._user_message(person, chat, {"contact": contact}, bot=bot)

    async def send_document(
        self,
        user: UserRef,
        filename: str,
        data: bytes,
        mime_type: str | None = None,
        *,
        caption: str | None = None,
        chat: ChatRef = None,
        bot: BotRef = None,
    ) -> JSON:
        """``user`` uploads a file; the bot can getFile and download it."""
        mime = guess_mime_type(filename, mime_type)
        file_id, unique_id = new_file_ids("document")
        number = self.state.next_file_number()
        path = f"documents/file_{number}.{extension(filename, mime, 'bin')}"
        stored = self.state.add_file(
            StoredFile(file_id, unique_id, "document", data, path, filename, mime)
        )
        content: JSON = {"document": stored.to_document()}
        self._add_user_caption(content, caption)
        return self._user_message(user, chat, content, bot=bot)

    async def send_photo(
        self,
        user: UserRef,
        data: bytes,
        *,
        caption: str | None = None,
        chat: ChatRef = None,
        bot: BotRef = None,
    ) -> JSON:
        """``user`` sends a photo (PNG/JPEG/GIF/WebP bytes)."""
        size = image_size(data)
        if size is None:
            raise EmulatorError("not an image Telegram would accept as a photo")
        ext = "png" if data.startswith(b"\x89PNG") else "jpg"
        sizes = []
        for width, height in photo_sides(*size):
            file_id, unique_id = new_file_ids("photo")
            path = f"photos/file_{self.state.next_file_number()}.{ext}"
            sizes.append(
                self.state.add_file(
                    StoredFile(file_id, unique_id, "photo", data, path, width=width, height=height)
                )
            )
        ids = [s.file_id for s in sizes]
        for file_id in ids:
            self.state.photo_groups[file_id] = ids
        content: JSON = {"photo": [s.to_photo_size() for s in sizes]}
        self._add_user_caption(content, caption)
        return self._user_message(user, chat, content, bot=bot)

    async def edit_text(
        self,
        user: UserRef,
        message: MessageRef,
        text: str,
        chat: ChatRef = None,
        *,
        bot: BotRef = None,
    ) -> JSON:
        """``user`` edits one of their own text messages (the bot gets ``edited_message``)."""
        account, person = self._bot(bot), self._user(user)
        record = self._record(account, message, chat, person)
        if record.sender_id != person.id or "text" not in record.payload:
            raise EmulatorError("users can only edit their own text messages")
        record.history.append(record.snapshot())
        formatted = format_text(text)
        record.payload["text"] = formatted.text
        record.payload.pop("entities", None)
        if formatted.entities:
            record.payload["entities"] = formatted.entities
        record.payload["edit_date"] = self.state.unix_time()
        chat = self.state.chats[record.chat_id]
        self.state.emit(
            EmulatorEvent("edited", account.username, chat.id, record.snapshot(), record)
        )
        if self._bot_sees(account, chat, record.payload):
            self.state.enqueue_update(account, "edited_message", record.snapshot())
        return record.snapshot()

    async def press(
        self,
        user: UserRef,
        message: MessageRef,
        callback_data: str,
        chat: ChatRef = None,
        *,
        bot: BotRef = None,
        forge: bool = False,
    ) -> str:
        """``user`` taps the inline button carrying ``callback_data``; returns the query id.

        The button must be on the message unless ``forge=True`` (a modified client sending
        arbitrary data, which Telegram lets through).
        """
        account, person = self._bot(bot), self._user(user)
        record = self._record(account, message, chat, person)
        if record.deleted or not record.from_bot:
            raise EmulatorError("only buttons on the bot's existing messages can be pressed")
        if record.chat_id in account.blocked_by:
            raise EmulatorError("the user has blocked the bot")
        room = self.state.chats.get(record.chat_id)
        if room is not None and room.is_group and person.id not in room.members:
            raise EmulatorError(f"user {person.id} is not a member of {room.id}")
        if not forge and callback_data not in {
            data for row in self.buttons(record) for _, data in row if data is not None
        }:
            raise EmulatorError(
                f"message {record.message_id} has no button with callback_data "
                f"{callback_data!r}; buttons: {self.buttons(record)}"
            )
        query_id = str(next(self._query_ids))
        self.state.callback_queries[query_id] = CallbackQueryRecord(
            query_id,
            account.id,
            person.id,
            record.chat_id,
            record.message_id,
            callback_data,
            self.state.now(),
        )
        query = {
            "id": query_id,
            "from": person.to_api(),
            "message": record.snapshot(),
            "chat_instance": str((account.id * 1_000_003 + record.chat_id) & 0x7FFFFFFFFFFFFFFF),
            "data": callback_data,
        }
        self.state.enqueue_update(account, "callback_query", query)
        return query_id

    async def tap(
        self,
        user: UserRef,
        message: MessageRef,
        label: str,
        chat: ChatRef = None,
        *,
        bot: BotRef = None,
    ) -> str:
        """Press the button whose text contains ``label``; returns the query id."""
        account = self._bot(bot)
        record = self._record(account, message, chat, self._user(user))
        text, data = self.find_button(record, label)
        if data is None:
            raise EmulatorError(f"button {text!r} is not a callback button")
        return await self.press(user, record, data, bot=account)

    async def join(self, group: Chat | int, user: UserRef, *, bot: BotRef = None) -> JSON:
        """``user`` joins a group (a ``new_chat_members`` service message)."""
        chat = self._group(group)
        person = self._user(user)
        chat.members.add(person.id)
        return self._user_message(
            person, chat, {"new_chat_members": [person.to_api()]}, bot=bot, service=True
        )

    # test controls ----------------------------------------------------------------------------

    def redeliver(self, update_id: int, *, bot: BotRef = None) -> None:
        """Queue an already-delivered update again with the SAME update_id."""
        account = self._bot(bot)
        if update_id not in account.all_updates:
            raise EmulatorError(f"no update {update_id} was ever queued")
        self.state.requeue_update(account, update_id)

    def block(self, user: UserRef, *, bot: BotRef = None) -> None:
        """The user blocks the bot: sends to them fail with 403 from now on."""
        account, person = self._bot(bot), self._user(user)
        account.blocked_by.add(person.id)
        self._member_update(account, person, "member", "kicked")

    def unblock(self, user: UserRef, *, bot: BotRef = None) -> None:
        account, person = self._bot(bot), self._user(user)
        account.blocked_by.discard(person.id)
        self._member_update(account, person, "kicked", "member")

    def kick_bot(self, group: Chat | int, *, bot: BotRef = None) -> None:
        """Remove the bot from a group: sends there fail with 403."""
        self._group(group).members.discard(self._bot(bot).id)

    def migrate(
        self, group: Chat | int, new_id: int | None = None, *, by: UserRef | None = None
    ) -> Chat:
        """Upgrade a group to a supergroup: the old id answers 400 with migrate_to_chat_id.

        The bots in it receive the two service messages Telegram sends
        (``migrate_to_chat_id`` in the old chat, ``migrate_from_chat_id`` in the new one).
        """
        old = self._group(group)
        if old.type != "group" or old.migrated_to is not None:
            raise EmulatorError("only a basic group that has not migrated can be upgraded")
        new_id = new_id if new_id is not None else int(f"-100{abs(old.id):010d}")
        new = Chat(
            new_id,
            "supergroup",
            title=old.title,
            members=set(old.members),
            admins=set(old.admins),
            migrated_from=old.id,
        )
        self.state.chats[new_id] = new
        actor_id = (
            self._user(by).id
            if by is not None
            else next((m for m in sorted(old.members) if m in self.state.users), None)
        )
        actor = self.state.user_json(actor_id) if actor_id is not None else None
        for account in self.state.bots.values():
            if account.id not in old.members:
                continue
            for chat, content in (
                (old, {"migrate_to_chat_id": new_id}),
                (new, {"migrate_from_chat_id": old.id}),
            ):
                record = self.api.store_message(
                    account, chat, actor or account.user.to_api(), content, from_bot=False
                )
                self.state.enqueue_update(account, "message", record.snapshot())
        old.migrated_to = new_id
        return new

    def set_flood_limits(self, limits: FloodLimits | None = None) -> None:
        """Enforce flood limits (``FloodLimits()`` = Telegram's); None switches them off."""
        self.api.set_flood_limits(limits)

    def inject_429(
        self,
        count: int = 1,
        retry_after: int = 1,
        *,
        methods: Iterable[str] | None = SEND_METHODS,
        bot: BotRef = None,
    ) -> None:
        """The next ``count`` sends fail with ``429 Too Many Requests: retry after N``."""
        self.api.inject_429(
            count,
            retry_after,
            methods=frozenset(methods) if methods is not None else None,
            bot=self._bot(bot) if bot is not None else None,
        )

    def inject_error(
        self,
        error_code: int,
        description: str,
        count: int = 1,
        *,
        methods: Iterable[str] | None = None,
        parameters: JSON | None = None,
        bot: BotRef = None,
    ) -> None:
        """The next ``count`` calls (of ``methods``; None: any method) fail with this error."""
        self.api.inject(
            ApiError(error_code, description, dict(parameters or {})),
            count,
            methods=frozenset(methods) if methods is not None else None,
            bot=self._bot(bot) if bot is not None else None,
        )

    async def call_api(self, method: str, *, bot: BotRef = None, **params: Any) -> Any:
        """Call a Bot API method in-process as the bot would; raises :class:`ApiError`."""
        result = await self.api.call(self._bot(bot), method, Params(params))
        return result.value

    # internals --------------------------------------------------------------------------------

    def _bot(self, bot: BotRef) -> BotAccount:
        if isinstance(bot, BotAccount):
            return bot
        if not self.state.bots:
            raise EmulatorError("no bot registered; call add_bot(token) first")
        if bot is None:
            return next(iter(self.state.bots.values()))
        for account in self.state.bots.values():
            if bot in (account.token, account.username, f"@{account.username}"):
                return account
        raise EmulatorError(f"unknown bot {bot!r}")

    def _user(self, user: UserRef) -> User:
        if isinstance(user, User):
            return self.state.users.setdefault(user.id, user)
        if user not in self.state.users:
            raise EmulatorError(f"unknown user {user}; create it with emu.user(...)")
        return self.state.users[user]

    def _group(self, group: Chat | int) -> Chat:
        chat = self.state.chats.get(group.id if isinstance(group, Chat) else group)
        if chat is None or not chat.is_group:
            raise EmulatorError(f"unknown group {group}")
        return chat

    def _chat_id(self, chat: ChatRef, user: User | None = None) -> int:
        if isinstance(chat, Chat):
            return chat.id
        if isinstance(chat, User):
            return chat.id
        if chat is None:
            if user is None:
                raise EmulatorError("say which chat")
            return user.id
        return chat

    def _private_chat(self, user: User) -> Chat:
        chat = self.state.chats.get(user.id)
        if chat is None:
            chat = Chat(
                user.id,
                "private",
                first_name=user.first_name,
                last_name=user.last_name,
                username=user.username,
            )
            self.state.chats[user.id] = chat
        return chat

    def _record(
        self, bot: BotAccount, message: MessageRef, chat: ChatRef, user: User
    ) -> StoredMessage:
        if isinstance(message, StoredMessage):
            return message
        if isinstance(message, dict):
            chat_id, message_id = int(message["chat"]["id"]), int(message["message_id"])
        else:
            chat_id, message_id = self._chat_id(chat, user), message
        record = self.state.conversation(bot, chat_id).messages.get(message_id)
        if record is None:
            raise EmulatorError(f"no message {message_id} in chat {chat_id}")
        return record

    def _add_user_caption(self, content: JSON, caption: str | None) -> None:
        if caption:
            formatted = format_text(caption, caption=True)
            content["caption"] = formatted.text
            if formatted.entities:
                content["caption_entities"] = formatted.entities

    def _user_message(
        self,
        user: UserRef,
        chat: ChatRef,
        content: JSON,
        *,
        bot: BotRef,
        reply_to: MessageRef | None = None,
        service: bool = False,
    ) -> JSON:
        """Store a message from ``user`` and queue it for the bots that would receive it."""
        person = self._user(user)
        main = self._bot(bot)
        if chat is None or self._chat_id(chat, person) == person.id:
            room = self._private_chat(person)
            if person.id in main.blocked_by:
                raise EmulatorError("the user has blocked the bot; call emu.unblock(user) first")
            main.started.add(person.id)
            accounts = [main]
        else:
            room = self.state.chats.get(self._chat_id(chat, person))
            if room is None or not room.is_group:
                raise EmulatorError(f"unknown chat {chat}")
            if room.migrated_to is not None:
                raise EmulatorError(f"group {room.id} was upgraded to {room.migrated_to}")
            if person.id not in room.members:
                raise EmulatorError(f"user {person.id} is not a member of {room.id}")
            accounts = [a for a in self.state.bots.values() if a.id in room.members]
            if main in accounts:  # the chosen bot's view is the one returned
                accounts.remove(main)
                accounts.insert(0, main)
        result: JSON | None = None
        for account in accounts:
            replied = (
                self._record(account, reply_to, room, person) if reply_to is not None else None
            )
            record = self.api.store_message(
                account, room, person.to_api(), dict(content), from_bot=False, reply_to=replied
            )
            if service or self._bot_sees(account, room, record.payload):
                self.state.enqueue_update(account, "message", record.snapshot())
            result = result or record.snapshot()
        if result is None:
            raise EmulatorError(f"no bot is a member of chat {room.id}")
        return result

    def _bot_sees(self, bot: BotAccount, chat: Chat, payload: JSON) -> bool:
        """Privacy mode: in groups a bot only gets commands, replies to it and service messages."""
        if chat.type == "private" or not bot.privacy_mode or bot.id in chat.admins:
            return True
        replied = payload.get("reply_to_message") or {}
        if (replied.get("from") or {}).get("id") == bot.id:
            return True
        text = payload.get("text") or payload.get("caption") or ""
        entities = payload.get("entities") or payload.get("caption_entities") or []
        for entity in entities or detect_entities(text):
            if entity["type"] != "bot_command":
                continue
            command = text.encode("utf-16-le")[
                2 * entity["offset"] : 2 * (entity["offset"] + entity["length"])
            ].decode("utf-16-le")
            _, _, target = command.partition("@")
            if not target or target.lower() == bot.username.lower():
                return True
        return False

    def _member_update(self, bot: BotAccount, user: User, old: str, new: str) -> None:
        chat = self._private_chat(user)

        def member(status: str) -> JSON:
            body: JSON = {"status": status, "user": bot.user.to_api()}
            if status == "kicked":
                body["until_date"] = 0
            return body

        self.state.enqueue_update(
            bot,
            "my_chat_member",
            {
                "chat": chat.to_api(),
                "from": user.to_api(),
                "date": self.state.unix_time(),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            },
        )
