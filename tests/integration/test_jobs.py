"""Scheduled jobs and event messages on known data, on the fake, SQLite and PostgreSQL: who
gets what (amounts, days, ageing, suggested quantities), once per slot, and missed runs made up
once. Messages are delivered by the real sender to a recording gateway."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from domain.model import SalesOrder
from domain.ports import ReportSubscription, UnitOfWork, UnitOfWorkFactory
from domain.quantity import Quantity
from domain.services.customers import CustomerDraft, birthdays_on, update_customer
from domain.services.orders import LineRequest, place_order
from domain.services.shipping import ship_order
from domain.services.stock import receive_stock
from domain.transaction import run_in_transaction
from handlers.context import EngineSettings
from notifications.jobs import ScheduleConfig, job_named
from notifications.limits import FloodBudget, SendLimits
from notifications.messages.reports import clear_cache
from notifications.publisher import OutboxPublisher
from notifications.scheduler import JobScheduler
from notifications.sender import OutboxSender
from tests.conftest import TZ
from tests.fake_gateway import FakeGateway
from tests.fakes import FixedClock
from tests.flows.conftest import Business, seed_business

SETTINGS = EngineSettings(default_language="en")
SCHEDULE = ScheduleConfig()
UNLIMITED = SendLimits(global_per_second=0, chat_per_second=0, group_per_minute=0)
OWNER, SALES, SALES2, WAREHOUSE, CONTACT = 11, 12, 13, 14, 15
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)  # the clock fixture's "now"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def business(uow_factory: UnitOfWorkFactory) -> Iterator[Business]:
    """The seeded business of the flow tests; events become outbox messages from then on."""
    seeded = seed_business(uow_factory)
    database = uow_factory.__self__  # type: ignore[attr-defined]
    database.publisher = OutboxPublisher(SETTINGS)
    clear_cache()
    yield seeded


def run(uow_factory: UnitOfWorkFactory, work: Callable[[UnitOfWork], Any]) -> Any:
    return run_in_transaction(uow_factory, work)


def deliver(uow_factory: UnitOfWorkFactory, gateway: FakeGateway | None = None) -> FakeGateway:
    """Send everything due, as the bot's sender would."""
    gateway = gateway or FakeGateway()
    sender = OutboxSender(
        uow_factory, gateway, settings=SETTINGS, budget=FloodBudget(UNLIMITED), name="test"
    )
    asyncio.run(sender.send_due())
    return gateway


def scheduler(uow_factory: UnitOfWorkFactory, name: str = "one") -> JobScheduler:
    return JobScheduler(uow_factory, SETTINGS, SCHEDULE, name=name)


def sold(
    uow_factory: UnitOfWorkFactory,
    clock: FixedClock,
    business: Business,
    customer_id: int,
    lines: list[tuple[int, str]],
    *,
    days_ago: int,
) -> SalesOrder:
    """An order placed and shipped ``days_ago`` days ago (invoiced then, due 30 days later)."""
    now = clock.now()
    clock.set(now - timedelta(days=days_ago))
    try:
        order = run(
            uow_factory,
            lambda uow: place_order(
                uow,
                actor=business.actor("owner"),
                customer_id=customer_id,
                lines=[LineRequest(p, Quantity.of(q)) for p, q in lines],
                idempotency_key=f"past-{customer_id}-{days_ago}",
            ),
        ).order
        run(
            uow_factory,
            lambda uow: ship_order(uow, actor=business.actor("owner"), order_id=order.id),
        )
    finally:
        clock.set(now)
    return order


# --- overdue receivables ------------------------------------------------------------------------


