"""What a person did in a chat, independent of the Telegram library that received it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?:\s+(.*))?$", re.S)


class ChatType(StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"


@dataclass(frozen=True, slots=True)
class DocumentRef:
    file_id: str
    file_name: str
    mime_type: str
    size: int


@dataclass(frozen=True, slots=True)
class Incoming:
    """One update: a message (text, command, contact, document) or a button press."""

    update_id: int
    chat_id: int
    chat_type: ChatType
    user_id: int  # the Telegram user who acted; roles are looked up by this, never by chat
    user_name: str
    language_code: str | None = None
    text: str | None = None
    command: str | None = None  # lower case, without "/" and "@botname"
    args: str = ""
    callback_data: str | None = None
    callback_id: str | None = None
    message_id: int | None = None  # the message whose button was pressed
    contact_phone: str | None = None
    contact_user_id: int | None = None
    document: DocumentRef | None = None
    chat_title: str = ""  # a group's title (empty in private chats)

    @property
    def is_private(self) -> bool:
        return self.chat_type is ChatType.PRIVATE

    @property
    def is_button(self) -> bool:
        return self.callback_data is not None


def parse_command(text: str, bot_username: str) -> tuple[str, str] | None:
    """``("order", "acme")`` from ``/order@chaterp_bot acme``; None if not a command for us."""
    match = COMMAND.match(text.strip())
    if match is None:
        return None
    name, addressed_to, args = match.groups()
    if addressed_to and addressed_to.casefold() != bot_username.casefold():
        return None  # a command for another bot in the same group
    return name.lower(), (args or "").strip()
