"""/payment: customer → invoices and balance → amount → first invoice → method → confirm."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest

from domain.model import Invoice, Payment, SalesOrder
from domain.quantity import Quantity
from domain.services.customers import CustomerDraft, create_customer
from domain.services.orders import LineRequest, place_order
from domain.services.shipping import ship_order
from domain.transaction import run_in_transaction
from handlers.replies import InlineKeyboard, SendText
from tests.chat_driver import ChatDriver, Person, Shown
from tests.fakes import FakeDatabase, FixedClock
from tests.flows.conftest import Business

# --- ledger helpers (also used by the /balance, /orders and /status tests) -----------------

_ORDER_KEYS = itertools.count(1)


def place(
    database: FakeDatabase,
    business: Business,
    customer_id: int,
    lines: Sequence[tuple[int, str]],
    *,
    by: str = "sales",
    key: str | None = None,
) -> SalesOrder:
    """Place an order (committed) for ``customer_id`` with (product id, quantity) lines."""
    counter = next(_ORDER_KEYS)
    return run_in_transaction(
        database.uow,
        lambda uow: place_order(
            uow,
            actor=business.actor(by),
            customer_id=customer_id,
            lines=[LineRequest(pid, Quantity.of(qty)) for pid, qty in lines],
            idempotency_key=key or f"test-order-{counter}",
        ),
    ).order


def ship(
    database: FakeDatabase,
    business: Business,
    order: SalesOrder,
    quantities: dict[int, Quantity] | None = None,
) -> Invoice:
    """Ship (all, or ``{line_id: Quantity}``) and return the invoice it issued."""
    result = run_in_transaction(
        database.uow,
        lambda uow: ship_order(
            uow, actor=business.actor("warehouse"), order_id=order.id, quantities=quantities
        ),
    )
    assert result.invoice is not None
    return result.invoice


def invoice_for(
    database: FakeDatabase,
    business: Business,
    customer_id: int,
    product_id: int,
    quantity: str,
    *,
    by: str = "sales",
) -> Invoice:
    """An open invoice: an order placed and shipped in full."""
    return ship(
        database, business, place(database, business, customer_id, [(product_id, quantity)], by=by)
    )


def payments(database: FakeDatabase, customer_id: int) -> list[Payment]:
    with database.uow() as uow:
        return uow.payments.for_customer(customer_id)


def invoice_now(database: FakeDatabase, invoice_id: int) -> Invoice:
    with database.uow() as uow:
        invoice = uow.invoices.get(invoice_id)
    assert invoice is not None
    return invoice


def button_data(shown: Shown, label: str) -> str:
    assert isinstance(shown.keyboard, InlineKeyboard)
    return next(b.data for row in shown.keyboard.rows for b in row if label in b.text)


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def two_invoices(
    database: FakeDatabase, business: Business, clock: FixedClock
) -> tuple[Invoice, Invoice]:
    """ACME owes 125.00 (INV-000001, 15 days overdue) and 140.00 (INV-000002, due later)."""
    first = invoice_for(database, business, business.acme.id, business.widget.id, "10")
    clock.advance(days=45)
    second = invoice_for(database, business, business.acme.id, business.bolt.id, "4")
    return first, second


def start_to_amount(chat: ChatDriver, person: Person, customer: str = "acme") -> None:
    chat.send(person, f"/payment {customer}")
    assert "How much was paid?" in chat.last(person.telegram_id).text


# --- happy paths ----------------------------------------------------------------------------


def test_payment_shows_invoices_then_allocates_oldest_first(
    chat: ChatDriver, business: Business, database: FakeDatabase, two_invoices: tuple
) -> None:
    first, second = two_invoices
    sales = business.sales
    chat.send(sales, "/payment acme")
    shown = chat.last(12).text
    assert "INV-000001 · due Apr 1, 2026 · CN¥125.00 · 15 days overdue" in shown
    assert "INV-000002 · due May 16, 2026 · CN¥140.00" in shown
    assert "Balance: owes CN¥265.00" in shown
    assert chat.last(12).buttons() == ["Pay all (CN¥265.00)"]
    chat.send(sales, "200")
    assert "Which invoice should CN¥200.00 pay first?" in chat.last(12).text
    assert chat.last(12).buttons() == [
        "INV-000001 · CN¥125.00",
        "INV-000002 · CN¥140.00",
        "Oldest first",
    ]
    chat.press(sales, "Oldest first")
    assert chat.last(12).buttons() == ["Cash", "Bank transfer", "Other"]
    chat.press(sales, "Bank transfer")
    card = chat.last(12)
    assert "Amount: CN¥200.00" in card.text
    assert "Method: Bank transfer" in card.text
    assert "Pays the oldest invoices first." in card.text
    assert payments(database, business.acme.id) == []  # nothing before Confirm
    chat.press(sales, "Confirm")
    assert chat.last(12).text == (
        "PAY-000001 recorded: CN¥200.00 — INV-000001 paid in full, INV-000002 CN¥65.00 left"
        "\nBalance now: owes CN¥65.00"
    )
    assert card.buttons() == []  # the card lost its buttons
    [payment] = payments(database, business.acme.id)
    assert payment.amount.minor == 20000 and payment.method == "bank_transfer"
    assert invoice_now(database, first.id).outstanding.minor == 0
    assert invoice_now(database, second.id).outstanding.minor == 6500
    # The conversation is over: more typing starts nothing.
    chat.send(sales, "300")
    assert chat.last(12).text == "Type /help to see what you can do."


def test_chosen_invoice_is_paid_first(
    chat: ChatDriver, business: Business, database: FakeDatabase, two_invoices: tuple
) -> None:
    first, second = two_invoices
    start_to_amount(chat, business.sales)
    chat.send(business.sales, "100")
    chat.press(business.sales, "INV-000002")
    chat.press(business.sales, "Cash")
    assert "Pays INV-000002 first, then the oldest." in chat.last(12).text
    chat.press(business.sales, "Confirm")
    assert "INV-000002 CN¥40.00 left\nBalance now" in chat.last(12).text
    assert invoice_now(database, first.id).outstanding.minor == 12500
    assert invoice_now(database, second.id).outstanding.minor == 4000


def test_pay_all_settles_everything(
    chat: ChatDriver, business: Business, database: FakeDatabase, two_invoices: tuple
) -> None:
    start_to_amount(chat, business.owner)
    chat.press(business.owner, "Pay all")
    chat.press(business.owner, "Oldest first")
    chat.press(business.owner, "Other")
    chat.press(business.owner, "Confirm")
    assert chat.last(11).text.startswith(
        "PAY-000001 recorded: CN¥265.00 — INV-000001 paid in full, INV-000002 paid in full\n"
    )
    assert "Balance now: nothing owed" in chat.last(11).text
    assert [p.amount.minor for p in payments(database, business.acme.id)] == [26500]


def test_overpayment_is_shown_as_credit(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    invoice_for(database, business, business.acme.id, business.widget.id, "10")  # 125.00
    start_to_amount(chat, business.sales)
    chat.send(business.sales, "¥1,000")
    # One open invoice: no "which invoice first" question.
    assert chat.last(12).buttons() == ["Cash", "Bank transfer", "Other"]
    chat.press(business.sales, "Cash")
    assert "CN¥875.00 will be kept as credit." in chat.last(12).text
    chat.press(business.sales, "Confirm")
    assert chat.last(12).text == (
        "PAY-000001 recorded: CN¥1,000.00 — INV-000001 paid in full\nBalance now: credit CN¥875.00"
    )
    [payment] = payments(database, business.acme.id)
    assert payment.unallocated.minor == 87500


def test_payment_without_open_invoices_becomes_credit(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.sales, "/payment ACME Trading")
    assert "No open invoices." in chat.last(12).text
    assert chat.last(12).buttons() == []  # no "Pay all" when nothing is owed
    chat.send(business.sales, "50")
    chat.press(business.sales, "Cash")
    chat.press(business.sales, "Confirm")
    assert "— no open invoices\nBalance now: credit CN¥50.00" in chat.last(12).text
    assert payments(database, business.acme.id)[0].unallocated.minor == 5000


def receipts(chat: ChatDriver, chat_id: int) -> list[Shown]:
    """The payment receipts among what a customer's chat shows (it also hears of shipments)."""
    return [m for m in chat.messages(chat_id) if "PAY-" in m.text]


