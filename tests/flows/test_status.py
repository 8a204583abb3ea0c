"""/status ORDER: staff see any order; a customer only their own, with one uniform "not found"."""

from __future__ import annotations

import pytest

from domain.model import AuditEntry, SalesOrder
from domain.quantity import Quantity
from domain.services.orders import cancel_order, decide_order
from domain.transaction import run_in_transaction
from tests.chat_driver import ChatDriver
from tests.fakes import FakeDatabase, FixedClock
from tests.flows.conftest import Business
from tests.flows.test_payment import place, ship

NOT_FOUND = "Order not found. Check the number and try again."
NOT_A_NUMBER = "That is not an order number. Send it like SO-000123 or 123, or /cancel."


@pytest.fixture
def orders(database: FakeDatabase, business: Business) -> tuple[SalesOrder, SalesOrder]:
    """SO-000001 for ACME (Mary's company), SO-000002 for 恒通五金店."""
    acme = place(
        database,
        business,
        business.acme.id,
        [(business.widget.id, "10"), (business.wire.id, "2.5")],
    )
    other = place(database, business, business.hengtong.id, [(business.bolt.id, "2")], by="sales2")
    return acme, other


def denied(database: FakeDatabase) -> list[AuditEntry]:
    with database.uow() as uow:
        return [e for e in uow.audit.list() if e.action == "order.status_denied"]


@pytest.mark.parametrize("typed", ["SO-000002", "so-2", "SO2", "#2", "2", " 0002 ", "so 2"])
@pytest.mark.parametrize("who", ["owner", "sales", "warehouse"])
def test_staff_see_any_order_by_number(
    chat: ChatDriver, business: Business, orders: tuple, who: str, typed: str
) -> None:
    person = getattr(business, who)
    chat.send(person, f"/status {typed}")
    assert chat.last(person.telegram_id).text.startswith("<b>SO-000002</b> · 恒通五金店")


def test_status_card_shows_lines_shipments_and_invoices(
    chat: ChatDriver, business: Business, database: FakeDatabase, clock: FixedClock, orders: tuple
) -> None:
    acme_order, _ = orders
    clock.advance(days=1)
    ship(database, business, acme_order, {acme_order.lines[0].id: Quantity.of(4)})
    chat.send(business.sales, "/status SO-000001")
    assert chat.last(12).text == "\n".join(
        [
            "<b>SO-000001</b> · ACME Trading",
            "Status: <b>partly shipped</b>",
            "Placed: Mar 2, 2026 · Total: CN¥295.00",
            "",
            "Lines:",
            "• Blue widget: ordered 10 pcs, shipped 4 pcs",
            "• Copper wire: ordered 2.5 kg, shipped 0 kg",
            "",
            "Shipments:",
            "• SH-000001 — Mar 3, 2026",
            "",
            "Invoices:",
            "• INV-000001 — CN¥50.00, outstanding CN¥50.00, due Apr 2, 2026",
        ]
    )


def test_customer_sees_their_own_order(chat: ChatDriver, business: Business, orders: tuple) -> None:
    chat.send(business.customer_contact, "/status 1")
    text = chat.last(15).text
    assert text.startswith("<b>SO-000001</b> · ACME Trading\nStatus: <b>confirmed</b>")
    assert "• Blue widget: ordered 10 pcs, shipped 0 pcs" in text


def test_other_customers_order_and_missing_order_get_identical_replies(
    chat: ChatDriver, business: Business, database: FakeDatabase, orders: tuple
) -> None:
    mary = business.customer_contact
    not_theirs = chat.send(mary, "/status SO-000002")
    missing = chat.send(mary, "/status SO-000999")
    assert not_theirs == missing  # byte for byte, keyboard and all
    assert chat.texts(15) == [NOT_FOUND, NOT_FOUND]
    for typed in ("2", "#2", "so2"):
        assert chat.send(mary, f"/status {typed}") == missing
    assert "恒通" not in "".join(chat.texts(15))
    # Every denied look-up of an existing order is in the audit log, with who asked.
    entries = denied(database)
    assert len(entries) == 4
    entry = entries[0]
    assert entry.object_type == "order" and entry.object_id == "SO-000002"
    assert entry.actor_id == business.users["customer"].id
    assert entry.actor_role == "customer"
    assert entry.source.startswith("tg:update:")
    # A look-up of an order that does not exist wrote nothing about SO-000999.
    assert all(e.object_id == "SO-000002" for e in entries)


