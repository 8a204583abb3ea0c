"""/balance [customer]: balance, credit and open invoices by age, for whom each role may see."""

from __future__ import annotations

from datetime import datetime

import pytest

from domain.model import Actor, Customer, Role
from domain.money import Money
from domain.services.customers import CustomerDraft, create_customer
from domain.services.payments import record_payment
from domain.services.users import add_user
from domain.transaction import run_in_transaction
from tests.chat_driver import ChatDriver, Person
from tests.conftest import TZ
from tests.fakes import FakeDatabase, FixedClock
from tests.flows.conftest import Business
from tests.flows.test_payment import place, ship

NOT_AVAILABLE = "This command is not available to you. Type /help to see what you can do."


def new_customer(
    database: FakeDatabase, business: Business, name: str, rep: str | None = "sales"
) -> Customer:
    draft = CustomerDraft(name=name, sales_rep_id=business.users[rep].id if rep else None)
    return run_in_transaction(
        database.uow,
        lambda uow: create_customer(
            uow, actor=business.actor("owner"), draft=draft, allow_similar=True
        ),
    ).customer


def pay(database: FakeDatabase, business: Business, customer_id: int, minor: int) -> None:
    run_in_transaction(
        database.uow,
        lambda uow: record_payment(
            uow,
            actor=business.actor("owner"),
            customer_id=customer_id,
            amount=Money(minor, "CNY"),
            method="cash",
            idempotency_key=f"test-pay-{customer_id}-{minor}",
        ),
    )


@pytest.fixture
def aged(database: FakeDatabase, business: Business, clock: FixedClock) -> None:
    """ACME with one open invoice in every ageing bucket, seen on 2026-07-10."""
    acme = business.acme.id
    orders = [
        place(database, business, acme, [(business.widget.id, "10")]),  # 125.00
        place(database, business, acme, [(business.bolt.id, "2")]),  # 70.00
        place(database, business, acme, [(business.screw.id, "2")]),  # 44.00
        place(database, business, acme, [(business.wire.id, "1")]),  # 68.00
        place(database, business, acme, [(business.widget.id, "4")]),  # 50.00
    ]
    ship_days = [(3, 2), (4, 1), (5, 1), (6, 1), (6, 10)]  # due 30 days later
    for order, (month, day) in zip(orders, ship_days, strict=True):
        clock.set(datetime(2026, month, day, 10, 0, tzinfo=TZ))
        ship(database, business, order)
    clock.set(datetime(2026, 7, 10, 10, 0, tzinfo=TZ))


def test_owner_sees_balance_with_ageing_buckets(
    chat: ChatDriver, business: Business, aged: None
) -> None:
    chat.send(business.owner, "/balance acme")
    assert chat.last(11).text == "\n".join(
        [
            "<b>ACME Trading</b>",
            "Balance: owes CN¥357.00",
            "Open invoices: CN¥357.00",
            "",
            "Ageing:",
            "• Not yet due: CN¥50.00",
            "• 1–30 days: CN¥68.00",
            "• 31–60 days: CN¥44.00",
            "• 61–90 days: CN¥70.00",
            "• Over 90 days: CN¥125.00",
            "",
            "Invoices:",
            "• INV-000001 · due Apr 1, 2026 · CN¥125.00 · 100 days overdue",
            "• INV-000002 · due May 1, 2026 · CN¥70.00 · 70 days overdue",
            "• INV-000003 · due May 31, 2026 · CN¥44.00 · 40 days overdue",
            "• INV-000004 · due Jul 1, 2026 · CN¥68.00 · 9 days overdue",
            "• INV-000005 · due Jul 10, 2026 · CN¥50.00",
        ]
    )


