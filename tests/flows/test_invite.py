"""/invite ROLE: the owner gets a one-time deep link to forward (customers: pick which one)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from domain.model import Role
from handlers.i18n import Translator, pick_language
from handlers.replies import InlineKeyboard
from tests.chat_driver import ChatDriver, Person, Shown
from tests.fakes import FakeDatabase, FixedClock
from tests.flows.conftest import Business

LINK = re.compile(r"https://t\.me/chaterp_bot\?start=([A-Za-z0-9_-]+)")
NOT_AVAILABLE = "This command is not available to you. Type /help to see what you can do."


def in_language_of(person: Person, message: str) -> str:
    """``message`` as ``person`` sees it (sales2's Telegram app is in Chinese)."""
    return Translator(pick_language(None, person.language, "en"))(message)


EXPIRED = "This action has expired."
ROLE_BUTTONS = ["salesperson", "warehouse", "customer", "owner"]
BAD_INPUTS = [
    "-1",
    "0",
    "9" * 40,
    "NaN",
    "zzzz qqqq",
    "x" * 5000,
    "<b>x</a>",
    "_a_",
    "🙂",
    "'); DROP TABLE orders;--",
]


def invites(database: FakeDatabase) -> list[dict[str, object]]:
    return list(database.state.tables["invites"].values())


def token_in(text: str) -> str:
    match = LINK.search(text)
    assert match, f"no invite link in {text!r}"
    return match.group(1)


def data_of(shown: Shown, label: str) -> str:
    assert isinstance(shown.keyboard, InlineKeyboard)
    return next(b.data for row in shown.keyboard.rows for b in row if label in b.text)


def version(database: FakeDatabase, person: Person) -> int:
    return database.state.conversations[(person.telegram_id, person.telegram_id)].version


def test_role_buttons_then_a_link_that_binds_the_role(
    chat: ChatDriver, business: Business, database: FakeDatabase, clock: FixedClock
) -> None:
    owner = business.owner
    chat.send(owner, "/invite")
    prompt = chat.last(owner.telegram_id)
    assert prompt.text == "Who do you want to invite?"
    assert prompt.buttons() == ROLE_BUTTONS
    chat.press(owner, "salesperson")
    assert prompt.text == "Invite a new salesperson." and prompt.buttons() == []
    reply = chat.last(owner.telegram_id).text
    token = token_in(reply)
    assert len(token) <= 64
    assert reply.startswith("Invite link for a new salesperson:\n")
    until = Translator("en").when(clock.now() + timedelta(days=7))
    assert f"Valid until {until}, single use." in reply
    [row] = invites(database)
    assert row["role"] is Role.SALES and row["customer_id"] is None
    assert row["created_by"] == business.users["owner"].id
    assert database.state.conversations[(11, 11)].flow is None
    newcomer = Person(90, "Nina New")
    chat.send(newcomer, f"/start {token}")
    assert "You joined as salesperson" in chat.last(90).text
    chat.send(Person(91, "Second"), f"/start {token}")
    assert "already used" in chat.last(91).text


@pytest.mark.parametrize(
    ("typed", "role", "name"),
    [
        ("sales", Role.SALES, "salesperson"),
        ("Salesperson", Role.SALES, "salesperson"),
        ("warehouse", Role.WAREHOUSE, "warehouse"),
        ("OWNER", Role.OWNER, "owner"),
    ],
)
def test_invite_with_a_role_gives_the_link_at_once(
    chat: ChatDriver,
    business: Business,
    database: FakeDatabase,
    typed: str,
    role: Role,
    name: str,
) -> None:
    chat.send(business.owner, f"/invite {typed}")
    assert len(chat.messages(11)) == 1
    reply = chat.last(11).text
    assert reply.startswith(f"Invite link for a new {name}:")
    [row] = invites(database)
    assert row["role"] is role
    chat.send(Person(92, "Joiner"), f"/start {token_in(reply)}")
    assert f"You joined as {name}" in chat.last(92).text


def test_customer_invite_asks_which_customer_and_binds_it(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    owner = business.owner
    chat.send(owner, "/invite")
    chat.press(owner, "customer")
    assert chat.last(11).text == "Which customer is it for? Type part of the name."
    chat.send(owner, "acme")
    picker = chat.last(11)
    assert picker.text == "Which customer is it for?"
    assert picker.buttons()[0] == "ACME Trading"
    assert invites(database) == []  # even a sure match is confirmed by a button
    chat.press(owner, "ACME Trading")
    assert picker.text == "Customer: ACME Trading" and picker.buttons() == []
    reply = chat.last(11).text
    assert reply.startswith("Invite link for a contact of ACME Trading:")
    [row] = invites(database)
    assert row["role"] is Role.CUSTOMER and row["customer_id"] == business.acme.id
    chat.send(Person(93, "Buyer Two"), f"/start {token_in(reply)}")
    assert "You joined as customer" in chat.last(93).text
    joined = [u for u in database.state.tables["users"].values() if u["telegram_user_id"] == 93]
    assert joined[0]["customer_id"] == business.acme.id


def test_customer_in_the_command_and_chinese_names(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.owner, "/invite customer 恒通")
    assert chat.last(11).buttons()[0] == "恒通五金店"
    chat.press(business.owner, "恒通五金店")
    assert "恒通五金店" in chat.last(11).text
    assert invites(database)[0]["customer_id"] == business.hengtong.id


def test_customer_name_with_html_is_escaped(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    database.state.tables["customers"][business.acme.id]["name"] = "<b>ACME</a> & Co"
    chat.send(business.owner, "/invite customer acme")
    chat.press(business.owner, "ACME")
    reply = chat.last(11).text
    assert "&lt;b&gt;ACME&lt;/a&gt; &amp; Co" in reply
    assert "<b>ACME" not in reply


@pytest.mark.parametrize("text", BAD_INPUTS)
def test_bad_customer_search_says_why_and_asks_again(
    chat: ChatDriver, business: Business, database: FakeDatabase, text: str
) -> None:
    chat.send(business.owner, "/invite customer")
    before = database.state.copy().tables
    chat.send(business.owner, text)
    reply = chat.last(11)
    if reply.buttons():  # a fuzzy match is offered, never taken
        assert reply.text == "Which customer is it for?"
    elif len(text) > 100:
        assert reply.text == "That is too long. Type part of the customer's name."
    else:
        assert reply.text.startswith("No customer matches “")
        assert "Type another part of the name, or /cancel." in reply.text
    assert "<b>x</a>" not in reply.text
    assert database.state.tables == before
    assert database.state.conversations[(11, 11)].step == "invite:customer"
    chat.send(business.owner, "acme")
    chat.press(business.owner, "ACME Trading")
    assert len(invites(database)) == 1


@pytest.mark.parametrize("word", ["boss", "<b>x</a>", "x" * 5000, "🙂", "_a_"])
def test_unknown_role_shows_the_role_buttons(
    chat: ChatDriver, business: Business, database: FakeDatabase, word: str
) -> None:
    chat.send(business.owner, f"/invite {word}")
    reply = chat.last(11)
    assert reply.text.startswith("There is no role called “")
    assert reply.text.endswith("Who do you want to invite?")
    assert "<b>x</a>" not in reply.text and len(reply.text) < 200
    assert reply.buttons() == ROLE_BUTTONS
    assert invites(database) == []


def test_typing_a_role_at_the_role_prompt(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.owner, "/invite")
    chat.send(business.owner, "hello")
    assert chat.last(11).buttons() == ROLE_BUTTONS
    assert "There is no role called “hello”." in chat.last(11).text
    chat.send(business.owner, "warehouse")
    assert chat.last(11).text.startswith("Invite link for a new warehouse:")
    assert len(invites(database)) == 1


@pytest.mark.parametrize("who", ["sales", "sales2", "warehouse", "customer_contact"])
def test_only_owners_may_invite(
    chat: ChatDriver, business: Business, database: FakeDatabase, who: str
) -> None:
    person = getattr(business, who)
    for text in ("/invite", "/invite owner", "/invite customer acme"):
        chat.send(person, text)
        assert chat.last(person.telegram_id).text == in_language_of(person, NOT_AVAILABLE)
    assert invites(database) == []
    assert database.state.conversations[(person.telegram_id, person.telegram_id)].flow is None


def test_owner_role_button_forged_by_someone_else_does_nothing(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.owner, "/invite")
    data = data_of(chat.last(11), "owner")
    for person in (business.sales, business.warehouse, business.customer_contact):
        chat.press_data(person, data, message_id=1)
        assert chat.toasts[-1].text == EXPIRED
    chat.press_data(business.stranger, data, message_id=1)
    assert "invite link" in chat.toasts[-1].text
    assert invites(database) == []


def test_not_in_groups(chat: ChatDriver, business: Business, database: FakeDatabase) -> None:
    chat.send(business.owner, "/invite@chaterp_bot sales", chat=business.group_id)
    assert chat.last(business.group_id).text == NOT_AVAILABLE
    assert invites(database) == []


@pytest.mark.parametrize(
    "forged",
    [
        "c:{v}:role:admin",
        "c:{v}:role",
        "c:{v}:role:salesperson",
        "c:{v}:cust:1",
        "c:{v}:zap:sales",
        "c:{w}:role:owner",
    ],
)
def test_forged_buttons_at_the_role_step(
    chat: ChatDriver, business: Business, database: FakeDatabase, forged: str
) -> None:
    chat.send(business.owner, "/invite")
    v = version(database, business.owner)
    before = database.state.copy().tables
    chat.press_data(business.owner, forged.format(v=v, w=v + 1), message_id=1)
    assert chat.toasts[-1].text == EXPIRED
    assert database.state.tables == before
    chat.press(business.owner, "warehouse")  # the real buttons still work
    assert len(invites(database)) == 1


def test_forged_or_vanished_customer(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.owner, "/invite customer acme")
    v = version(database, business.owner)
    chat.press_data(business.owner, f"c:{v}:cust:999999", message_id=1)
    assert chat.toasts[-1].text == "Not found." and chat.toasts[-1].alert
    chat.press_data(business.owner, f"c:{v}:cust:abc", message_id=1)
    assert chat.toasts[-1].text == EXPIRED
    database.state.tables["customers"][business.acme.id]["active"] = False
    chat.press(business.owner, "ACME Trading")
    assert chat.toasts[-1].text == "Not found."
    assert invites(database) == []
    assert database.state.conversations[(11, 11)].step == "invite:customer"


def test_double_tap_makes_one_link(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.owner, "/invite")
    prompt = chat.last(11)
    chat.press(business.owner, "warehouse", message=prompt)
    data = f"c:{version(database, business.owner) - 1}:role:warehouse"
    chat.press_data(business.owner, data, message_id=prompt.message_id)
    assert chat.toasts[-1].text == EXPIRED
    assert len(invites(database)) == 1
    links = [t for t in chat.texts(11) if LINK.search(t)]
    assert len(links) == 1


def test_redelivered_command_makes_one_link(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.owner, "/invite sales")
    assert chat.redeliver(business.owner) == []
    assert len(invites(database)) == 1
    assert len(chat.messages(11)) == 1


def test_cancel_mid_way_and_stale_buttons(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    owner = business.owner
    chat.send(owner, "/invite customer acme")
    picker = chat.last(11)
    chat.send(owner, "/cancel")
    assert chat.last(11).text == "Cancelled. Nothing was saved."
    chat.press(owner, "ACME Trading", message=picker)
    assert chat.toasts[-1].text == EXPIRED
    chat.send(owner, "/invite")
    first = chat.last(11)
    chat.send(owner, "/invite")
    chat.press(owner, "owner", message=first)  # the conversation moved on
    assert chat.toasts[-1].text == EXPIRED
    assert invites(database) == []


def test_an_expired_invite_is_refused(
    chat: ChatDriver, business: Business, clock: FixedClock
) -> None:
    chat.send(business.owner, "/invite sales")
    token = token_in(chat.last(11).text)
    clock.advance(days=7, seconds=1)
    chat.send(Person(94, "Too Late"), f"/start {token}")
    assert "expired" in chat.last(94).text


def test_invite_on_sqlite(sql_chat: tuple[ChatDriver, Business]) -> None:
    chat, business = sql_chat
    chat.send(business.owner, "/invite customer acme")
    chat.press(business.owner, "ACME Trading")
    token = token_in(chat.last(11).text)
    chat.send(Person(95, "Sql Buyer"), f"/start {token}")
    assert "You joined as customer" in chat.last(95).text