def test_denied_look_up_typed_after_the_prompt_is_audited_too(
    chat: ChatDriver, business: Business, database: FakeDatabase, orders: tuple
) -> None:
    mary = business.customer_contact
    chat.send(mary, "/status")
    assert chat.last(15).text == "Which order? Send its number, for example SO-000123 or 123."
    chat.send(mary, "SO-000002")
    assert chat.last(15).text == NOT_FOUND
    assert len(denied(database)) == 1
    assert chat.redeliver(mary) == []
    assert len(denied(database)) == 1  # a redelivered update is not run (or audited) again


def test_staff_asking_for_a_missing_order(chat: ChatDriver, business: Business) -> None:
    chat.send(business.owner, "/status 42")
    assert chat.last(11).text == NOT_FOUND


@pytest.mark.parametrize(
    "typed",
    [
        "abc",
        "<b>x</a>",
        "_a_",
        "'); DROP TABLE orders;--",
        "🙂",
        "0",
        "-5",
        "1e9",
        "NaN",
        "1.5",
        "12345678901",
        "9" * 5000,
    ],
)
def test_bad_order_numbers_are_refused_and_asked_again(
    chat: ChatDriver, business: Business, database: FakeDatabase, orders: tuple, typed: str
) -> None:
    chat.send(business.customer_contact, f"/status {typed}")
    assert chat.last(15).text == NOT_A_NUMBER
    chat.send(business.customer_contact, typed)
    assert chat.last(15).text == NOT_A_NUMBER
    assert denied(database) == []
    chat.send(business.customer_contact, "1")  # still asking
    assert chat.last(15).text.startswith("<b>SO-000001</b>")


def test_cancel_while_asked_for_a_number(chat: ChatDriver, business: Business) -> None:
    chat.send(business.sales, "/status")
    chat.send(business.sales, "/cancel")
    assert chat.last(12).text == "Cancelled. Nothing was saved."
    chat.send(business.sales, "1")
    assert chat.last(12).text == "Type /help to see what you can do."


def test_statuses_are_shown_in_words(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    held = place(  # over 恒通's credit limit of 1,000.00
        database, business, business.hengtong.id, [(business.wire.id, "20")], by="sales2"
    )
    chat.send(business.owner, f"/status {held.number}")
    assert "Status: <b>waiting for approval</b>" in chat.last(11).text
    run_in_transaction(
        database.uow,
        lambda uow: decide_order(
            uow, actor=business.actor("owner"), order_id=held.id, approve=False
        ),
    )
    chat.send(business.owner, f"/status {held.number}")
    assert "Status: <b>cancelled</b>" in chat.last(11).text
    small = place(database, business, business.acme.id, [(business.widget.id, "1")])
    ship(database, business, small)
    chat.send(business.owner, f"/status {small.number}")
    assert "Status: <b>shipped</b>" in chat.last(11).text
    other = place(database, business, business.acme.id, [(business.widget.id, "1")])
    run_in_transaction(
        database.uow,
        lambda uow: cancel_order(uow, actor=business.actor("sales"), order_id=other.id),
    )
    chat.send(business.customer_contact, f"/status {other.number}")
    assert "Status: <b>cancelled</b>" in chat.last(15).text


def test_names_in_the_card_are_escaped(
    chat: ChatDriver, business: Business, database: FakeDatabase, orders: tuple
) -> None:
    run_in_transaction(
        database.uow,
        lambda uow: uow.customers.update(business.acme.id, name="<b>x</a> _a_"),
    )
    chat.send(business.owner, "/status 1")
    assert chat.last(11).text.startswith("<b>SO-000001</b> · &lt;b&gt;x&lt;/a&gt; _a_")


def test_status_is_private_chat_only_and_not_for_strangers(
    chat: ChatDriver, business: Business, orders: tuple
) -> None:
    chat.send(business.warehouse, "/status@chaterp_bot 1", chat=business.group_id)
    assert "SO-000001" not in "".join(chat.texts(business.group_id))
    chat.send(business.stranger, "/status 1")
    assert chat.last(16).text == (
        "Hello! To use this bot, ask your administrator for an invite link."
    )


def test_status_on_sqlite(sql_chat: tuple[ChatDriver, object]) -> None:
    chat, business = sql_chat
    chat.send(business.customer_contact, "/status 1")  # type: ignore[attr-defined]
    first = chat.last(15).text
    chat.send(business.customer_contact, "/status 999")  # type: ignore[attr-defined]
    assert chat.last(15).text == first == NOT_FOUND
