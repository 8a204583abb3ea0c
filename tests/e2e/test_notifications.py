"""Messages the bot sends on its own, over HTTP against the emulator: the daily summary with
its charts, overdue reminders with the "Remind customer" button, low-stock episodes, and
Telegram's flood limits kept while fanning out."""

from __future__ import annotations

import pytest

from domain.quantity import Quantity
from domain.services.stock import receive_stock
from handlers.context import EngineSettings
from notifications.jobs import ScheduleConfig, job_named
from notifications.limits import SendLimits
from notifications.parts import TextPart, queue
from notifications.scheduler import JobScheduler
from notifications.service import NotificationsConfig
from tests.e2e.conftest import Harness, texts_of
from tests.e2e.test_transport import order_to_review

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)

PNG = b"\x89PNG\r\n\x1a\n"


def jobs(h: Harness) -> JobScheduler:
    return JobScheduler(h.database.uow, EngineSettings(), ScheduleConfig(), name="e2e")


async def after_jobs(h: Harness) -> None:
    """What a job queued goes out (the bot's sender, woken as the scheduler wakes it)."""
    assert h.front is not None and h.front.notifications is not None
    h.front.notifications.wake()
    await h.sent()


async def test_the_daily_summary_arrives_with_its_charts(harness: Harness) -> None:
    h = harness
    await h.say(h.owner, "/subscribe@chaterp_bot", h.group)
    await h.tap(h.owner, "Daily summary", h.group)  # the group wants it too
    h.read(h.owner)
    h.read(h.group)
    slot = h.database.clock.now().replace(hour=19, minute=0)
    result = jobs(h).run_slot(job_named("daily-summary"), slot)
    assert result.claimed and result.queued == 2
    await after_jobs(h)
    for chat in (h.owner, h.group):
        seen = h.read(chat)
        assert [("photo" in m) for m in seen] == [False, True, True, True]
        assert seen[0]["text"].startswith("📊 Daily summary · Mar 2, 2026")
        captions = [m["caption"] for m in seen[1:]]
        assert captions[0] == "Sales per day over the last 30 days, with the 7-day average."
        for message in seen[1:]:
            biggest = message["photo"][-1]
            data = h.emu.file(biggest["file_id"]).data
            assert data.startswith(PNG) and len(data) <= 80_000
    # three charts, six photos: uploaded once each, then re-sent by file_id
    sent = [c.params.get("photo") for c in h.emu.calls_to("sendPhoto") if c.ok]
    assert len(sent) == 6 and sum(str(p).startswith("<upload") for p in sent) == 3
    # the same evening again (a second instance): nothing more
    assert not jobs(h).run_slot(job_named("daily-summary"), slot).claimed


async def test_overdue_reminders_and_the_remind_button(harness: Harness) -> None:
    h = harness
    h.ship_long_ago(h.business.widget.id, Quantity.of(4))
    today = h.database.clock.now()
    await h.sent()
    h.read(h.sales)
    h.read(h.customer)
    jobs(h).run_slot(job_named("overdue-receivables"), today.replace(hour=9, minute=0))
    await after_jobs(h)
    (overdue,) = h.read(h.sales)
    assert overdue["text"] == (
        "💰 Your overdue customers · Mar 2, 2026\n"
        "• ACME Trading: CN¥50.00 · 10 days overdue\n"
        "Total overdue: CN¥50.00"
    )
    reminded = await h.tap(h.sales, "Remind ACME Trading", message=overdue)
    assert reminded.answer is not None
    assert reminded.answer["text"] == "📨 Reminder sent to Mary Buyer."
    (note,) = texts_of(h.read(h.customer))
    assert note.startswith("Hello ACME Trading!\nA friendly reminder")
    assert "• INV-000001 · CN¥50.00 · due Feb 20, 2026 (10 days overdue)" in note
    again = await h.tap(h.sales, "Remind ACME Trading", message=overdue)
    assert again.answer is not None and again.answer["show_alert"]
    assert again.answer["text"].startswith("ACME Trading was already reminded today")
    assert h.read(h.customer) == []
    assert h.failed_calls() == []


async def test_low_stock_alerts_once_per_episode(harness: Harness) -> None:
    h = harness
    b = h.business

    def restock(quantity: str) -> None:
        h.run(
            lambda uow: receive_stock(
                uow,
                actor=b.actor("warehouse"),
                product_id=b.bolt.id,
                quantity=Quantity.of(quantity),
                unit_cost=b.bolt.cost,
            )
        )

    def alerts() -> list[str]:
        return [t for t in h.texts(h.warehouse) if t.startswith("📉 Low stock:")]

    restock("100")  # 120 bolts: the episode the business started with is over
    for lines in ("96 m8 bolt", "1 m8 bolt", "2 m8 bolt"):  # 24, 23, 21: low all along
        review = await order_to_review(h, lines)
        await h.tap(h.sales, "Confirm", message=review)
    assert alerts() == [
        "📉 Low stock:\n"
        "• M8 hex bolt 40mm (M8-40): available 24 box · reorder point 25 → order 101 box"
    ]
    assert len([t for t in h.texts(h.owner) if t.startswith("📉")]) == 1
    restock("50")  # 71: restocked
    await h.sent()
    review = await order_to_review(h, "60 m8 bolt")  # 11: low again
    await h.tap(h.sales, "Confirm", message=review)
    assert len(alerts()) == 2
    assert alerts()[-1].endswith("available 11 box · reorder point 25 → order 114 box")


async def test_flood_limits_are_kept_while_fanning_out(harness: Harness) -> None:
    """With Telegram's limits on in the emulator, a burst to one person and to the group goes
    out paced: everything arrives and Telegram never has to say 429."""
    h = harness
    await h.stop()
    h.emu.set_flood_limits()  # Telegram's: 1/s per chat (bursts of 3), 20/min per group
    limits = SendLimits(global_per_second=28, chat_per_second=1, group_per_minute=20)
    await h.start(notifications=NotificationsConfig(limits=limits))

    def fan_out(uow: object) -> None:
        for n in range(5):
            queue(uow, f"burst:{n}", h.owner.id, [TextPart(f"note {n}")])  # type: ignore[arg-type]
        for n in range(3):
            queue(uow, f"group:{n}", h.group.id, [TextPart(f"group note {n}")])  # type: ignore[arg-type]

    h.run(fan_out)
    await after_jobs(h)
    assert texts_of(h.read(h.owner)) == [f"note {n}" for n in range(5)]
    assert texts_of(h.read(h.group)) == [f"group note {n}" for n in range(3)]
    assert [c for c in h.emu.calls if c.error_code == 429] == []
