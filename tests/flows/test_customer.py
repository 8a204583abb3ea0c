"""/customer: name → look-alikes → phone → address → credit limit → terms → summary → Save."""

from __future__ import annotations

import pytest

from domain.model import Customer
from domain.money import Money
from domain.transaction import run_in_transaction
from handlers.replies import RemoveKeyboard, ReplyKeyboard
from tests.chat_driver import ChatDriver, Person
from tests.fakes import FakeDatabase
from tests.flows.conftest import Business


def customers(database: FakeDatabase) -> list[Customer]:
    return run_in_transaction(database.uow, lambda uow: uow.customers.list())


def named(database: FakeDatabase, name: str) -> list[Customer]:
    return [c for c in customers(database) if c.name == name]


def fill_in(chat: ChatDriver, person: Person, name: str = "Kim Hardware") -> None:
    """Everything up to the summary card, with typed values."""
    chat.send(person, "/customer")
    chat.send(person, name)
    chat.send(person, "+86 139 1234 5678")
    chat.send(person, "8 Market St, Guangzhou")
    chat.send(person, "5,000")
    chat.send(person, "45")


def test_happy_path(chat: ChatDriver, business: Business, database: FakeDatabase) -> None:
    sales = business.sales
    chat.send(sales, "/customer")
    assert "What is the customer's name?" in chat.last(12).text
    chat.send(sales, "Kim Hardware")
    phone_prompt = chat.last(12)
    assert "Phone number?" in phone_prompt.text
    assert isinstance(phone_prompt.keyboard, ReplyKeyboard)
    assert phone_prompt.buttons() == ["Skip", "📱 Share contact"]
    chat.send(sales, "+86 139 1234 5678")
    assert isinstance(chat.messages(12)[-2].keyboard, RemoveKeyboard)
    assert "Address?" in chat.last(12).text
    chat.send(sales, "8 Market St, Guangzhou")
    assert "Credit limit?" in chat.last(12).text
    chat.send(sales, "¥5,000")
    assert "Payment terms" in chat.last(12).text
    chat.send(sales, "45 days")
    summary = chat.last(12)
    assert summary.text == (
        "👤 <b>New customer</b>\n"
        "Name: Kim Hardware\n"
        "Phone: +86 139 1234 5678\n"
        "Address: 8 Market St, Guangzhou\n"
        "Credit limit: CN¥5,000.00\n"
        "Payment terms: 45 days"
    )
    assert summary.buttons() == ["💾 Save", "✖ Cancel"]
    assert named(database, "Kim Hardware") == []  # nothing before Save
    chat.press(sales, "Save")
    assert chat.last(12).text == "✅ Saved customer Kim Hardware."
    [kim] = named(database, "Kim Hardware")
    assert kim.phone == "+86 139 1234 5678"
    assert kim.address == "8 Market St, Guangzhou"
    assert kim.credit_limit == Money(500000, "CNY")
    assert kim.payment_terms_days == 45
    assert kim.sales_rep_id == business.users["sales"].id
    chat.send(sales, "hello")
    assert chat.last(12).text == "Type /help to see what you can do."


def test_owner_creates_an_unassigned_customer_with_the_command_argument(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.owner, "/customer Lucky Star Trading")
    assert "Phone number?" in chat.last(11).text
    chat.send(business.owner, "Skip")
    chat.press(business.owner, "Skip")
    chat.press(business.owner, "No limit")
    chat.press(business.owner, "30 days (default)")
    summary = chat.last(11).text
    assert "Phone: —" in summary and "Credit limit: none" in summary
    assert "Payment terms: 30 days" in summary
    chat.press(business.owner, "Save")
    [lucky] = named(database, "Lucky Star Trading")
    assert (lucky.phone, lucky.address, lucky.credit_limit) == ("", "", None)
    assert lucky.payment_terms_days == 30
    assert lucky.sales_rep_id is None


def test_share_contact(chat: ChatDriver, business: Business, database: FakeDatabase) -> None:
    chat.send(business.sales, "/customer")
    chat.send(business.sales, "Kim Hardware")
    chat.share_contact(business.sales, "+8613912345678")
    assert "📞 +8613912345678" in chat.messages(12)[-2].text
    chat.press(business.sales, "Skip")
    chat.press(business.sales, "No limit")
    chat.press(business.sales, "default")
    chat.press(business.sales, "Save")
    [kim] = named(database, "Kim Hardware")
    assert kim.phone == "+8613912345678"


def test_a_look_alike_can_be_used(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.sales, "/customer")
    chat.send(business.sales, "Acme Tradng")
    shown = chat.last(12)
    assert "This looks like an existing customer:" in shown.text
    assert "• ACME Trading · +86 138 0013 8000" in shown.text
    assert shown.buttons() == ["Use ACME Trading", "➕ Create new", "✖ Cancel"]
    chat.press(business.sales, "Use ACME Trading")
    assert "ACME Trading is already a customer" in chat.last(12).text
    assert len(customers(database)) == 2