def test_overdue_receivables_reach_each_salesperson_and_escalate_to_owners(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, business: Business
) -> None:
    b = business
    sold(uow_factory, clock, b, b.acme.id, [(b.widget.id, "4")], days_ago=40)  # 10 days late
    sold(uow_factory, clock, b, b.hengtong.id, [(b.screw.id, "2")], days_ago=50)  # 20 days late
    sold(uow_factory, clock, b, b.acme.id, [(b.wire.id, "1")], days_ago=5)  # not due yet
    deliver(uow_factory)  # (the shipping notices)
    result = scheduler(uow_factory).run_slot(job_named("overdue-receivables"), MONDAY)
    assert result.claimed and result.queued == 3
    gateway = deliver(uow_factory)
    assert gateway.texts(SALES) == [
        "💰 <b>Your overdue customers</b> · Mar 2, 2026\n"
        "• ACME Trading: CN¥50.00 · 10 days overdue\n"
        "Total overdue: CN¥50.00"
    ]
    (sam_list,) = [d for d in gateway.delivered if d.chat_id == SALES]
    assert sam_list.keyboard is not None
    assert [(b_.text, b_.data) for row in sam_list.keyboard.rows for b_ in row] == [
        ("📨 Remind ACME Trading", f"remind:{b.acme.id}")
    ]
    (sue_list,) = [d for d in gateway.delivered if d.chat_id == SALES2]
    assert "• 恒通五金店: CN¥44.00 · 20 days overdue" in sue_list.text
    assert sue_list.keyboard is None  # 恒通 has no contact who could be reminded
    assert gateway.texts(OWNER) == [
        "⚠️ <b>Overdue more than 14 days</b> · Mar 2, 2026\n"
        "• 恒通五金店 (Sue Sales): CN¥44.00 · 20 days overdue\n"
        "Total overdue: CN¥44.00"
    ]
    assert gateway.texts(WAREHOUSE) == [] and gateway.texts(CONTACT) == []
    # the same slot again (another instance, a restart): nothing
    again = scheduler(uow_factory, "two").run_slot(job_named("overdue-receivables"), MONDAY)
    assert not again.claimed
    assert deliver(uow_factory).delivered == []


def test_nothing_overdue_sends_nothing(uow_factory: UnitOfWorkFactory, business: Business) -> None:
    scheduler(uow_factory).run_slot(job_named("overdue-receivables"), MONDAY)
    assert deliver(uow_factory).delivered == []


# --- low stock ----------------------------------------------------------------------------------


def test_the_low_stock_digest_lists_what_to_reorder(
    uow_factory: UnitOfWorkFactory, business: Business
) -> None:
    scheduler(uow_factory).run_slot(job_named("low-stock-digest"), MONDAY.replace(minute=30))
    gateway = deliver(uow_factory)
    expected = [
        "📉 <b>Low stock</b>: 1 product at or under its reorder point\n"
        # 20 on hand, point 25, reorder quantity 100: back to 25 + 100 = 105 to order
        "• <b>M8 hex bolt 40mm</b> (M8-40): available 20 box · reorder point 25 → order 105 box"
    ]
    assert gateway.texts(WAREHOUSE) == expected and gateway.texts(OWNER) == expected
    assert gateway.texts(SALES) == []


def test_one_low_stock_alert_per_episode(
    uow_factory: UnitOfWorkFactory, business: Business
) -> None:
    """Low for six stock changes, restocked above the point, low again: two alerts."""
    b = business

    def receive(quantity: str) -> None:
        run(
            uow_factory,
            lambda uow: receive_stock(
                uow,
                actor=b.actor("warehouse"),
                product_id=b.bolt.id,
                quantity=Quantity.of(quantity),
                unit_cost=b.bolt.cost,
            ),
        )

    def order(quantity: str, n: int) -> None:
        run(
            uow_factory,
            lambda uow: place_order(
                uow,
                actor=b.actor("sales"),
                customer_id=b.acme.id,
                lines=[LineRequest(b.bolt.id, Quantity.of(quantity))],
                idempotency_key=f"bolts-{n}",
            ),
        )

    receive("100")  # 120 available: out of the seeded episode
    order("96", 1)  # 24 left: low → alert
    for n in range(2, 7):
        order("1", n)  # 23, 22, … still low: no new alert
    receive("50")  # 69: restocked
    order("50", 7)  # 19: low again → second alert
    gateway = deliver(uow_factory)

    def alerts(chat_id: int) -> list[str]:
        return [t for t in gateway.texts(chat_id) if t.startswith("📉 Low stock:")]

    assert len(alerts(WAREHOUSE)) == 2 and len(alerts(OWNER)) == 2
    assert alerts(SALES) == []
    # (rendered as they go out: here, after the last change)
    assert alerts(WAREHOUSE)[-1] == (
        "📉 Low stock:\n• <b>M8 hex bolt 40mm</b> (M8-40): available 19 box · reorder point 25"
        " → order 106 box"
    )