def test_empty_buckets_are_left_out_and_credit_is_shown(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    pay(database, business, business.acme.id, 30000)
    chat.send(business.sales, "/balance ACME")
    assert chat.last(12).text == (
        "<b>ACME Trading</b>\nBalance: credit CN¥300.00\nNo open invoices."
    )


def test_customer_sees_only_their_own_balance(
    chat: ChatDriver, business: Business, database: FakeDatabase, aged: None
) -> None:
    other = place(database, business, business.hengtong.id, [(business.bolt.id, "1")], by="sales2")
    ship(database, business, other)
    mary = business.customer_contact
    chat.send(mary, "/balance")
    own = chat.last(15).text
    assert own.startswith("<b>ACME Trading</b>\nBalance: owes CN¥357.00")
    # A name after the command changes nothing: still only their own.
    for text in ("/balance 恒通五金店", "/balance hengtong", "/balance <b>x</a>"):
        chat.send(mary, text)
        assert chat.last(15).text == own
    assert "恒通" not in "".join(chat.texts(15))
    assert "INV-000006" not in "".join(chat.texts(15))


def test_customer_without_a_linked_company(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    run_in_transaction(
        database.uow,
        lambda uow: add_user(
            uow, actor=Actor.system("test"), name="Loose", role=Role.CUSTOMER, telegram_user_id=90
        ),
    )
    chat.send(Person(90, "Loose"), "/balance")
    assert (
        chat.last(90).text == "Your account is not linked to a customer. Please ask us to link it."
    )


def test_salesperson_list_has_only_their_customers_largest_first(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    zeta = new_customer(database, business, "Zeta Shop")
    new_customer(database, business, "Quiet Corner", rep=None)  # unassigned: visible
    ship(
        database, business, place(database, business, business.acme.id, [(business.widget.id, "2")])
    )
    ship(database, business, place(database, business, zeta.id, [(business.bolt.id, "2")]))
    ship(
        database,
        business,
        place(database, business, business.hengtong.id, [(business.bolt.id, "3")], by="sales2"),
    )
    chat.send(business.sales, "/balance")
    assert chat.last(12).text == "\n".join(
        [
            "<b>Customer balances</b>, largest first:",
            "• Zeta Shop — owes CN¥70.00",
            "• ACME Trading — owes CN¥25.00",
            "• Quiet Corner — nothing owed",
            "",
            "Tap a customer or type a name for details.",
        ]
    )
    assert chat.last(12).buttons() == ["Zeta Shop", "ACME Trading", "Quiet Corner"]
    chat.press(business.sales, "Zeta Shop")
    assert chat.last(12).text.startswith("<b>Zeta Shop</b>\nBalance: owes CN¥70.00")


def test_owner_list_has_everyone_with_credit_last(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    pay(database, business, business.acme.id, 1000)
    ship(
        database,
        business,
        place(database, business, business.hengtong.id, [(business.bolt.id, "1")], by="sales2"),
    )
    chat.send(business.owner, "/balance")
    assert chat.texts(11)[-1].splitlines()[1:3] == [
        "• 恒通五金店 — owes CN¥35.00",
        "• ACME Trading — credit CN¥10.00",
    ]
    chat.send(business.owner, "恒通")  # typing a name at the list
    assert chat.last(11).text.startswith("<b>恒通五金店</b>")


def test_salesperson_cannot_see_another_reps_customer(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.sales, "/balance 恒通五金店")
    assert chat.last(12).text.startswith("No customer matches")
    with database.uow() as uow:
        version = uow.conversations.get(12, 12).version
    chat.press_data(business.sales, f"c:{version}:cust:{business.hengtong.id}", message_id=1)
    assert chat.toasts[-1].text == "This action has expired."
    assert not any("恒通五金店</b>" in text for text in chat.texts(12))
    chat.send(business.sales2, "/balance 恒通五金店")
    assert chat.last(13).text.startswith("<b>恒通五金店</b>")


@pytest.mark.parametrize(
    "typed",
    ["<b>x</a>", "_a_", "'); DROP TABLE orders;--", "🙂🙂", "q" * 5000, "0", "-5", "NaN"],
)
def test_bad_names_are_refused_safely(chat: ChatDriver, business: Business, typed: str) -> None:
    chat.send(business.sales, "/balance")
    chat.send(business.sales, typed)
    reply = chat.last(12).text
    assert reply.startswith("No customer matches “"), reply
    assert reply.endswith("Type part of the name or the phone number again.")
    assert "<b>x" not in reply and len(reply) < 200
    chat.send(business.sales, "acme")  # still asking
    assert chat.last(12).text.startswith("<b>ACME Trading</b>")


def test_ambiguous_name_gets_buttons(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    new_customer(database, business, "ACME Tools")
    chat.send(business.sales, "/balance acme")
    assert chat.last(12).text == "Which customer do you mean?"
    chat.press(business.sales, "ACME Tools")
    assert chat.last(12).text.startswith("<b>ACME Tools</b>")


def test_stale_list_buttons(chat: ChatDriver, business: Business) -> None:
    chat.send(business.owner, "/balance")
    listing = chat.last(11)
    chat.press(business.owner, "ACME Trading")
    chat.press(business.owner, "ACME Trading", message=listing)  # conversation is over
    assert chat.toasts[-1].text == "This action has expired."
    chat.send(business.owner, "/balance")
    listing = chat.last(11)
    chat.send(business.owner, "/cancel")
    chat.press(business.owner, "恒通五金店", message=listing)
    assert chat.toasts[-1].text == "This action has expired."
    assert sum(text.startswith("<b>恒通五金店</b>") for text in chat.texts(11)) == 0


@pytest.mark.parametrize("who", ["warehouse", "stranger"])
def test_warehouse_and_strangers_cannot_see_balances(
    chat: ChatDriver, business: Business, who: str
) -> None:
    person: Person = getattr(business, who)
    chat.send(person, "/balance acme")
    text = chat.last(person.telegram_id).text
    assert "ACME" not in text
    assert text in (
        NOT_AVAILABLE,
        "Hello! To use this bot, ask your administrator for an invite link.",
    )


def test_redelivered_balance_is_not_answered_twice(chat: ChatDriver, business: Business) -> None:
    chat.send(business.customer_contact, "/balance")
    assert chat.redeliver(business.customer_contact) == []
    assert len(chat.messages(15)) == 1
