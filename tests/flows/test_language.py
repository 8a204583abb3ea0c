"""/language: English or 简体中文, stored per user, answered in the new language at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from handlers.callbacks import pack
from handlers.i18n import Translator
from handlers.replies import CommandMenu, EditText, InlineKeyboard, Toast
from tests.chat_driver import ChatDriver, Person
from tests.fakes import FakeDatabase, FixedClock
from tests.flows.conftest import Business

NOT_AVAILABLE = "This command is not available to you. Type /help to see what you can do."
EXPIRED = "This action has expired."
BAD_INPUTS = [
    "-1",
    "0",
    "9" * 40,
    "NaN",
    "words words",
    "x" * 5000,
    "<b>x</a>",
    "_a_",
    "🙂",
    "'); DROP TABLE orders;--",
]


def stored_language(database: FakeDatabase, business: Business, key: str) -> str | None:
    return database.state.tables["users"][business.users[key].id]["language"]


def zh(message: str, **values: object) -> str:
    return Translator("zh_Hans")(message, **values)


def test_buttons_set_chinese_answer_in_it_and_refresh_the_menu(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    sales = business.sales
    chat.send(sales, "/language")
    prompt = chat.last(sales.telegram_id)
    assert prompt.text == "Choose your language:"
    assert prompt.buttons() == ["English", "简体中文"]
    replies = chat.press(sales, "简体中文")
    assert stored_language(database, business, "sales") == "zh_Hans"
    # The prompt is edited into the confirmation, in the new language; buttons gone.
    assert isinstance(replies[0], EditText) and replies[0].message_id == prompt.message_id
    assert prompt.text == zh("Language set to {language}.", language="简体中文")
    assert prompt.buttons() == []
    menus = [r for r in replies if isinstance(r, CommandMenu)]
    assert len(menus) == 1
    assert menus[0].chat_id == sales.telegram_id and menus[0].language == "zh_Hans"
    commands = dict(menus[0].commands)
    assert commands["help"] == zh("What I can do")
    assert commands["language"] == zh("Choose your language")
    assert len(chat.messages(sales.telegram_id)) == 1  # nothing else said


def test_later_answers_use_the_new_locale(
    chat: ChatDriver, business: Business, clock: FixedClock
) -> None:
    owner = business.owner
    chat.send(owner, "/language 中文")
    chat.send(owner, "/invite warehouse")
    until = clock.now() + timedelta(days=7)
    text = chat.last(owner.telegram_id).text
    assert Translator("zh_Hans").when(until) in text  # e.g. 2026/3/9 09:00
    assert Translator("en").when(until) not in text


def test_choice_beats_telegram_language_then_back_to_english(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    sue = business.sales2  # her Telegram app is in Chinese
    assert sue.language == "zh-hans"
    chat.send(sue, "/language")
    chat.press(sue, "English")
    assert stored_language(database, business, "sales2") == "en"
    assert chat.last(sue.telegram_id).text == "Language set to English."
    assert chat.menus[-1].language == "en"
    assert dict(chat.menus[-1].commands)["help"] == "What I can do"
    # Later messages follow the choice, not the Telegram app language.
    chat.send(sue, "/cancel")
    assert chat.last(sue.telegram_id).text == (
        "Nothing to cancel. Type /help to see what you can do."
    )


@pytest.mark.parametrize(
    ("typed", "code"),
    [("zh", "zh_Hans"), ("中文", "zh_Hans"), ("Chinese", "zh_Hans"), ("EN", "en")],
)
def test_language_with_an_argument_sets_it_directly(
    chat: ChatDriver, business: Business, database: FakeDatabase, typed: str, code: str
) -> None:
    chat.send(business.warehouse, f"/language {typed}")
    assert stored_language(database, business, "warehouse") == code
    assert chat.menus[-1].language == code
    assert len(chat.messages(business.warehouse.telegram_id)) == 1


def test_unknown_language_argument_shows_the_buttons(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.owner, "/language klingon")
    last = chat.last(business.owner.telegram_id)
    assert "I do not know that language." in last.text
    assert last.buttons() == ["English", "简体中文"]
    assert stored_language(database, business, "owner") is None


@pytest.mark.parametrize("text", BAD_INPUTS)
def test_typing_at_the_prompt_asks_again_and_changes_nothing(
    chat: ChatDriver, business: Business, database: FakeDatabase, text: str
) -> None:
    owner = business.owner
    chat.send(owner, "/language")
    before = database.state.copy().tables
    chat.send(owner, text)
    last = chat.last(owner.telegram_id)
    assert "Please choose with the buttons, or /cancel." in last.text
    assert last.buttons() == ["English", "简体中文"]
    assert "<b>x</a>" not in last.text
    assert database.state.tables == before
    # The re-sent buttons work.
    chat.press(owner, "English", message=last)
    assert stored_language(database, business, "owner") == "en"


def test_typing_a_language_name_at_the_prompt_sets_it(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.owner, "/language")
    chat.send(business.owner, "简体中文")
    assert stored_language(database, business, "owner") == "zh_Hans"


def test_double_tap_sets_once(chat: ChatDriver, business: Business, database: FakeDatabase) -> None:
    sales = business.sales
    chat.send(sales, "/language")
    prompt = chat.last(sales.telegram_id)
    assert isinstance(prompt.keyboard, InlineKeyboard)
    data = next(b.data for row in prompt.keyboard.rows for b in row if b.text == "简体中文")
    chat.press_data(sales, data, message_id=prompt.message_id)
    menus = len(chat.menus)
    audit = dict(database.state.tables["audit"])
    chat.press_data(sales, data, message_id=prompt.message_id)
    assert chat.toasts[-1].text == zh(EXPIRED)
    assert len(chat.menus) == menus
    assert database.state.tables["audit"] == audit


def test_old_prompt_expires_after_a_new_one(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    sales = business.sales
    chat.send(sales, "/language")
    old = chat.last(sales.telegram_id)
    chat.send(sales, "/language")
    chat.press(sales, "简体中文", message=old)
    assert chat.toasts[-1].text == EXPIRED
    assert stored_language(database, business, "sales") is None
    chat.send(sales, "/cancel")
    new = chat.messages(sales.telegram_id)[1]
    chat.press(sales, "简体中文", message=new)
    assert chat.toasts[-1].text == EXPIRED
    assert stored_language(database, business, "sales") is None


@pytest.mark.parametrize(
    "data",
    ["c:{v}:set:fr", "c:{v}:set", "c:{v}:set:en:extra", "c:{v}:nope:en", "c:{v}:set:EN"],
)
def test_forged_buttons_change_nothing(
    chat: ChatDriver, business: Business, database: FakeDatabase, data: str
) -> None:
    sales = business.sales
    chat.send(sales, "/language")
    prompt = chat.last(sales.telegram_id)
    version = database.state.conversations[(sales.telegram_id, sales.telegram_id)].version
    before = database.state.copy().tables
    chat.press_data(sales, data.format(v=version), message_id=prompt.message_id)
    assert chat.toasts[-1].text == EXPIRED
    assert database.state.tables == before
    assert chat.menus == []


def test_redelivered_press_is_ignored(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    sales = business.sales
    chat.send(sales, "/language")
    chat.press(sales, "简体中文")
    menus = len(chat.menus)
    database.state.tables["users"][business.users["sales"].id]["language"] = "en"
    replies = chat.redeliver(sales)
    assert all(isinstance(r, Toast) and r.text == "" for r in replies)
    assert stored_language(database, business, "sales") == "en"  # not set again
    assert len(chat.menus) == menus


def test_every_role_may_choose(chat: ChatDriver, business: Business) -> None:
    for who in (business.owner, business.sales, business.warehouse, business.customer_contact):
        chat.send(who, "/language")
        assert chat.last(who.telegram_id).text != NOT_AVAILABLE
        chat.press(who, "English")
        assert chat.last(who.telegram_id).text == "Language set to English."


def test_in_a_group_only_the_asker_can_press(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    group = business.group_id
    chat.send(business.warehouse, "/language@chaterp_bot", chat=group)
    prompt = chat.last(group)
    chat.press(business.owner, "简体中文", chat=group, message=prompt)
    assert chat.toasts[-1].text == EXPIRED
    assert stored_language(database, business, "owner") is None
    chat.press(business.warehouse, "简体中文", chat=group, message=prompt)
    assert stored_language(database, business, "warehouse") == "zh_Hans"
    # The menu is scoped to the person's private chat, not the group.
    assert chat.menus[-1].chat_id == business.warehouse.telegram_id


def test_strangers_cannot_choose(chat: ChatDriver, business: Business) -> None:
    chat.send(business.stranger, "/language")
    assert chat.texts(business.stranger.telegram_id) == [
        "Hello! To use this bot, ask your administrator for an invite link."
    ]
    chat.press_data(business.stranger, pack("c", 1, "set", "zh_Hans"), message_id=1)
    assert chat.toasts[-1].text == (
        "Hello! To use this bot, ask your administrator for an invite link."
    )
    assert chat.toasts[-1].alert
    assert len(chat.messages(business.stranger.telegram_id)) == 1


def test_language_survives_on_sqlite(sql_chat: tuple[ChatDriver, Business]) -> None:
    chat, business = sql_chat
    chat.send(business.sales, "/language")
    chat.press(business.sales, "简体中文")
    assert chat.menus[-1].language == "zh_Hans"
    # A fresh person object with an English Telegram app still gets Chinese.
    chat.send(Person(business.sales.telegram_id, "Sam Sales", "en"), "/language")
    assert chat.last(business.sales.telegram_id).text == zh("Choose your language:")