def test_a_look_alike_can_be_ignored(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.sales, "/customer")
    chat.send(business.sales, "ACME Trading")
    chat.press(business.sales, "Create new")
    assert "Phone number?" in chat.last(12).text
    chat.send(business.sales, "13912345678")
    chat.press(business.sales, "Skip")
    chat.press(business.sales, "No limit")
    chat.press(business.sales, "default")
    chat.press(business.sales, "Save")
    assert chat.last(12).text == "✅ Saved customer ACME Trading."
    assert len(named(database, "ACME Trading")) == 2


def test_the_same_phone_is_caught_at_save(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.sales, "/customer")
    chat.send(business.sales, "Harbour Shop")
    chat.send(business.sales, "138-0013-8000")  # ACME's phone, typed differently
    chat.press(business.sales, "Skip")
    chat.press(business.sales, "No limit")
    chat.press(business.sales, "default")
    chat.press(business.sales, "Save")
    assert "This looks like an existing customer:" in chat.last(12).text
    assert named(database, "Harbour Shop") == []
    chat.press(business.sales, "Create new")
    assert chat.last(12).text == "✅ Saved customer Harbour Shop."
    assert len(named(database, "Harbour Shop")) == 1


def test_another_salespersons_look_alike_is_not_offered(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.sales, "/customer")
    chat.send(business.sales, "恒通五金店")
    shown = chat.last(12)
    assert "1 similar customer of another salesperson" in shown.text
    assert "恒通五金店 ·" not in shown.text
    assert shown.buttons() == ["➕ Create new", "✖ Cancel"]
    # a forged "use" of that customer picks nobody
    version = shown.keyboard.rows[0][0].data.split(":")[1]  # type: ignore[union-attr]
    chat.press_data(
        business.sales, f"c:{version}:use:{business.hengtong.id}", message_id=shown.message_id
    )
    assert chat.toasts[-1].text == "This action has expired."
    chat.send(business.owner, "/customer 恒通五金店")
    assert "Use 恒通五金店" in chat.last(11).buttons()


def test_double_tap_on_save_creates_one_customer(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    fill_in(chat, business.sales)
    summary = chat.last(12)
    chat.press(business.sales, "Save", message=summary)
    chat.press(business.sales, "Save", message=summary)
    assert chat.toasts[-1].text == "This action has expired."
    assert len(named(database, "Kim Hardware")) == 1


def test_redelivered_save_creates_one_customer(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    fill_in(chat, business.sales)
    chat.press(business.sales, "Save")
    shown = len(chat.messages(12))
    chat.redeliver(business.sales)
    assert len(chat.messages(12)) == shown
    assert len(named(database, "Kim Hardware")) == 1


def test_cancel(chat: ChatDriver, business: Business, database: FakeDatabase) -> None:
    fill_in(chat, business.sales)
    chat.press(business.sales, "Cancel")
    assert chat.last(12).text == "Cancelled. Nothing was saved."
    chat.send(business.sales, "/customer")
    chat.send(business.sales, "Kim Hardware")
    chat.send(business.sales, "/cancel")
    assert chat.last(12).text == "Cancelled. Nothing was saved."
    chat.send(business.sales, "13912345678")
    assert chat.last(12).text == "Type /help to see what you can do."
    assert named(database, "Kim Hardware") == []


def test_stale_button(chat: ChatDriver, business: Business, database: FakeDatabase) -> None:
    chat.send(business.sales, "/customer")
    chat.send(business.sales, "Kim Hardware")
    chat.send(business.sales, "13912345678")
    address_prompt = chat.last(12)
    chat.send(business.sales, "8 Market St")  # moved on to the credit limit
    chat.press(business.sales, "Skip", message=address_prompt)
    assert chat.toasts[-1].text == "This action has expired."
    assert "Credit limit?" in chat.last(12).text
    fill_in(chat, business.sales)
    summary = chat.last(12)
    chat.send(business.sales, "/cancel")
    chat.press(business.sales, "Save", message=summary)
    assert "finished conversation" in chat.last(12).text
    assert named(database, "Kim Hardware") == []


@pytest.mark.parametrize("who", ["warehouse", "customer_contact"])
def test_only_owners_and_sales(chat: ChatDriver, business: Business, who: str) -> None:
    person: Person = getattr(business, who)
    chat.send(person, "/customer")
    assert "not available to you" in chat.last(person.telegram_id).text


def test_strangers(chat: ChatDriver, business: Business) -> None:
    chat.send(business.stranger, "/customer")
    assert "ask your administrator" in chat.last(16).text


# --- bad input at every prompt ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("x" * 5000, "That is too long."),
        ("😀😀", "A name needs letters or digits."),
        ("   ", "Nothing was entered."),
    ],
)
def test_bad_names(
    chat: ChatDriver, business: Business, database: FakeDatabase, text: str, reason: str
) -> None:
    chat.send(business.sales, "/customer")
    chat.send(business.sales, text)
    assert reason in chat.last(12).text
    assert "What is the customer's name?" in chat.last(12).text
    assert len(customers(database)) == 2