def set_birthday(uow_factory: UnitOfWorkFactory, b: Business, day: date) -> None:
    def work(uow: UnitOfWork) -> None:
        acme = uow.customers.get(b.acme.id)
        assert acme is not None
        draft = CustomerDraft(
            name=acme.name,
            phone=acme.phone,
            address=acme.address,
            sales_rep_id=acme.sales_rep_id,
            credit_limit=acme.credit_limit,
            payment_terms_days=acme.payment_terms_days,
            birthday=day,
        )
        update_customer(uow, actor=b.actor("owner"), customer_id=acme.id, draft=draft)

    run(uow_factory, work)


# --- birthdays ----------------------------------------------------------------------------------


def test_birthdays_go_to_the_customers_salesperson(
    uow_factory: UnitOfWorkFactory, business: Business
) -> None:
    b = business
    set_birthday(uow_factory, b, date(1980, 3, 2))
    scheduler(uow_factory).run_slot(job_named("birthdays"), MONDAY)
    gateway = deliver(uow_factory)
    assert gateway.texts(SALES) == [
        "🎂 <b>Birthdays today</b> · Mar 2, 2026\n"
        "• ACME Trading · +86 138 0013 8000\n"
        "A good day to call or send your wishes."
    ]
    assert gateway.texts(SALES2) == [] and gateway.texts(OWNER) == []


def test_leap_day_birthdays_are_celebrated_on_the_28th(
    uow_factory: UnitOfWorkFactory, business: Business
) -> None:
    b = business
    set_birthday(uow_factory, b, date(1996, 2, 29))
    names = lambda day: [c.name for c in run(uow_factory, lambda uow: birthdays_on(uow, day))]  # noqa: E731
    assert names(date(2027, 2, 28)) == ["ACME Trading"]
    assert names(date(2028, 2, 28)) == [] and names(date(2028, 2, 29)) == ["ACME Trading"]


# --- summaries ----------------------------------------------------------------------------------


def test_the_daily_summary_goes_to_owners_and_subscribed_chats_with_charts(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, business: Business
) -> None:
    b = business
    sold(uow_factory, clock, b, b.acme.id, [(b.widget.id, "2")], days_ago=0)
    run(
        uow_factory,
        lambda uow: uow.report_subscriptions.save(
            ReportSubscription(b.group_id, daily=True, weekly=True, send_at=time(19, 0)),
            uow.clock.now(),
        ),
    )
    deliver(uow_factory)
    evening = MONDAY.replace(hour=19)
    result = scheduler(uow_factory).run_slot(job_named("daily-summary"), evening)
    # the owner (default: daily) and the group (daily, and weekly: it is Monday)
    assert result.claimed and result.queued == 3
    gateway = deliver(uow_factory)
    owner = [d for d in gateway.delivered if d.chat_id == OWNER]
    assert [d.kind for d in owner] == ["text", "photo", "photo", "photo"]
    assert owner[0].text.startswith("📊 <b>Daily summary · Mar 2, 2026</b>")
    assert "💰 Sales: <b>CN¥25.00</b>" in owner[0].text
    group = [d for d in gateway.delivered if d.chat_id == b.group_id]
    assert [d.kind for d in group] == ["text", "photo", "photo", "photo"] * 2
    assert group[4].text.startswith("📊 <b>Weekly summary · Feb 23\u2009–\u2009Mar 1, 2026</b>")
    # the same charts are uploaded once and re-sent by file_id
    photos = [d for d in gateway.delivered if d.kind == "photo"]
    assert sum(d.file == "upload" for d in photos) <= 6 < len(photos)
    blobs = run(
        uow_factory,
        lambda uow: [
            uow.outbox.blob(part["blob"])
            for message in uow.outbox.for_chat(OWNER)
            for part in __import__("json").loads(message.parts)
            if part["t"] == "photo"
        ],
    )
    assert len(blobs) == 3
    for data, _ in blobs:
        assert data.startswith(PNG) and len(data) <= 80_000
    # nothing at 19:01, and a second run of 19:00 sends nothing more
    assert (
        not scheduler(uow_factory)
        .run_slot(job_named("daily-summary"), evening.replace(minute=1))
        .claimed
    )
    assert not scheduler(uow_factory, "b").run_slot(job_named("daily-summary"), evening).claimed


