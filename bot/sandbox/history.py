"""The sandbox's chats survive a restart, as they do in Telegram.

The emulator keeps chats in memory; the bot's database remembers message ids (cards it edits
later) and update ids (to ignore redeliveries). So a restarted sandbox must neither forget the
chats nor hand out those ids again: the chats, command menus and counters are saved to a JSON
file beside the database (files such as charts in a folder next to it) shortly after every
change and on stop, and read back on start. After a crash, whatever the database remembers
still moves the counters past every id it has seen.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.emulator.media import StoredFile
from bot.emulator.state import BotAccount, EmulatorState, StoredMessage
from storage.database import Database
from storage.tables import ProcessedUpdateRow, SentMessageRow

logger = logging.getLogger(__name__)

VERSION = 1


def history_path(database_url: str) -> Path:
    """``sandbox.db`` → ``sandbox.chats.json``; other databases: in the working folder."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database)
        return path.with_name(path.stem + ".chats.json")
    return Path("sandbox.chats.json")


def files_folder(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".chats.json") + ".files")


class ChatHistory:
    """Saves and restores one bot's chats in the emulator."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files = files_folder(path)

    def save(self, state: EmulatorState, bot: BotAccount) -> None:
        body = {
            "version": VERSION,
            "next_update_id": bot.next_update_id,
            "commands": [
                [scope, language, commands] for (scope, language), commands in bot.commands.items()
            ],
            "chats": [
                {
                    "chat_id": chat_id,
                    "next_message_id": conversation.next_message_id,
                    "reply_keyboard": conversation.reply_keyboard,
                    "messages": [_message_json(m) for m in conversation.messages.values()],
                }
                for (bot_id, chat_id), conversation in state.conversations.items()
                if bot_id == bot.id
            ],
            "files": [self._keep_file(stored) for stored in state.files.values()],
            "photo_groups": state.photo_groups,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        draft = self.path.with_name(self.path.name + ".tmp")
        draft.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        os.replace(draft, self.path)  # a crash mid-write leaves the previous copy

    def load(self, state: EmulatorState, bot: BotAccount) -> int:
        """Restore what was saved; returns how many chats came back."""
        try:
            body = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return 0
        except (OSError, ValueError):
            logger.warning("sandbox: %s is unreadable; the chats start empty", self.path)
            return 0
        if body.get("version") != VERSION:
            return 0
        bot.next_update_id = max(bot.next_update_id, int(body.get("next_update_id", 1)))
        for scope, language, commands in body.get("commands", []):
            bot.commands[(scope, language)] = commands
        for item in body.get("files", []):
            stored = self._read_file(item)
            if stored is not None:
                state.add_file(stored)
        state.photo_groups.update(body.get("photo_groups", {}))
        for chat in body.get("chats", []):
            conversation = state.conversation(bot, int(chat["chat_id"]))
            conversation.next_message_id = int(chat["next_message_id"])
            conversation.reply_keyboard = chat.get("reply_keyboard")
            for raw in chat["messages"]:
                message = _message_from(bot.id, int(chat["chat_id"]), raw)
                conversation.messages[message.message_id] = message
        return len(body.get("chats", []))

    def _keep_file(self, stored: StoredFile) -> dict[str, Any]:
        target = self.files / stored.file_path
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(stored.data)
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "kind": stored.kind,
            "file_path": stored.file_path,
            "file_name": stored.file_name,
            "mime_type": stored.mime_type,
            "width": stored.width,
            "height": stored.height,
        }

    def _read_file(self, item: dict[str, Any]) -> StoredFile | None:
        try:
            data = (self.files / item["file_path"]).read_bytes()
        except OSError:
            return None
        return StoredFile(
            item["file_id"],
            item["file_unique_id"],
            item["kind"],
            data,
            item["file_path"],
            item.get("file_name"),
            item.get("mime_type"),
            item.get("width"),
            item.get("height"),
        )


def move_counters_past_database(database: Database, state: EmulatorState, bot: BotAccount) -> None:
    """Never reuse an update id or a message id the bot's database has seen (after a crash,
    or with the chats file deleted): a reused update id would be ignored as a redelivery, a
    reused message id would make the bot edit the wrong message."""
    with database.reader() as uow:
        last_update = uow.execute(select(func.max(ProcessedUpdateRow.update_id))).scalar()
        last_messages = uow.execute(
            select(SentMessageRow.chat_id, func.max(SentMessageRow.message_id)).group_by(
                SentMessageRow.chat_id
            )
        ).all()
    if last_update is not None:
        bot.next_update_id = max(bot.next_update_id, int(last_update) + 1)
    for chat_id, message_id in last_messages:
        conversation = state.conversation(bot, int(chat_id))
        conversation.next_message_id = max(conversation.next_message_id, int(message_id) + 1)


def _message_json(message: StoredMessage) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "from_bot": message.from_bot,
        "payload": message.payload,
        "source": message.source,
        "parse_mode": message.parse_mode,
        "markup": message.markup,
        "history": message.history,
        "deleted": message.deleted,
    }


def _message_from(bot_id: int, chat_id: int, raw: dict[str, Any]) -> StoredMessage:
    return StoredMessage(
        bot_id,
        chat_id,
        int(raw["message_id"]),
        bool(raw["from_bot"]),
        raw["payload"],
        raw.get("source"),
        raw.get("parse_mode"),
        raw.get("markup"),
        raw.get("history") or [],
        bool(raw.get("deleted")),
    )