@pytest.mark.parametrize("name", ["<b>x</a>", "_a_", "'); DROP TABLE orders;--", "Kim 😀 Shop"])
def test_odd_names_are_kept_literally_and_shown_escaped(
    chat: ChatDriver, business: Business, database: FakeDatabase, name: str
) -> None:
    fill_in(chat, business.sales, name)
    summary = chat.last(12).text
    assert "<b>x</a>" not in summary
    chat.press(business.sales, "Save")
    assert "<b>x</a>" not in chat.last(12).text
    assert len(named(database, name)) == 1
    if name == "<b>x</a>":
        assert "Name: &lt;b&gt;x&lt;/a&gt;" in summary


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", "does not look like a phone number"),
        ("12", "does not look like a phone number"),
        ("<b>1</b>", "does not look like a phone number"),
        ("1" * 5000, "too long"),
        ("'); DROP TABLE orders;--", "does not look like a phone number"),
    ],
)
def test_bad_phones(chat: ChatDriver, business: Business, text: str, reason: str) -> None:
    chat.send(business.sales, "/customer")
    chat.send(business.sales, "Kim Hardware")
    chat.send(business.sales, text)
    assert reason in chat.last(12).text
    assert "Phone number?" in chat.last(12).text
    chat.share_contact(business.sales, "not a phone")
    assert "does not look like a phone number" in chat.last(12).text


@pytest.mark.parametrize(
    ("text", "reason"), [("x" * 5000, "That is too long."), ("😀", "needs letters or digits")]
)
def test_bad_addresses(chat: ChatDriver, business: Business, text: str, reason: str) -> None:
    chat.send(business.sales, "/customer")
    chat.send(business.sales, "Kim Hardware")
    chat.send(business.sales, "Skip")
    chat.send(business.sales, text)
    assert reason in chat.last(12).text
    assert "Address?" in chat.last(12).text


def test_html_address_is_kept_literally(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.sales, "/customer")
    chat.send(business.sales, "Kim Hardware")
    chat.send(business.sales, "Skip")
    chat.send(business.sales, "<b>x</a> Road")
    chat.press(business.sales, "No limit")
    chat.press(business.sales, "default")
    assert "Address: &lt;b&gt;x&lt;/a&gt; Road" in chat.last(12).text
    chat.press(business.sales, "Save")
    assert named(database, "Kim Hardware")[0].address == "<b>x</a> Road"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-3", "It cannot be negative."),
        ("NaN", "That is not a number."),
        ("1e9", "That is not a number."),
        ("abc", "That is not a number."),
        ("1000000000", "That is too large."),
        ("0.001", "That has too many decimals."),
        ("x" * 5000, "That is too long."),
        ("<b>x</a>", "That is not a number."),
    ],
)
def test_bad_credit_limits(chat: ChatDriver, business: Business, text: str, reason: str) -> None:
    chat.send(business.sales, "/customer")
    chat.send(business.sales, "Kim Hardware")
    chat.send(business.sales, "Skip")
    chat.press(business.sales, "Skip")
    chat.send(business.sales, text)
    assert reason in chat.last(12).text
    assert "Credit limit?" in chat.last(12).text


def test_zero_credit_limit_is_allowed(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.sales, "/customer Cash Only Ltd")
    chat.send(business.sales, "Skip")
    chat.press(business.sales, "Skip")
    chat.send(business.sales, "0")
    chat.send(business.sales, "0")
    assert "Payment terms: 0 days" in chat.last(12).text
    chat.press(business.sales, "Save")
    [cash] = named(database, "Cash Only Ltd")
    assert cash.credit_limit == Money(0, "CNY")
    assert cash.payment_terms_days == 0


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-1", "It cannot be negative."),
        ("366", "out of the allowed range"),
        ("1.5", "whole number of days"),
        ("NaN", "That is not a number."),
        ("abc", "That is not a number."),
        ("1e9", "That is not a number."),
        ("x" * 5000, "That is too long."),
    ],
)
def test_bad_payment_terms(chat: ChatDriver, business: Business, text: str, reason: str) -> None:
    chat.send(business.sales, "/customer")
    chat.send(business.sales, "Kim Hardware")
    chat.send(business.sales, "Skip")
    chat.press(business.sales, "Skip")
    chat.press(business.sales, "No limit")
    chat.send(business.sales, text)
    assert reason in chat.last(12).text
    assert "Payment terms" in chat.last(12).text


def test_typing_where_a_button_is_expected(chat: ChatDriver, business: Business) -> None:
    fill_in(chat, business.sales)
    chat.send(business.sales, "save it")
    assert chat.last(12).text == "Please use the buttons above, or /cancel."
    chat.press(business.sales, "Save")
    assert chat.last(12).text == "✅ Saved customer Kim Hardware."
