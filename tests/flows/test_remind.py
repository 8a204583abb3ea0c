"""Overdue lists in chat and the "Remind customer" button: who may press it, what the customer
reads, once a day."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.transaction import run_in_transaction
from handlers.context import EngineSettings
from notifications.jobs import ScheduleConfig
from notifications.scheduler import JobScheduler
from tests.chat_driver import ChatDriver, Shown
from tests.fakes import FakeDatabase, FixedClock
from tests.flows.conftest import Business
from tests.flows.test_payment import place, ship


@pytest.fixture
def overdue_list(
    chat: ChatDriver, business: Business, database: FakeDatabase, clock: FixedClock
) -> Shown:
    """ACME was invoiced 40 days ago (due after 30): this morning's list for Sam."""
    today = clock.now()
    clock.set(today - timedelta(days=40))
    ship(
        database, business, place(database, business, business.acme.id, [(business.widget.id, "4")])
    )
    clock.set(today)
    jobs = JobScheduler(database.uow, EngineSettings(), ScheduleConfig())
    jobs.run_now("overdue-receivables")
    chat.send_outbox()
    return chat.last(business.sales.telegram_id)


def test_the_salesperson_reminds_the_customer_once_a_day(
    chat: ChatDriver, business: Business, database: FakeDatabase, overdue_list: Shown
) -> None:
    assert overdue_list.text.startswith("💰 <b>Your overdue customers</b>")
    assert overdue_list.buttons() == ["📨 Remind ACME Trading"]
    before = len(chat.messages(15))
    chat.press(business.sales, "Remind ACME Trading", message=overdue_list)
    assert chat.toasts[-1].text == "📨 Reminder sent to Mary Buyer."
    reminder = chat.messages(15)[before:]
    assert [m.text for m in reminder] == [
        "Hello ACME Trading!\n"
        "A friendly reminder: these invoices are past their due date.\n"
        "• INV-000001 · CN¥50.00 · due Feb 20, 2026 (10 days overdue)\n"
        "Total due: CN¥50.00\n"
        "If you have already paid, thank you, and please ignore this message. Sam Sales will "
        "be glad to help with any question."
    ]
    # a second press, or the owner's, the same day: told, nothing sent
    chat.press(business.sales, "Remind ACME Trading", message=overdue_list)
    assert chat.toasts[-1].text.startswith("ACME Trading was already reminded today (by Sam Sales")
    assert chat.toasts[-1].alert
    assert len(chat.messages(15)) == before + 1
    entries = run_in_transaction(database.uow, lambda uow: uow.audit.list(object_type="customer"))
    assert [e.action for e in entries if e.action == "customer.reminded"] == ["customer.reminded"]


def test_who_may_remind(
    chat: ChatDriver, business: Business, database: FakeDatabase, overdue_list: Shown
) -> None:
    data = next(b.data for row in overdue_list.keyboard.rows for b in row)  # type: ignore[union-attr]
    before = len(chat.messages(15))
    chat.send(business.sales2, "/help")
    mine = chat.last(business.sales2.telegram_id)
    chat.press_data(business.sales2, data, message_id=mine.message_id)  # not Sue's customer
    assert chat.toasts[-1].text == "你的角色无权执行此操作。"  # (Sue reads Chinese)
    chat.send(business.warehouse, "/help")
    chat.press_data(
        business.warehouse, data, message_id=chat.last(business.warehouse.telegram_id).message_id
    )
    assert chat.toasts[-1].text == "Your role does not allow this."
    chat.press_data(business.sales, "remind:999", message_id=overdue_list.message_id)
    assert chat.toasts[-1].text == "This action has expired."
    assert len(chat.messages(15)) == before


def test_paid_meanwhile_nothing_to_remind(
    chat: ChatDriver, business: Business, database: FakeDatabase, overdue_list: Shown
) -> None:
    chat.send(business.sales, "/payment acme")
    chat.press(business.sales, "Pay all")
    chat.press(business.sales, "Cash")
    chat.press(business.sales, "Confirm")
    chat.press(business.sales, "Remind ACME Trading", message=overdue_list)
    assert chat.toasts[-1].text == "ACME Trading has nothing overdue any more."