def test_receipt_goes_to_the_linked_customer_in_their_language(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    invoice_for(database, business, business.acme.id, business.widget.id, "10")
    run_in_transaction(
        database.uow, lambda uow: uow.users.set_language(business.users["customer"].id, "zh_Hans")
    )
    start_to_amount(chat, business.sales)
    chat.send(business.sales, "100")
    chat.press(business.sales, "Cash")
    assert receipts(chat, 15) == []  # nothing before Confirm
    chat.press(business.sales, "Confirm")
    [receipt] = receipts(chat, 15)
    # Money is formatted for zh_Hans (no "CN" prefix), unlike the salesperson's English reply.
    assert "¥100.00" in receipt.text and "CN¥" not in receipt.text
    assert "PAY-000001" in receipt.text and "INV-000001" in receipt.text
    assert "¥25.00" in receipt.text  # what is still left on the invoice / the balance
    assert "CN¥100.00" in chat.last(12).text
    # Hengtong's contacts (none) and other staff get nothing.
    assert chat.messages(13) == [] and chat.messages(11) == []


def test_receipt_in_english_by_default_and_not_for_revoked_users(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    start_to_amount(chat, business.owner)
    chat.send(business.owner, "10")
    chat.press(business.owner, "Cash")
    chat.press(business.owner, "Confirm")
    [receipt] = chat.messages(15)
    assert receipt.text.startswith(
        "Thank you! We received your payment of CN¥10.00 (PAY-000001, Cash)."
    )
    assert "Kept as credit: CN¥10.00" in receipt.text
    run_in_transaction(
        database.uow, lambda uow: uow.users.set_active(business.users["customer"].id, False)
    )
    start_to_amount(chat, business.owner)
    chat.send(business.owner, "10")
    chat.press(business.owner, "Cash")
    chat.press(business.owner, "Confirm")
    assert len(chat.messages(15)) == 1


def test_receipt_only_to_contacts_of_that_customer(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.sales2, "/payment 恒通")  # Sue reads Chinese
    chat.send(business.sales2, "10")
    chat.press(business.sales2, "现金")
    chat.press(business.sales2, "确认")
    assert len(payments(database, business.hengtong.id)) == 1
    assert chat.messages(15) == []  # Mary is ACME's contact


# --- picking the customer -------------------------------------------------------------------


def test_no_argument_suggests_customers_who_owe(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    invoice_for(database, business, business.acme.id, business.widget.id, "2")
    chat.send(business.owner, "/payment")
    assert "Which customer paid?" in chat.last(11).text
    assert chat.last(11).buttons() == ["ACME Trading"]  # 恒通 owes nothing
    chat.press(business.owner, "ACME Trading")
    assert "INV-000001" in chat.last(11).text


def test_ambiguous_customer_gets_buttons(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    run_in_transaction(
        database.uow,
        lambda uow: create_customer(
            uow,
            actor=business.actor("owner"),
            draft=CustomerDraft(name="ACME Tools", sales_rep_id=business.users["sales"].id),
            allow_similar=True,
        ),
    )
    chat.send(business.sales, "/payment acme")
    assert chat.last(12).text == "Which customer do you mean?"
    assert sorted(chat.last(12).buttons()) == ["ACME Tools", "ACME Trading"]
    chat.press(business.sales, "ACME Tools")
    assert chat.last(12).text.startswith("<b>ACME Tools</b>")


def test_unknown_customer_asks_again_and_escapes(chat: ChatDriver, business: Business) -> None:
    chat.send(business.sales, "/payment")
    for text in ("<b>x</a>", "xyzzy", "_a_", "'); DROP TABLE orders;--", "🙂", "z" * 5000):
        chat.send(business.sales, text)
        reply = chat.last(12).text
        assert reply.startswith("No customer matches"), text
        assert "<b>x" not in reply
        assert len(reply) < 200
    assert "&lt;b&gt;x&lt;/a&gt;" in chat.texts(12)[1]
    chat.send(business.sales, "ACME")
    assert "How much was paid?" in chat.last(12).text


def test_salesperson_cannot_pick_another_reps_customer(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.sales, "/payment 恒通五金店")
    assert chat.last(12).text.startswith("No customer matches")
    # A forged pick button with 恒通's id is refused.
    forged = f"c:{_version(database, 12)}:cust:{business.hengtong.id}"
    chat.press_data(business.sales, forged, message_id=chat.last(12).message_id)
    assert chat.toasts[-1].text == "This action has expired."
    assert "How much was paid?" not in chat.last(12).text
    # The owner may pick anyone.
    chat.send(business.owner, "/payment 恒通五金店")
    assert "How much was paid?" in chat.last(11).text


def test_customer_reassigned_before_confirm_is_refused(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    start_to_amount(chat, business.sales)
    chat.send(business.sales, "10")
    chat.press(business.sales, "Cash")
    run_in_transaction(
        database.uow,
        lambda uow: uow.customers.update(
            business.acme.id, sales_rep_id=business.users["sales2"].id
        ),
    )
    chat.press(business.sales, "Confirm")
    assert "You can no longer record payments for this customer." in chat.last(12).text
    assert payments(database, business.acme.id) == []


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("0", "It must be more than zero."),
        ("-5", "It cannot be negative."),
        ("1e9", "That is not a number."),
        ("1000000000", "That is too large."),
        ("NaN", "That is not a number."),
        ("Infinity", "That is not a number."),
        ("abc", "That is not a number."),
        ("1.234", "That has too many decimals."),
        ("9" * 5000, "That is too long."),
        ("<b>x</a>", "That is not a number."),
        ("_a_", "That is not a number."),
        ("💰", "That is not a number."),
        ("'); DROP TABLE orders;--", "That is not a number."),
    ],
)
def test_bad_amounts_are_refused_and_asked_again(
    chat: ChatDriver,
    business: Business,
    database: FakeDatabase,
    two_invoices: tuple,
    typed: str,
    reason: str,
) -> None:
    start_to_amount(chat, business.sales)
    chat.send(business.sales, typed)
    assert chat.last(12).text == (
        f"{reason} Type the amount again, e.g. 500 or 1,250.50, or /cancel."
    )
    assert payments(database, business.acme.id) == []
    # Still at the amount step; the "Pay all" button above is still live.
    chat.press(business.sales, "Pay all")
    assert "Which invoice should CN¥265.00 pay first?" in chat.last(12).text


def test_buttons_at_button_steps_and_text_at_button_steps(
    chat: ChatDriver, business: Business, database: FakeDatabase, two_invoices: tuple
) -> None:
    start_to_amount(chat, business.sales)
    chat.send(business.sales, "100")
    chat.send(business.sales, "200")  # typing at the invoice step
    assert chat.last(12).text == "Please use the buttons above, or /cancel."
    chat.press(business.sales, "Oldest first")
    chat.press(business.sales, "Cash")
    chat.send(business.sales, "yes")
    assert chat.last(12).text == "Please use the buttons above, or /cancel."
    chat.press(business.sales, "Confirm")
    assert payments(database, business.acme.id)[0].amount.minor == 10000


# --- double taps, redelivery, stale buttons, /cancel, roles -------------------------------------


def test_double_tap_on_confirm_records_one_payment(
    chat: ChatDriver, business: Business, database: FakeDatabase, two_invoices: tuple
) -> None:
    start_to_amount(chat, business.sales)
    chat.send(business.sales, "100")
    chat.press(business.sales, "Oldest first")
    chat.press(business.sales, "Cash")
    card = chat.last(12)
    data = button_data(card, "Confirm")
    chat.press_data(business.sales, data, message_id=card.message_id)
    chat.press_data(business.sales, data, message_id=card.message_id)
    assert chat.toasts[-1].text == "This action has expired."
    assert len(payments(database, business.acme.id)) == 1
    assert len(receipts(chat, 15)) == 1
    assert sum("recorded" in text for text in chat.texts(12)) == 1


def test_redelivered_confirm_changes_nothing(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    start_to_amount(chat, business.sales)
    chat.send(business.sales, "100")
    chat.press(business.sales, "Cash")
    chat.press(business.sales, "Confirm")
    before = len(chat.messages(12))
    chat.redeliver(business.sales)
    assert len(chat.messages(12)) == before
    assert len(payments(database, business.acme.id)) == 1
    assert len(chat.messages(15)) == 1


def test_idempotency_key_comes_from_the_draft(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    start_to_amount(chat, business.sales)
    with database.uow() as uow:
        record = uow.conversations.get(12, 12)
    assert record is not None and '"key":"pay:' in record.data
    key = record.data.split('"key":"')[1].split('"')[0]
    chat.send(business.sales, "100")
    chat.press(business.sales, "Cash")
    chat.press(business.sales, "Confirm")
    [payment] = payments(database, business.acme.id)
    assert payment.idempotency_key == key
    # A new /payment is a new draft with a new key: a second, separate payment.
    start_to_amount(chat, business.sales)
    chat.send(business.sales, "100")
    chat.press(business.sales, "Cash")
    chat.press(business.sales, "Confirm")
    assert len({p.idempotency_key for p in payments(database, business.acme.id)}) == 2


def test_cancel_mid_way_and_stale_buttons(
    chat: ChatDriver, business: Business, database: FakeDatabase, two_invoices: tuple
) -> None:
    start_to_amount(chat, business.sales)
    chat.send(business.sales, "100")
    invoice_question = chat.last(12)
    chat.press(business.sales, "Oldest first")
    # The invoice buttons are stale now that the conversation moved on.
    chat.press(business.sales, "INV-000002", message=invoice_question)
    assert chat.toasts[-1].text == "This action has expired."
    chat.press(business.sales, "Cash")
    card = chat.last(12)
    chat.send(business.sales, "/cancel")
    assert chat.last(12).text == "Cancelled. Nothing was saved."
    chat.press(business.sales, "Confirm", message=card)
    assert chat.toasts[-1].text == "This action has expired."
    assert payments(database, business.acme.id) == []


def test_cancel_button_on_the_card(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    start_to_amount(chat, business.sales)
    chat.send(business.sales, "100")
    chat.press(business.sales, "Cash")
    card = chat.last(12)
    chat.press(business.sales, "Cancel")
    assert chat.last(12).text == "Cancelled. Nothing was saved."
    assert card.buttons() == []
    assert payments(database, business.acme.id) == []


def test_forged_method_and_invoice_buttons(
    chat: ChatDriver, business: Business, database: FakeDatabase, two_invoices: tuple
) -> None:
    other = invoice_for(
        database, business, business.hengtong.id, business.widget.id, "1", by="sales2"
    )
    start_to_amount(chat, business.sales)
    chat.send(business.sales, "100")
    version = _version(database, 12)
    message = chat.last(12).message_id
    chat.press_data(business.sales, f"c:{version}:inv:{other.id}", message_id=message)
    assert chat.toasts[-1].text == "That invoice is no longer open."
    chat.press(business.sales, "Oldest first")
    version = _version(database, 12)
    message = chat.last(12).message_id
    for forged in ("credit_note", "cash.1", "CASH", ""):
        chat.press_data(business.sales, f"c:{version}:m:{forged}", message_id=message)
        assert chat.toasts[-1].text == "This action has expired."
    chat.press_data(business.sales, f"c:{version}:ok", message_id=message)  # Confirm too early
    assert chat.toasts[-1].text == "This action has expired."
    assert payments(database, business.acme.id) == []


def test_chosen_invoice_paid_meanwhile_falls_back_to_oldest(
    chat: ChatDriver, business: Business, database: FakeDatabase, two_invoices: tuple
) -> None:
    start_to_amount(chat, business.sales)
    chat.send(business.sales, "100")
    chat.press(business.sales, "INV-000002")
    chat.press(business.sales, "Cash")
    card = chat.last(12)
    # Someone else pays INV-000002 in full in the meantime.
    chat.send(business.owner, "/payment acme")
    chat.send(business.owner, "140")
    chat.press(business.owner, "INV-000002")
    chat.press(business.owner, "Cash")
    chat.press(business.owner, "Confirm")
    chat.press(business.sales, "Confirm")
    assert "The invoice you chose is already paid" in chat.last(12).text
    assert card.buttons() == []  # only the new card can be confirmed
    assert len(payments(database, business.acme.id)) == 1
    chat.press(business.sales, "Confirm")
    assert "INV-000001 CN¥25.00 left" in chat.last(12).text
    assert len(payments(database, business.acme.id)) == 2


@pytest.mark.parametrize("who", ["warehouse", "customer_contact"])
def test_payment_is_not_for_warehouse_or_customers(
    chat: ChatDriver, business: Business, database: FakeDatabase, who: str
) -> None:
    person: Person = getattr(business, who)
    chat.send(person, "/payment acme")
    assert chat.last(person.telegram_id).text == (
        "This command is not available to you. Type /help to see what you can do."
    )
    assert payments(database, business.acme.id) == []


def test_warehouse_cannot_press_a_salespersons_payment_buttons(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    start_to_amount(chat, business.sales)
    chat.send(business.sales, "100")
    chat.press(business.sales, "Cash")
    card = chat.last(12)
    # Another person pressing with the same data acts on *their* conversation (none).
    chat.press_data(business.warehouse, button_data(card, "Confirm"), message_id=card.message_id)
    chat.press_data(business.stranger, button_data(card, "Confirm"), message_id=card.message_id)
    assert payments(database, business.acme.id) == []
    chat.press(business.sales, "Confirm")
    assert len(payments(database, business.acme.id)) == 1


def test_payment_in_a_group_is_refused(chat: ChatDriver, business: Business) -> None:
    chat.send(business.owner, "/payment@chaterp_bot acme", chat=business.group_id)
    assert "not available" in chat.last(business.group_id).text


def test_payment_on_sqlite(sql_chat: tuple[ChatDriver, Business]) -> None:
    chat, business = sql_chat
    chat.send(business.sales, "/payment acme")
    chat.send(business.sales, "99.50")
    chat.press(business.sales, "Cash")
    card = chat.last(12)
    data = button_data(card, "Confirm")
    chat.press_data(business.sales, data, message_id=card.message_id)
    chat.press_data(business.sales, data, message_id=card.message_id)
    assert sum(t.startswith("PAY-000001 recorded: CN¥99.50") for t in chat.texts(12)) == 1
    assert chat.toasts[-1].text == "This action has expired."
    replies = [r for r in chat.redeliver(business.sales) if isinstance(r, SendText)]
    assert replies == []
    assert len(chat.messages(15)) == 1
    with chat.engine._uow_factory() as uow:  # the SQLite ledger itself
        [payment] = uow.payments.for_customer(business.acme.id)
        assert payment.amount.minor == 9950 and payment.unallocated.minor == 9950
        assert uow.customers.get(business.acme.id).balance.minor == -9950


def _version(database: FakeDatabase, telegram_id: int) -> int:
    with database.uow() as uow:
        record = uow.conversations.get(telegram_id, telegram_id)
    assert record is not None
    return record.version
