"""notifications.delivery: Telegram's delivery rules against a recording, programmable gateway."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from handlers.incoming import ChatType, Incoming
from handlers.replies import (
    Button,
    CommandMenu,
    EditText,
    InlineKeyboard,
    Keyboard,
    RemoveKeyboard,
    Reply,
    SendDocument,
    SendPhoto,
    SendText,
    Toast,
)
from handlers.text import MAX_MESSAGE_CHARS
from notifications.delivery import (
    MAX_ATTEMPTS,
    MAX_TOAST_CHARS,
    RETRY_MARGIN,
    BadRequest,
    Blocked,
    ChatMigrated,
    MenuScope,
    MessageGone,
    NotModified,
    QueryExpired,
    ReplyDelivery,
    RetryAfter,
    plain_toast,
)

USER = 12
OTHER = 14
GROUP = -100500
SUPERGROUP = -1000000100500
KEYBOARD = InlineKeyboard.of([Button("✅ Confirm", "c:1:ok")])


@dataclass
class Call:
    method: str
    args: dict[str, Any]


@dataclass
class FakeGateway:
    """Records every call; ``fail(method, error…)`` makes the next calls of a method raise,
    ``blocked``/``migrated`` make every call to a chat raise."""

    calls: list[Call] = field(default_factory=list)
    queued: dict[str, list[Exception]] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    migrated: dict[int, int] = field(default_factory=dict)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))

    def fail(self, method: str, *errors: Exception) -> None:
        self.queued.setdefault(method, []).extend(errors)

    def of(self, method: str) -> list[dict[str, Any]]:
        return [call.args for call in self.calls if call.method == method]

    def _do(self, method: str, **args: Any) -> None:
        self.calls.append(Call(method, args))
        queue = self.queued.get(method)
        if queue:
            raise queue.pop(0)
        chat_id = args.get("chat_id")
        if chat_id in self.blocked:
            raise Blocked("Forbidden: bot was blocked by the user")
        if chat_id in self.migrated:
            raise ChatMigrated(self.migrated[chat_id])

    async def send_text(self, chat_id: int, html: str, keyboard: Keyboard | None) -> int:
        self._do("send_text", chat_id=chat_id, html=html, keyboard=keyboard)
        return next(self._ids)

    async def edit_text(
        self, chat_id: int, message_id: int, html: str, keyboard: InlineKeyboard | None
    ) -> None:
        self._do("edit_text", chat_id=chat_id, message_id=message_id, html=html, keyboard=keyboard)

    async def send_photo(self, chat_id: int, png: bytes, caption: str, filename: str) -> int:
        self._do("send_photo", chat_id=chat_id, caption=caption, filename=filename)
        return next(self._ids)

    async def send_document(self, chat_id: int, data: bytes, filename: str, caption: str) -> int:
        self._do("send_document", chat_id=chat_id, caption=caption, filename=filename)
        return next(self._ids)

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None:
        try:
            self._do("answer_callback", callback_id=callback_id, text=text, alert=alert)
        finally:
            self.answered.set()

    async def set_commands(
        self,
        commands: Sequence[tuple[str, str]],
        *,
        scope: MenuScope,
        chat_id: int | None = None,
        language: str | None = None,
    ) -> None:
        self._do(
            "set_commands",
            commands=tuple(commands),
            scope=scope,
            chat_id=chat_id,
            language=language,
        )


@dataclass
class FakeHooks:
    sent: list[tuple[str, int, int]] = field(default_factory=list)
    blocked: list[tuple[int, bool]] = field(default_factory=list)
    moved: list[tuple[int, int]] = field(default_factory=list)
    broken: bool = False

    def record_sent(self, key: str, chat_id: int, message_id: int) -> None:
        if self.broken:
            raise RuntimeError("database is down")
        self.sent.append((key, chat_id, message_id))

    def mark_blocked(self, telegram_user_id: int, blocked: bool) -> None:
        self.blocked.append((telegram_user_id, blocked))

    def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        self.moved.append((old_chat_id, new_chat_id))


async def _inline(function: Callable[..., Any], *args: Any) -> Any:
    return function(*args)


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def hooks() -> FakeHooks:
    return FakeHooks()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make(
    gateway: FakeGateway, hooks: FakeHooks, sleeps: list[float]
) -> Callable[..., ReplyDelivery]:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def build(**options: Any) -> ReplyDelivery:
        return ReplyDelivery(gateway, hooks, sleep=sleep, run_sync=_inline, **options)

    return build


@pytest.fixture
def delivery(make: Callable[..., ReplyDelivery]) -> ReplyDelivery:
    return make()


def message(chat_id: int = USER, user_id: int = USER) -> Incoming:
    return Incoming(
        update_id=1,
        chat_id=chat_id,
        chat_type=ChatType.PRIVATE if chat_id > 0 else ChatType.GROUP,
        user_id=user_id,
        user_name="Sam",
        text="hello",
    )


def press(chat_id: int = USER, callback_id: str = "q1") -> Incoming:
    return Incoming(
        update_id=2,
        chat_id=chat_id,
        chat_type=ChatType.PRIVATE if chat_id > 0 else ChatType.GROUP,
        user_id=USER,
        user_name="Sam",
        callback_data="c:1:ok",
        callback_id=callback_id,
        message_id=7,
    )


async def deliver(
    delivery: ReplyDelivery, *replies: Reply, incoming: Incoming | None = None
) -> None:
    await delivery.deliver(incoming or message(), list(replies))


def long_text(lines: int = 300) -> str:
    return "\n".join(f"• line {n:03d}: <b>{'x' * 20}</b> &amp; more" for n in range(lines))


# --- sending text ---------------------------------------------------------------------------


async def test_text_goes_to_the_chat_of_the_update_or_the_one_named(
    delivery: ReplyDelivery, gateway: FakeGateway
) -> None:
    await deliver(delivery, SendText("hi", KEYBOARD), SendText("card", chat_id=OTHER))
    assert [(a["chat_id"], a["html"], a["keyboard"]) for a in gateway.of("send_text")] == [
        (USER, "hi", KEYBOARD),
        (OTHER, "card", None),
    ]


async def test_a_tracked_card_is_recorded_where_it_landed(
    delivery: ReplyDelivery, gateway: FakeGateway, hooks: FakeHooks
) -> None:
    await deliver(delivery, SendText("untracked"), SendText("card", chat_id=OTHER, track="ship:9"))
    assert hooks.sent == [("ship:9", OTHER, 101)]


async def test_long_text_is_split_at_line_breaks_with_the_keyboard_on_the_last_part(
    delivery: ReplyDelivery, gateway: FakeGateway, hooks: FakeHooks
) -> None:
    text = long_text()
    assert len(text) > 3 * MAX_MESSAGE_CHARS
    await deliver(delivery, SendText(text, KEYBOARD, track="card"))
    parts = gateway.of("send_text")
    assert len(parts) == 4
    assert all(len(p["html"]) <= MAX_MESSAGE_CHARS for p in parts)
    assert [p["keyboard"] for p in parts] == [None, None, None, KEYBOARD]
    assert "\n".join(p["html"] for p in parts) == text  # cut exactly at line breaks
    assert hooks.sent == [("card", USER, 103)]  # the part with the buttons


async def test_a_failing_reply_does_not_stop_the_others(
    delivery: ReplyDelivery, gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gateway.fail("send_text", BadRequest("can't parse entities: unmatched end tag"))
    gateway.fail("send_photo", RuntimeError("boom"))
    await deliver(
        delivery, SendText("<b>x</a>"), SendPhoto(b"png"), SendText("still here", chat_id=OTHER)
    )
    assert [a["html"] for a in gateway.of("send_text")] == ["<b>x</a>", "still here"]
    assert "can't parse entities" in caplog.text
    assert "boom" in caplog.text


async def test_a_broken_hook_is_logged_not_raised(
    delivery: ReplyDelivery,
    gateway: FakeGateway,
    hooks: FakeHooks,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hooks.broken = True
    await deliver(delivery, SendText("card", track="k"), SendText("next"))
    assert len(gateway.of("send_text")) == 2
    assert "database is down" in caplog.text


# --- edits ------------------------------------------------------------------------------------


async def test_not_modified_counts_as_success(
    delivery: ReplyDelivery, gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="notifications.delivery")
    gateway.fail("edit_text", NotModified("message is not modified"))
    await deliver(delivery, EditText(7, "same", KEYBOARD))
    assert gateway.of("send_text") == []
    [record] = [r for r in caplog.records if "already up to date" in r.getMessage()]
    assert record.levelno == logging.DEBUG
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_an_edit_of_a_vanished_message_sends_it_anew(
    delivery: ReplyDelivery, gateway: FakeGateway
) -> None:
    gateway.fail("edit_text", MessageGone("message to edit not found"))
    await deliver(delivery, EditText(7, "Shipped", KEYBOARD, chat_id=GROUP))
    assert [(a["chat_id"], a["html"], a["keyboard"]) for a in gateway.of("send_text")] == [
        (GROUP, "Shipped", KEYBOARD)
    ]


async def test_a_long_edit_keeps_the_first_part_and_sends_the_rest(
    delivery: ReplyDelivery, gateway: FakeGateway
) -> None:
    await deliver(delivery, EditText(7, long_text(), KEYBOARD))
    [edit] = gateway.of("edit_text")
    assert edit["keyboard"] is None and len(edit["html"]) <= MAX_MESSAGE_CHARS
    rest = gateway.of("send_text")
    assert len(rest) == 3 and rest[-1]["keyboard"] == KEYBOARD
    assert [p["keyboard"] for p in rest[:-1]] == [None, None]


# --- 403 --------------------------------------------------------------------------------------


async def test_a_user_who_blocked_the_bot_is_marked_and_the_others_still_hear(
    delivery: ReplyDelivery, gateway: FakeGateway, hooks: FakeHooks
) -> None:
    gateway.blocked.add(OTHER)
    await deliver(
        delivery,
        SendText("card", chat_id=OTHER),
        SendText("second card", chat_id=OTHER),
        SendText("✅ placed"),
    )
    assert hooks.blocked == [(OTHER, True)]
    sent = [(a["chat_id"], a["html"]) for a in gateway.of("send_text")]
    assert sent == [(OTHER, "card"), (USER, "✅ placed")]  # no retry storm on the blocked chat


async def test_a_group_that_removed_the_bot_marks_nobody(
    delivery: ReplyDelivery,
    gateway: FakeGateway,
    hooks: FakeHooks,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gateway.blocked.add(GROUP)
    await deliver(delivery, SendText("card", chat_id=GROUP), SendText("ok"))
    assert hooks.blocked == []
    assert len(gateway.of("send_text")) == 2
    assert f"cannot write to group {GROUP}" in caplog.text


# --- 429 --------------------------------------------------------------------------------------


async def test_flood_control_waits_and_retries(
    delivery: ReplyDelivery, gateway: FakeGateway, sleeps: list[float]
) -> None:
    gateway.fail("send_text", RetryAfter(1), RetryAfter(3))
    await deliver(delivery, SendText("report"))
    assert sleeps == [1 + RETRY_MARGIN, 3 + RETRY_MARGIN]
    assert len(gateway.of("send_text")) == 3  # two refusals, one delivery


async def test_flood_control_retries_are_bounded(
    delivery: ReplyDelivery, gateway: FakeGateway, sleeps: list[float]
) -> None:
    gateway.fail("send_text", *[RetryAfter(1) for _ in range(MAX_ATTEMPTS)])
    await deliver(delivery, SendText("given up"), SendText("next"))
    assert len(sleeps) == MAX_ATTEMPTS - 1
    texts = [a["html"] for a in gateway.of("send_text")]
    assert texts == ["given up"] * MAX_ATTEMPTS + ["next"]


async def test_a_very_long_flood_wait_gives_the_reply_up(
    make: Callable[..., ReplyDelivery], gateway: FakeGateway, sleeps: list[float]
) -> None:
    delivery = make(max_retry_after=30)
    gateway.fail("send_text", RetryAfter(3600))
    await deliver(delivery, SendText("x"), SendText("y"))
    assert sleeps == []
    assert [a["html"] for a in gateway.of("send_text")] == ["x", "y"]


# --- migrated groups --------------------------------------------------------------------------


async def test_a_migrated_group_is_followed_once_and_remembered(
    delivery: ReplyDelivery, gateway: FakeGateway, hooks: FakeHooks
) -> None:
    gateway.migrated[GROUP] = SUPERGROUP
    await deliver(
        delivery,
        SendText("card", chat_id=GROUP, track="ship:1"),
        SendText("another", chat_id=GROUP),
    )
    assert [a["chat_id"] for a in gateway.of("send_text")] == [GROUP, SUPERGROUP, SUPERGROUP]
    assert hooks.moved == [(GROUP, SUPERGROUP)]
    assert hooks.sent == [("ship:1", SUPERGROUP, 100)]


async def test_a_second_migration_error_is_not_chased(
    delivery: ReplyDelivery, gateway: FakeGateway
) -> None:
    gateway.migrated[GROUP] = SUPERGROUP
    gateway.migrated[SUPERGROUP] = SUPERGROUP - 1
    await deliver(delivery, SendText("card", chat_id=GROUP))
    assert [a["chat_id"] for a in gateway.of("send_text")] == [GROUP, SUPERGROUP]


# --- button presses ---------------------------------------------------------------------------


async def test_a_press_is_answered_first_with_its_toast_as_plain_text(
    delivery: ReplyDelivery, gateway: FakeGateway
) -> None:
    await deliver(
        delivery,
        SendText("Order placed"),
        Toast("Already shipped by <b>Wang &amp; Co</b>", alert=True),
        incoming=press(),
    )
    assert [c.method for c in gateway.calls] == ["answer_callback", "send_text"]
    assert gateway.of("answer_callback") == [
        {"callback_id": "q1", "text": "Already shipped by Wang & Co", "alert": True}
    ]


async def test_a_press_without_a_toast_is_answered_empty_exactly_once(
    delivery: ReplyDelivery, gateway: FakeGateway
) -> None:
    delivery.callback_arrived("q1")
    await deliver(delivery, EditText(7, "next step"), incoming=press())
    await delivery.finish_callback("q1")  # the transport always calls it afterwards
    await delivery.close()
    assert gateway.of("answer_callback") == [{"callback_id": "q1", "text": "", "alert": False}]


async def test_toasts_are_merged_and_shortened(
    delivery: ReplyDelivery, gateway: FakeGateway
) -> None:
    await deliver(delivery, Toast("Saved."), Toast(""), Toast("y" * 300), incoming=press())
    [answer] = gateway.of("answer_callback")
    assert answer["text"].startswith("Saved.\nyyy")
    assert len(answer["text"]) == MAX_TOAST_CHARS and answer["text"].endswith("…")
    assert answer["alert"] is False


async def test_a_press_too_old_to_answer_is_tolerated(
    delivery: ReplyDelivery, gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gateway.fail("answer_callback", QueryExpired("query is too old"))
    await deliver(delivery, Toast("Done"), SendText("result"), incoming=press())
    assert [a["html"] for a in gateway.of("send_text")] == ["result"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_slow_press_is_answered_at_the_deadline_and_its_toast_becomes_a_message(
    make: Callable[..., ReplyDelivery], gateway: FakeGateway
) -> None:
    delivery = make(answer_within=0.001)
    delivery.callback_arrived("q1")
    await asyncio.wait_for(gateway.answered.wait(), timeout=5)  # the engine is "still busy"
    await deliver(delivery, Toast("Already shipped"), incoming=press())
    await delivery.finish_callback("q1")
    assert gateway.of("answer_callback") == [{"callback_id": "q1", "text": "", "alert": False}]
    assert [(a["chat_id"], a["html"]) for a in gateway.of("send_text")] == [
        (USER, "Already shipped")
    ]


async def test_a_fast_press_cancels_its_deadline(
    make: Callable[..., ReplyDelivery], gateway: FakeGateway
) -> None:
    delivery = make(answer_within=0.05)
    delivery.callback_arrived("q1")
    await deliver(delivery, Toast("Done"), incoming=press())
    gateway.answered.clear()
    with pytest.raises(TimeoutError):  # nothing else answers it, even after the deadline
        await asyncio.wait_for(gateway.answered.wait(), timeout=0.3)
    assert len(gateway.of("answer_callback")) == 1


async def test_a_failed_press_is_still_answered(
    delivery: ReplyDelivery, gateway: FakeGateway
) -> None:
    delivery.callback_arrived("q9")
    await delivery.finish_callback("q9")  # the handler raised before delivering anything
    await delivery.finish_callback("q9")
    assert gateway.of("answer_callback") == [{"callback_id": "q9", "text": "", "alert": False}]
    await delivery.close()


async def test_a_toast_outside_a_press_is_ignored(
    delivery: ReplyDelivery, gateway: FakeGateway
) -> None:
    await deliver(delivery, Toast("?"), SendText("ok"))
    await delivery.send([Toast("?"), SendText("note")], chat_id=OTHER)
    assert [c.method for c in gateway.calls] == ["send_text", "send_text"]


def test_plain_toast() -> None:
    assert plain_toast("<b>1 &lt; 2</b> &amp; <i>x</i>") == "1 < 2 & x"
    assert plain_toast("  ") == ""


# --- menus and files --------------------------------------------------------------------------


async def test_a_command_menu_is_set_for_the_users_chat_in_every_app_language(
    delivery: ReplyDelivery, gateway: FakeGateway
) -> None:
    menu = CommandMenu(chat_id=USER, language="zh_Hans", commands=(("order", "下单"),))
    await deliver(delivery, menu, incoming=message(chat_id=GROUP))
    assert gateway.of("set_commands") == [
        {"commands": (("order", "下单"),), "scope": "chat", "chat_id": USER, "language": None}
    ]


async def test_set_menu_failures_are_logged(
    delivery: ReplyDelivery, gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gateway.fail("set_commands", BadRequest("BOT_COMMAND_INVALID"))
    await delivery.set_menu((("x", "y"),), scope="default")
    assert "BOT_COMMAND_INVALID" in caplog.text


async def test_a_caption_too_long_for_a_photo_follows_as_text(
    delivery: ReplyDelivery, gateway: FakeGateway
) -> None:
    caption = "c" * 2000
    await deliver(
        delivery,
        SendPhoto(b"png", caption=caption),
        SendDocument(b"csv", "report.csv", caption="short"),
        SendText("end", RemoveKeyboard()),
    )
    assert [c.method for c in gateway.calls] == [
        "send_photo",
        "send_text",
        "send_document",
        "send_text",
    ]
    assert gateway.of("send_photo")[0]["caption"] == ""
    assert gateway.of("send_text")[0]["html"] == caption
    assert gateway.of("send_document")[0]["caption"] == "short"
