"""A scriptable BotGateway for sender tests: records what reached each chat, and answers like
Telegram would when a test says so (429, 403, a migrated group, network trouble, a hang)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from handlers.replies import InlineKeyboard, Keyboard
from notifications.delivery import ChatMigrated

Script = Callable[[int, str, int], Exception | None]  # (chat, kind, call number) -> error


@dataclass(slots=True)
class Delivered:
    chat_id: int
    kind: str  # text | photo | document | edit
    text: str
    message_id: int
    keyboard: Keyboard | None = None
    file: str = ""  # "upload" or the file_id a photo was sent by


@dataclass
class FakeGateway:
    script: Script | None = None
    hang_after: int | None = None  # calls after this many successful sends never return
    moved: dict[int, int] = field(default_factory=dict)  # group → supergroup
    delivered: list[Delivered] = field(default_factory=list)
    calls: int = 0
    uploads: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: dict[int, itertools.count[int]] = field(default_factory=dict)

    async def _call(self, chat_id: int, kind: str) -> int:
        self.calls += 1
        if chat_id in self.moved:
            raise ChatMigrated(self.moved[chat_id], "Bad Request: group chat was upgraded")
        if self.script is not None:
            error = self.script(chat_id, kind, self.calls)
            if error is not None:
                raise error
        if self.hang_after is not None and len(self.delivered) >= self.hang_after:
            await self.released.wait()  # the process "dies" while this call is in the air
        counter = self._ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def texts(self, chat_id: int) -> list[str]:
        return [d.text for d in self.delivered if d.chat_id == chat_id]

    async def send_text(self, chat_id: int, html: str, keyboard: Keyboard | None) -> int:
        message_id = await self._call(chat_id, "text")
        self.delivered.append(Delivered(chat_id, "text", html, message_id, keyboard))
        return message_id

    async def edit_text(
        self, chat_id: int, message_id: int, html: str, keyboard: InlineKeyboard | None
    ) -> None:
        await self._call(chat_id, "edit")
        self.delivered.append(Delivered(chat_id, "edit", html, message_id, keyboard))

    async def send_photo(self, chat_id: int, png: bytes, caption: str, filename: str) -> int:
        message_id, _ = await self.send_cached_photo(chat_id, png, caption, filename)
        return message_id

    async def send_cached_photo(
        self, chat_id: int, photo: bytes | str, caption: str, filename: str
    ) -> tuple[int, str]:
        message_id = await self._call(chat_id, "photo")
        if isinstance(photo, bytes):
            self.uploads += 1
            file_id = f"F{self.uploads}"
            how = "upload"
        else:
            file_id = how = photo
        self.delivered.append(Delivered(chat_id, "photo", caption, message_id, file=how))
        return message_id, file_id

    async def send_document(self, chat_id: int, data: bytes, filename: str, caption: str) -> int:
        message_id = await self._call(chat_id, "document")
        self.delivered.append(Delivered(chat_id, "document", caption, message_id))
        return message_id

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None:
        return None

    async def set_commands(
        self,
        commands: Sequence[tuple[str, str]],
        *,
        scope: str,
        chat_id: int | None = None,
        language: str | None = None,
    ) -> None:
        return None