def test_an_owner_who_chose_another_time_and_switched_daily_off(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, business: Business
) -> None:
    run(
        uow_factory,
        lambda uow: uow.report_subscriptions.save(
            ReportSubscription(OWNER, daily=False, monthly=True, send_at=time(7, 30)),
            uow.clock.now(),
        ),
    )
    at_seven_thirty = scheduler(uow_factory).run_slot(
        job_named("daily-summary"), MONDAY.replace(hour=7, minute=30)
    )
    assert at_seven_thirty.queued == 0  # not the 1st of the month: nothing to send
    first = datetime(2026, 4, 1, 7, 30, tzinfo=TZ)
    clock.set(first)
    assert scheduler(uow_factory).run_slot(job_named("daily-summary"), first).queued == 1
    (text, *_) = deliver(uow_factory).texts(OWNER)
    assert text.startswith("📊 <b>Monthly summary · March 2026</b>")


# --- slots: several instances, missed runs ---------------------------------------------------


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_two_schedulers_on_one_postgresql_at_the_same_slot_send_one_report_per_chat(
    uow_factory: UnitOfWorkFactory, business: Business
) -> None:
    evening = MONDAY.replace(hour=19)
    results = []
    start = threading.Barrier(2)

    def instance(name: str) -> None:
        start.wait()
        results.append(scheduler(uow_factory, name).run_slot(job_named("daily-summary"), evening))

    threads = [threading.Thread(target=instance, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.claimed for r in results) == [False, True]
    gateway = deliver(uow_factory)
    assert [d.kind for d in gateway.delivered if d.chat_id == OWNER] == ["text"] + ["photo"] * 3


def test_a_run_missed_while_down_is_made_up_once(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, business: Business
) -> None:
    """Down from 18:55 to 19:10: the 19:00 summary goes out once at start, not twice after
    a second restart; a run older than the grace period is let go."""
    clock.set(MONDAY.replace(hour=19, minute=10))
    made_up = scheduler(uow_factory, "after-restart").missed_runs()
    summaries = [r for r in made_up if r.job == "daily-summary"]
    assert [(r.slot.hour, r.slot.minute, r.claimed) for r in summaries] == [(19, 0, True)]
    # the morning jobs at 08:30/09:00 are over 6 hours old by now: let go
    assert {r.job for r in made_up} == {"daily-summary"}
    again = scheduler(uow_factory, "second-restart").missed_runs()
    assert [r for r in again if r.job == "daily-summary"] == []
    assert [d.kind for d in deliver(uow_factory).delivered if d.chat_id == OWNER] == (
        ["text"] + ["photo"] * 3
    )
    clock.set(MONDAY.replace(hour=19) + timedelta(hours=7))  # 02:00: yesterday's 19:00 is old
    assert [
        r for r in scheduler(uow_factory, "late").missed_runs() if r.job == "daily-summary"
    ] == []
