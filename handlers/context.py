"""What a flow step gets: the unit of work, who is acting, their language, and a reply list."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time
from typing import Any, Protocol

from domain.model import Actor, Role, User
from domain.ports import ConversationRecord, UnitOfWork
from handlers.callbacks import CONVERSATION_PREFIX, pack
from handlers.i18n import Translator, pick_language
from handlers.incoming import Incoming
from handlers.pickers import ProductIndex
from handlers.replies import Button, EditText, InlineKeyboard, Keyboard, Reply, SendText, Toast


@dataclass(frozen=True, slots=True)
class EngineSettings:
    bot_username: str = "chaterp_bot"
    default_language: str = "en"
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    draft_ttl_hours: int = 24
    daily_summary_at: time = time(19, 0)  # an owner's summary time until they choose one


VERSION_SPACE = 1_000_000_007  # a prime: versions stay below 10 digits in callback data


def next_version(version: int, user_id: int) -> int:
    """The version a conversation gets when it changes.

    It depends on the user, so in a group one member's button (made for their version)
    never matches another member's conversation, without spending callback bytes on ids.
    """
    return (version * 48271 + user_id % VERSION_SPACE + 1) % VERSION_SPACE


@dataclass(slots=True)
class Conversation:
    """The mutable conversation state of one user in one chat during one update."""

    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    changed: bool = False

    @classmethod
    def load(cls, record: ConversationRecord | None) -> Conversation:
        if record is None:
            return cls()
        return cls(record.flow, record.step, json.loads(record.data or "{}"), record.version)

    def goto(self, step: str, **data: Any) -> None:
        """Move to ``step`` of the current flow, merging ``data`` into the draft."""
        self.step = step
        self.data.update(data)
        self.changed = True

    def begin(self, flow: str, step: str, **data: Any) -> None:
        self.flow, self.step, self.data = flow, step, dict(data)
        self.changed = True

    def clear(self) -> None:
        self.flow, self.step, self.data = None, None, {}
        self.changed = True

    def dumps(self) -> str:
        return json.dumps(self.data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class Speaker(Protocol):
    """What rendering a message needs: the unit of work, a language, the settings, buttons.

    A step's :class:`Context` is one; :class:`Voice` is one outside any update (messages the
    outbox sends on its own)."""

    @property
    def uow(self) -> UnitOfWork: ...
    @property
    def t(self) -> Translator: ...
    @property
    def settings(self) -> EngineSettings: ...
    def card_button(self, label: str, prefix: str, *args: object) -> Button: ...
    def in_language(self, language: str | None) -> Speaker: ...


@dataclass(frozen=True, slots=True)
class Voice:
    """A :class:`Speaker` outside any update: renders a message for someone in a language."""

    uow: UnitOfWork
    t: Translator
    settings: EngineSettings

    @classmethod
    def of(cls, uow: UnitOfWork, settings: EngineSettings, language: str | None) -> Voice:
        chosen = pick_language(language, None, settings.default_language)
        return cls(uow, Translator(chosen, settings.timezone), settings)

    def card_button(self, label: str, prefix: str, *args: object) -> Button:
        return Button(label, pack(prefix, *args))

    def in_language(self, language: str | None) -> Voice:
        return Voice.of(self.uow, self.settings, language)


@dataclass(slots=True)
class Context:
    """Everything one step needs; flows add replies with ``say``/``edit``/``toast``."""

    uow: UnitOfWork
    incoming: Incoming
    user: User | None
    t: Translator
    state: Conversation
    settings: EngineSettings
    products: ProductIndex = field(default_factory=ProductIndex)
    replies: list[Reply] = field(default_factory=list)
    refresh_menu: bool = False  # the user's role or language changed: send their command menu
    # (command, untranslated description) of every flow the actor may start in this chat;
    # the engine sets it (used by /help).
    commands: Callable[[], list[tuple[str, str]]] = field(default=lambda: [])

    @property
    def actor(self) -> Actor:
        assert self.user is not None, "only known users act"
        return Actor(
            user_id=self.user.id,
            role=self.user.role,
            source=f"tg:update:{self.incoming.update_id}",
            name=self.user.name,
        )

    @property
    def role(self) -> Role | None:
        return self.user.role if self.user else None

    def say(
        self,
        text: str,
        keyboard: Keyboard | None = None,
        *,
        chat_id: int | None = None,
        track: str | None = None,
    ) -> None:
        self.replies.append(SendText(text, keyboard, chat_id=chat_id, track=track))

    def edit(self, message_id: int, text: str, keyboard: InlineKeyboard | None = None) -> None:
        self.replies.append(EditText(message_id, text, keyboard))

    def in_language(self, language: str | None) -> Context:
        """This step's context speaking ``language`` (for a message to someone else); replies
        still go to the same list."""
        chosen = pick_language(language, None, self.settings.default_language)
        if chosen == self.t.language:
            return self
        return dataclasses.replace(self, t=Translator(chosen, self.settings.timezone))

    def toast(self, text: str, *, alert: bool = False) -> None:
        self.replies.append(Toast(text, alert))

    def button(self, label: str, action: str, *args: object) -> Button:
        """A button bound to this conversation step: pressing it after the conversation moved
        on (or after /cancel) is recognised as expired."""
        # The version the state will have once this update is saved; showing new buttons
        # saves the state, so they work even if the step changed nothing else (and every
        # older button of this conversation expires).
        version = next_version(self.state.version, self.incoming.user_id)
        self.state.changed = True
        return Button(label, pack(CONVERSATION_PREFIX, version, action, *args))

    def card_button(self, label: str, prefix: str, *args: object) -> Button:
        """A button not bound to a conversation (cards in groups): re-checked on every press."""
        return Button(label, pack(prefix, *args))
