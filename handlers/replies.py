"""What the bot does in return: messages, edits, photos, documents, toasts, command menus.

Flows only build these values; a transport turns them into Bot API calls after the
transaction that produced them has committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    data: str  # callback data, built by handlers.callbacks (at most 64 bytes)


@dataclass(frozen=True, slots=True)
class InlineKeyboard:
    rows: tuple[tuple[Button, ...], ...]

    @classmethod
    def of(cls, *rows: list[Button] | tuple[Button, ...]) -> InlineKeyboard:
        return cls(tuple(tuple(row) for row in rows if row))


@dataclass(frozen=True, slots=True)
class ReplyKeyboard:
    """Keys under the input field; ``contact`` adds a "share my phone number" key."""

    rows: tuple[tuple[str, ...], ...] = ()
    contact: str | None = None
    one_time: bool = True


@dataclass(frozen=True, slots=True)
class RemoveKeyboard:
    pass


@dataclass(frozen=True, slots=True)
class ForceReply:
    """Opens the reply box on this message: in a group whose bot has privacy mode on, the
    typed answer is a reply to the bot, which the bot receives (plain group text it does not)."""

    placeholder: str = ""  # shown in the empty input field (at most 64 characters)


Keyboard = InlineKeyboard | ReplyKeyboard | RemoveKeyboard | ForceReply


@dataclass(frozen=True, slots=True)
class SendText:
    text: str  # HTML; every user-supplied piece is already escaped
    keyboard: Keyboard | None = None
    chat_id: int | None = None  # None: the chat the update came from
    track: str | None = None  # remember the sent message under this key (cards edited later)


@dataclass(frozen=True, slots=True)
class EditText:
    message_id: int
    text: str
    keyboard: InlineKeyboard | None = None
    chat_id: int | None = None


@dataclass(frozen=True, slots=True)
class SendPhoto:
    data: bytes
    caption: str = ""
    chat_id: int | None = None
    filename: str = "chart.png"


@dataclass(frozen=True, slots=True)
class SendDocument:
    data: bytes
    filename: str
    caption: str = ""
    chat_id: int | None = None


@dataclass(frozen=True, slots=True)
class Toast:
    """The answer to a button press (a small notice, or an alert box)."""

    text: str
    alert: bool = False


@dataclass(frozen=True, slots=True)
class CommandMenu:
    """The commands a user sees in their private chat, in their language."""

    chat_id: int
    language: str
    commands: tuple[tuple[str, str], ...] = field(default_factory=tuple)


Reply = SendText | EditText | SendPhoto | SendDocument | Toast | CommandMenu
