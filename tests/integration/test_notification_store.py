"""The notification tables behind the ports, on the fake, SQLite and PostgreSQL alike: outbox
rows with natural keys and leases, files stored once, job slots, low-stock episodes, report
subscriptions and chats that refused the bot."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

import pytest

from domain.model import Actor
from domain.money import Money
from domain.ports import ReportSubscription, UnitOfWork, UnitOfWorkFactory
from domain.services.catalog import ProductDraft, save_product
from domain.transaction import run_in_transaction
from tests.conftest import TZ
from tests.fakes import FixedClock

Run = Callable[[Callable[[UnitOfWork], Any]], Any]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


def queue(run: Run, key: str, chat_id: int, parts: str = '[{"t":"text","html":"hi"}]') -> bool:
    return run(lambda uow: uow.outbox.add(key, chat_id, parts, at=T0, not_before=None))


def claim(run: Run, owner: str, *, now: datetime = T0, limit: int = 100) -> list[Any]:
    return run(
        lambda uow: uow.outbox.claim(
            owner=owner, now=now, lease_until=now + timedelta(seconds=60), limit=limit
        )
    )


def test_a_key_is_queued_once(run: Run) -> None:
    assert queue(run, "low-stock:1:1:-5", -5) is True
    assert queue(run, "low-stock:1:1:-5", -5, '[{"t":"text","html":"other"}]') is False
    message = run(lambda uow: uow.outbox.get("low-stock:1:1:-5"))
    assert (message.chat_id, message.status, message.parts) == (
        -5,
        "pending",
        '[{"t":"text","html":"hi"}]',
    )
    assert run(lambda uow: uow.outbox.pending()) == 1


def test_claims_are_leased_in_order_and_a_chat_stays_with_one_sender(run: Run) -> None:
    for n, chat in enumerate([1, 2, 1, 3]):
        queue(run, f"k{n}", chat)
    first = claim(run, "a", limit=2)
    assert [m.key for m in first] == ["k0", "k1"]
    # b may not take chat 1's later message while a holds chat 1 (order within a chat)
    second = claim(run, "b")
    assert [m.key for m in second] == ["k3"]
    assert claim(run, "c") == []
    # the leases run out (both died): anyone may take their chats again, oldest first
    later = T0 + timedelta(seconds=61)
    assert [m.key for m in claim(run, "c", now=later)] == ["k0", "k1", "k2", "k3"]


def test_progress_and_finish_need_the_lease(run: Run) -> None:
    queue(run, "k", 7)
    (message,) = claim(run, "a")
    assert run(lambda uow: uow.outbox.progress(message.id, "b", 1, [10])) is False
    assert run(lambda uow: uow.outbox.progress(message.id, "a", 1, [10])) is True
    assert run(lambda uow: uow.outbox.finish(message.id, "b", "sent", T0)) is False
    assert run(lambda uow: uow.outbox.finish(message.id, "a", "sent", T0)) is True
    assert run(lambda uow: uow.outbox.finish(message.id, "a", "sent", T0)) is False
    done = run(lambda uow: uow.outbox.get("k"))
    assert (done.status, done.parts_sent, done.message_ids, done.sent_at) == ("sent", 1, (10,), T0)
    assert run(lambda uow: uow.outbox.pending()) == 0


def test_a_released_message_holds_back_the_rest_of_its_chat(run: Run) -> None:
    for key, chat in (("k1", 1), ("k2", 1), ("k3", 2)):
        queue(run, key, chat)
    first, _, _ = claim(run, "a")
    later = T0 + timedelta(seconds=5)
    run(lambda uow: uow.outbox.release(first.id, "a", later, "429", failed=False))
    # k2 (chat 1) waits with k1; chat 2 is free once a's lease ends
    assert [m.key for m in claim(run, "b", now=T0 + timedelta(seconds=61))] == ["k1", "k2", "k3"]
    message = run(lambda uow: uow.outbox.get("k1"))
    assert (message.attempts, message.error) == (0, "429")


def test_skipping_a_chat_and_following_a_migrated_group(run: Run) -> None:
    queue(run, "a", -10)
    queue(run, "b", -10)
    queue(run, "c", -20)
    assert run(lambda uow: uow.outbox.skip_chat(-10, T0, "bot was kicked")) == 2
    run(lambda uow: uow.report_subscriptions.save(ReportSubscription(-20, weekly=True), T0))
    run(lambda uow: uow.chat_topics.move_chat(-20, -10020))
    assert [m.key for m in run(lambda uow: uow.outbox.for_chat(-10020))] == ["c"]
    assert run(lambda uow: uow.report_subscriptions.get(-10020)).weekly is True
    assert run(lambda uow: uow.report_subscriptions.get(-20)) is None
    assert [m.status for m in run(lambda uow: uow.outbox.for_chat(-10))] == ["skipped"] * 2


def test_a_file_is_stored_once_and_keeps_its_first_file_id(run: Run) -> None:
    png = b"\x89PNG fake"
    digest = run(lambda uow: uow.outbox.put_blob(png, T0))
    assert run(lambda uow: uow.outbox.put_blob(png, T0)) == digest
    assert run(lambda uow: uow.outbox.blob(digest)) == (png, None)
    run(lambda uow: uow.outbox.set_file_id(digest, "F1"))
    run(lambda uow: uow.outbox.set_file_id(digest, "F2"))
    assert run(lambda uow: uow.outbox.blob(digest)) == (png, "F1")
    assert run(lambda uow: uow.outbox.blob("0" * 64)) is None


def test_purge_keeps_pending_messages_and_files_in_use(run: Run) -> None:
    digest = run(lambda uow: uow.outbox.put_blob(b"chart", T0))
    queue(run, "old", 1, f'[{{"t":"photo","blob":"{digest}"}}]')
    queue(run, "waiting", 2)
    old, _ = claim(run, "a")
    run(lambda uow: uow.outbox.finish(old.id, "a", "sent", T0))
    assert run(lambda uow: uow.outbox.purge(T0 + timedelta(days=1))) == 1
    assert run(lambda uow: uow.outbox.get("old")) is None
    assert run(lambda uow: uow.outbox.get("waiting")) is not None
    assert run(lambda uow: uow.outbox.blob(digest)) is None  # nothing needs it any more


def test_a_job_slot_is_claimed_once(run: Run) -> None:
    slot = datetime(2026, 3, 2, 19, 0, tzinfo=TZ)
    assert run(lambda uow: uow.job_runs.try_claim("daily-summary", slot, "a", T0)) is True
    assert run(lambda uow: uow.job_runs.try_claim("daily-summary", slot, "b", T0)) is False
    assert run(lambda uow: uow.job_runs.claimed("daily-summary", slot)) is True
    assert run(lambda uow: uow.job_runs.claimed("birthdays", slot)) is False
    assert run(lambda uow: uow.job_runs.last_slot("daily-summary")) == slot
    assert run(lambda uow: uow.job_runs.last_slot("birthdays")) is None


def test_low_stock_episodes(run: Run) -> None:
    product = run(
        lambda uow: save_product(
            uow,
            actor=Actor.system("test"),
            draft=ProductDraft(
                sku="P", name="P", unit="pcs", price=Money(1, "CNY"), cost=Money(1, "CNY")
            ),
        )
    ).product
    assert run(lambda uow: uow.low_stock.try_begin(product.id, T0)) == 1
    assert run(lambda uow: uow.low_stock.try_begin(product.id, T0)) is None
    assert run(lambda uow: uow.low_stock.low_products()) == {product.id}
    assert run(lambda uow: uow.low_stock.try_end(product.id, T0)) is True
    assert run(lambda uow: uow.low_stock.try_end(product.id, T0)) is False
    assert run(lambda uow: uow.low_stock.try_begin(product.id, T0)) == 2


def test_report_subscriptions_and_inactive_chats(run: Run) -> None:
    assert run(lambda uow: uow.report_subscriptions.get(5)) is None
    sub = ReportSubscription(5, daily=False, monthly=True, send_at=time(7, 30), title="Olga")
    run(lambda uow: uow.report_subscriptions.save(sub, T0))
    run(lambda uow: uow.report_subscriptions.save(ReportSubscription(-9), T0))
    assert run(lambda uow: uow.report_subscriptions.list()) == [ReportSubscription(-9), sub]
    run(lambda uow: uow.chat_states.set_inactive(-9, "kicked", T0))
    assert run(lambda uow: uow.chat_states.inactive()) == {-9}
    assert run(lambda uow: uow.chat_states.set_active(-9)) is True
    assert run(lambda uow: uow.chat_states.set_active(-9)) is False


def test_the_bell_rings_after_a_commit_that_queued_messages(
    uow_factory: UnitOfWorkFactory,
) -> None:
    rung: list[int] = []
    with uow_factory() as uow:
        uow.outbox.on_commit(lambda: rung.append(1))
    run_in_transaction(uow_factory, lambda uow: uow.chat_states.inactive())
    assert rung == []
    with uow_factory() as uow:
        uow.outbox.add("x", 1, "[]", at=T0, not_before=None)
    assert rung == []  # rolled back: nothing to send
    run_in_transaction(
        uow_factory, lambda uow: uow.outbox.add("x", 1, "[]", at=T0, not_before=None)
    )
    assert rung == [1]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_two_senders_claiming_at_once_never_share_a_message(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    """FOR UPDATE SKIP LOCKED: concurrent claims on PostgreSQL take disjoint rows."""
    for n in range(400):
        run_in_transaction(
            uow_factory, lambda uow, n=n: uow.outbox.add(f"k{n}", n, "[]", at=T0, not_before=None)
        )
    taken: dict[str, list[int]] = {}
    start = threading.Barrier(4)

    def sender(name: str) -> None:
        start.wait()
        mine: list[int] = []
        while True:
            batch = claim(lambda work: run_in_transaction(uow_factory, work), name, limit=7)
            if not batch:
                break
            mine += [m.id for m in batch]
        taken[name] = mine

    threads = [threading.Thread(target=sender, args=(f"s{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for ids in taken.values() for i in ids]
    assert len(every) == len(set(every)) == 400
    assert sum(1 for ids in taken.values() if ids) >= 2  # the work was shared
