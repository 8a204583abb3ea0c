"""The outbox sender against a scriptable gateway, on the fake, SQLite and PostgreSQL: what
reaches each chat, exactly once, whatever Telegram answers and whenever the sender dies."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from domain.model import Actor, Role, User
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.services.users import add_user
from domain.transaction import run_in_transaction
from handlers.context import EngineSettings
from handlers.replies import Button, InlineKeyboard
from notifications.delivery import Blocked, RetryAfter, Unavailable
from notifications.limits import FloodBudget, SendLimits
from notifications.parts import PhotoPart, RenderPart, TextPart, photo, queue
from notifications.sender import OutboxSender, SenderConfig
from tests.fake_gateway import FakeGateway
from tests.fakes import FixedClock

SETTINGS = EngineSettings(default_language="en")
UNLIMITED = SendLimits(global_per_second=0, chat_per_second=0, group_per_minute=0)
LEASE = 60.0


def sender(
    uow_factory: UnitOfWorkFactory, gateway: FakeGateway, name: str = "s1", **config: Any
) -> OutboxSender:
    return OutboxSender(
        uow_factory,
        gateway,
        settings=SETTINGS,
        budget=FloodBudget(UNLIMITED),
        config=SenderConfig(**{"lease": LEASE, "poll_interval": 0.05, **config}),
        name=name,
    )


def put(uow_factory: UnitOfWorkFactory, key: str, chat_id: int, *texts: str) -> bool:
    """A business transaction that queues a message (and commits)."""
    parts = [TextPart(text) for text in texts or (key,)]
    return run_in_transaction(uow_factory, lambda uow: queue(uow, key, chat_id, parts))


def statuses(uow_factory: UnitOfWorkFactory, chat_id: int) -> list[str]:
    return run_in_transaction(
        uow_factory, lambda uow: [m.status for m in uow.outbox.for_chat(chat_id)]
    )


def person(uow_factory: UnitOfWorkFactory, name: str, role: Role, telegram_id: int) -> User:
    return run_in_transaction(
        uow_factory,
        lambda uow: add_user(
            uow, actor=Actor.system("test"), name=name, role=role, telegram_user_id=telegram_id
        ),
    )


async def run_until_idle(out: OutboxSender) -> None:
    await out.start()
    try:
        await out.idle(timeout=30)
    finally:
        await out.stop()


async def test_a_message_committed_while_no_sender_ran_is_sent_once_on_start(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """The process died between the business commit and sending: the row waits, and the next
    sender (after a restart) sends it, once."""
    assert put(uow_factory, "order:1:ship-card:-5", -5, "card")
    gateway = FakeGateway()
    await run_until_idle(sender(uow_factory, gateway, "after-restart"))
    assert gateway.texts(-5) == ["card"]
    await run_until_idle(sender(uow_factory, gateway, "another-restart"))
    assert gateway.texts(-5) == ["card"]
    assert statuses(uow_factory, -5) == ["sent"]


async def test_a_commit_wakes_the_running_sender(uow_factory: UnitOfWorkFactory) -> None:
    gateway = FakeGateway()
    out = sender(uow_factory, gateway, poll_interval=60.0)  # no polling to rely on
    await out.start()
    try:
        await asyncio.sleep(0.05)
        put(uow_factory, "k", 7, "hello")
        async with asyncio.timeout(10):
            while gateway.texts(7) != ["hello"]:
                await asyncio.sleep(0.01)
    finally:
        await out.stop()


async def test_the_same_key_is_sent_once(uow_factory: UnitOfWorkFactory) -> None:
    assert put(uow_factory, "low-stock:3:1:9", 9, "first") is True
    assert put(uow_factory, "low-stock:3:1:9", 9, "again") is False
    gateway = FakeGateway()
    await run_until_idle(sender(uow_factory, gateway))
    assert gateway.texts(9) == ["first"]


async def test_429s_in_the_middle_of_1000_messages_lose_and_duplicate_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    def work(uow: UnitOfWork) -> None:
        for n in range(1000):
            queue(uow, f"m{n}", 100 + n % 200, [TextPart(f"m{n}")])

    run_in_transaction(uow_factory, work)
    flooded: set[int] = set()

    def script(chat_id: int, kind: str, call: int) -> Exception | None:
        if call % 97 == 0 and call not in flooded:
            flooded.add(call)
            return RetryAfter(0.01)
        return None

    gateway = FakeGateway(script=script)
    await run_until_idle(sender(uow_factory, gateway))
    counts = Counter(d.text for d in gateway.delivered)
    assert len(flooded) >= 10
    assert set(counts) == {f"m{n}" for n in range(1000)}
    assert set(counts.values()) == {1}
    # …and each chat got its five messages in the order they were queued
    for chat in (100, 150, 299):
        assert gateway.texts(chat) == [f"m{n}" for n in range(chat - 100, 1000, 200)]


async def test_a_long_flood_wait_puts_the_message_back_for_later(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    put(uow_factory, "a", 5, "first")
    put(uow_factory, "b", 5, "second")
    gateway = FakeGateway(script=lambda chat, kind, call: RetryAfter(300) if call == 1 else None)
    await run_until_idle(sender(uow_factory, gateway))
    assert gateway.delivered == []  # waiting; "second" does not overtake "first"
    assert statuses(uow_factory, 5) == ["pending", "pending"]
    clock.advance(seconds=301)
    await run_until_idle(sender(uow_factory, gateway, "later"))
    assert gateway.texts(5) == ["first", "second"]


async def test_a_user_who_blocked_the_bot_is_marked_and_the_owners_hear_of_it(
    uow_factory: UnitOfWorkFactory,
) -> None:
    person(uow_factory, "Olga Owner", Role.OWNER, 11)
    person(uow_factory, "Wang Warehouse", Role.WAREHOUSE, 14)
    for n in range(3):
        put(uow_factory, f"card{n}", 14, f"card {n}")
    put(uow_factory, "other", 20, "someone else")
    gateway = FakeGateway(
        script=lambda chat, kind, call: (
            Blocked("Forbidden: bot was blocked by the user") if chat == 14 else None
        )
    )
    await run_until_idle(sender(uow_factory, gateway))
    assert gateway.texts(14) == []
    assert gateway.texts(20) == ["someone else"]  # the loop goes on
    assert [d.kind for d in gateway.delivered if d.chat_id == 14] == []
    assert gateway.calls == 1 + 1 + 1  # one try at 14, the other chat, the owners' notice
    assert statuses(uow_factory, 14) == ["skipped"] * 3
    wang = run_in_transaction(uow_factory, lambda uow: uow.users.by_telegram_id(14))
    assert wang is not None and wang.blocked_bot
    assert gateway.texts(11) == [
        "⚠️ Wang Warehouse has blocked the bot, so they get no messages from it (new orders, "
        "reminders…) until they open it and press Start again."
    ]


async def test_a_group_that_removed_the_bot_becomes_inactive(
    uow_factory: UnitOfWorkFactory,
) -> None:
    person(uow_factory, "Olga Owner", Role.OWNER, 11)
    run_in_transaction(
        uow_factory, lambda uow: uow.chat_topics.set(-300, "shipping", True, title="Warehouse")
    )
    put(uow_factory, "card", -300, "card")
    gateway = FakeGateway(
        script=lambda chat, kind, call: Blocked("Forbidden: bot was kicked") if chat < 0 else None
    )
    await run_until_idle(sender(uow_factory, gateway))
    assert run_in_transaction(uow_factory, lambda uow: uow.chat_states.inactive()) == {-300}
    assert gateway.texts(11) == [
        "⚠️ The bot can no longer write to Warehouse (it was removed or lost its rights), so "
        "nothing is sent there. Add it back and use /subscribe there."
    ]


async def test_a_group_that_became_a_supergroup_is_followed(
    uow_factory: UnitOfWorkFactory,
) -> None:
    run_in_transaction(uow_factory, lambda uow: uow.chat_topics.set(-5, "shipping", True))
    put(uow_factory, "a", -5, "first")
    put(uow_factory, "b", -5, "second")
    gateway = FakeGateway(moved={-5: -1005})
    await run_until_idle(sender(uow_factory, gateway))
    assert gateway.texts(-1005) == ["first", "second"]
    assert run_in_transaction(uow_factory, lambda uow: uow.chat_topics.chats("shipping")) == [-1005]
    assert statuses(uow_factory, -1005) == ["sent", "sent"]


async def test_a_sender_killed_mid_batch_resumes_with_only_what_was_not_sent(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    """40 of 100 reminders went out, then the process died: the next sender sends the 60."""

    def work(uow: UnitOfWork) -> None:
        for n in range(100):
            queue(uow, f"overdue:{n}", 1000 + n, [TextPart(f"r{n}")])

    run_in_transaction(uow_factory, work)
    gateway = FakeGateway(hang_after=40)
    first = sender(uow_factory, gateway, "dies", batch=100)  # the whole broadcast in one batch
    await first.start()

    def pending() -> int:
        return run_in_transaction(uow_factory, lambda uow: uow.outbox.pending())

    async with asyncio.timeout(20):  # 40 sent, and recorded as sent, then the process dies
        while len(gateway.delivered) < 40 or pending() > 60:
            await asyncio.sleep(0.01)
    await first.crash()
    assert len(gateway.delivered) == 40
    assert pending() == 60

    second_gateway = FakeGateway()
    await run_until_idle(sender(uow_factory, second_gateway, "too-early"))
    assert second_gateway.delivered == []  # the dead sender's lease still holds them
    clock.advance(seconds=LEASE + 1)
    await run_until_idle(sender(uow_factory, second_gateway, "after-the-lease"))
    every = [d.text for d in gateway.delivered + second_gateway.delivered]
    assert sorted(every) == sorted(f"r{n}" for n in range(100))
    assert len(second_gateway.delivered) == 60


async def test_every_part_is_sent_once_even_when_a_later_part_fails(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    put(uow_factory, "summary", 3, "text", "chart 1", "chart 2")
    gateway = FakeGateway(
        script=lambda chat, kind, call: Unavailable("timed out") if call == 2 else None
    )
    await run_until_idle(sender(uow_factory, gateway))
    assert gateway.texts(3) == ["text"]
    clock.advance(seconds=10)  # the back-off after a failure
    await run_until_idle(sender(uow_factory, gateway, "retry"))
    assert gateway.texts(3) == ["text", "chart 1", "chart 2"]
    message = run_in_transaction(uow_factory, lambda uow: uow.outbox.get("summary"))
    assert (message.status, message.attempts, len(message.message_ids)) == ("sent", 1, 3)


async def test_a_photo_is_uploaded_once_and_then_sent_by_file_id(
    uow_factory: UnitOfWorkFactory,
) -> None:
    png = b"\x89PNG\r\n\x1a\n fake chart"

    def work(uow: UnitOfWork) -> None:
        for chat in range(1, 6):
            queue(uow, f"daily:{chat}", chat, [TextPart("numbers"), photo(uow, png, "Sales")])

    run_in_transaction(uow_factory, work)
    gateway = FakeGateway()
    await run_until_idle(sender(uow_factory, gateway))
    photos = [d for d in gateway.delivered if d.kind == "photo"]
    assert len(photos) == 5 and gateway.uploads == 1
    assert sorted(d.file for d in photos) == ["F1", "F1", "F1", "F1", "upload"]
    # a later sender (another process) reuses the stored file_id: no upload at all
    run_in_transaction(uow_factory, lambda uow: queue(uow, "daily:9", 9, [photo(uow, png)]))
    later = FakeGateway()
    await run_until_idle(sender(uow_factory, later, "later"))
    assert later.uploads == 0 and [d.file for d in later.delivered] == ["F1"]


async def test_a_tracked_card_is_recorded_and_a_render_part_with_nothing_to_say_is_skipped(
    uow_factory: UnitOfWorkFactory,
) -> None:
    keyboard = InlineKeyboard.of([Button("✅ Ship all", "ship:all:1")])
    run_in_transaction(
        uow_factory,
        lambda uow: queue(uow, "card", -7, [TextPart("card", keyboard, track="ship:1")]),
    )
    run_in_transaction(
        uow_factory,
        lambda uow: queue(uow, "gone", -7, [RenderPart("shipping-card", "en", {"order": 999})]),
    )
    gateway = FakeGateway()
    await run_until_idle(sender(uow_factory, gateway))
    assert gateway.texts(-7) == ["card"]
    assert gateway.delivered[0].keyboard == keyboard
    assert run_in_transaction(uow_factory, lambda uow: uow.sent_messages.for_key("ship:1")) == [
        (-7, 1)
    ]
    assert statuses(uow_factory, -7) == ["sent", "skipped"]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_two_senders_on_one_postgresql_share_the_work_and_send_nothing_twice(
    uow_factory: UnitOfWorkFactory,
) -> None:
    def work(uow: UnitOfWork) -> None:
        for n in range(300):
            queue(uow, f"m{n}", 500 + n % 60, [TextPart(f"m{n}")])

    run_in_transaction(uow_factory, work)
    gateway = FakeGateway()  # one Telegram, two bot processes
    one = sender(uow_factory, gateway, "one", batch=20)
    two = sender(uow_factory, gateway, "two", batch=20)
    await asyncio.gather(one.start(), two.start())
    try:
        await asyncio.gather(one.idle(30), two.idle(30))
    finally:
        await asyncio.gather(one.stop(), two.stop())
    counts = Counter(d.text for d in gateway.delivered)
    assert len(counts) == 300 and set(counts.values()) == {1}
    assert one.sent > 0 and two.sent > 0
    for chat in (500, 559):
        assert gateway.texts(chat) == [f"m{n}" for n in range(chat - 500, 300, 60)]


async def test_messages_keep_their_order_and_photos_keep_their_parts(
    uow_factory: UnitOfWorkFactory,
) -> None:
    def work(uow: UnitOfWork) -> None:
        queue(uow, "one", 4, [TextPart("a"), PhotoPart(uow.outbox.put_blob(b"x", uow.clock.now()))])
        queue(uow, "two", 4, [TextPart("b")])

    run_in_transaction(uow_factory, work)
    gateway = FakeGateway()
    await run_until_idle(sender(uow_factory, gateway))
    assert [(d.kind, d.text) for d in gateway.delivered] == [
        ("text", "a"),
        ("photo", ""),
        ("text", "b"),
    ]
