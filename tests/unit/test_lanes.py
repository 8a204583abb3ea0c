"""Chat lanes (bot/lanes.py) and aiogram's use of them: order per chat, a bounded total, and
no state kept in aiogram's FSM."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.aiogram.isolation import ChatLaneIsolation, NoStateStorage
from bot.lanes import ChatLanes

TIMEOUT = 5.0


async def test_a_chat_waits_for_its_earlier_update_while_other_chats_run() -> None:
    lanes = ChatLanes(max_concurrent=8)
    order: list[str] = []
    release_first = asyncio.Event()
    other_chat_done = asyncio.Event()

    async def update(chat: int, name: str, wait: asyncio.Event | None = None) -> None:
        async with lanes.turn(chat):
            order.append(f"{name} start")
            if wait is not None:
                await wait.wait()
            order.append(f"{name} end")
        if name == "B1":
            other_chat_done.set()

    tasks = [
        asyncio.create_task(update(1, "A1", release_first)),
        asyncio.create_task(update(1, "A2")),
        asyncio.create_task(update(2, "B1")),
    ]
    await asyncio.wait_for(other_chat_done.wait(), TIMEOUT)
    assert "A2 start" not in order and lanes.chats == 1
    release_first.set()
    await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    assert order.index("A1 end") < order.index("A2 start")
    assert lanes.chats == 0 and lanes.running == 0  # idle chats leave nothing behind


async def test_a_busy_chat_holds_one_slot_and_cannot_starve_the_others() -> None:
    lanes = ChatLanes(max_concurrent=2)
    gate = asyncio.Event()
    started: list[tuple[int, int]] = []
    others_ran = asyncio.Event()

    async def update(chat: int, n: int) -> None:
        async with lanes.turn(chat):
            started.append((chat, n))
            if chat == 1:
                await gate.wait()
            elif len([s for s in started if s[0] != 1]) == 3:
                others_ran.set()

    busy = [asyncio.create_task(update(1, n)) for n in range(10)]
    others = [asyncio.create_task(update(chat, 0)) for chat in (2, 3, 4)]
    await asyncio.wait_for(others_ran.wait(), TIMEOUT)
    assert started[0] == (1, 0) and (1, 1) not in started  # chat 1: one at a time
    gate.set()
    await asyncio.wait_for(asyncio.gather(*busy, *others), TIMEOUT)
    assert [n for chat, n in started if chat == 1] == list(range(10))


async def test_the_total_is_bounded_and_updates_without_a_chat_take_a_slot_too() -> None:
    lanes = ChatLanes(max_concurrent=2)
    gate = asyncio.Event()
    started: list[object] = []
    two_running = asyncio.Event()

    async def update(chat: int | None) -> None:
        async with lanes.turn(chat):
            started.append(chat)
            if len(started) == 2:
                two_running.set()
            await gate.wait()

    tasks = [asyncio.create_task(update(chat)) for chat in (1, None, 3)]
    await asyncio.wait_for(two_running.wait(), TIMEOUT)
    assert lanes.running == 2 and started == [1, None]
    gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    assert started == [1, None, 3] and lanes.running == 0


async def test_a_cancelled_wait_leaves_the_lane_usable() -> None:
    lanes = ChatLanes(max_concurrent=1)
    gate = asyncio.Event()

    async def hold() -> None:
        async with lanes.turn(1):
            await gate.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiter.cancel()
    gate.set()
    await asyncio.wait_for(holder, TIMEOUT)
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert lanes.chats == 0 and lanes.running == 0
    async with lanes.turn(1):
        assert lanes.running == 1


def test_lanes_need_a_slot() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ChatLanes(max_concurrent=0)


# --- aiogram ----------------------------------------------------------------------------------


async def test_aiogram_isolation_is_keyed_by_chat() -> None:
    lanes = ChatLanes(max_concurrent=8)
    isolation = ChatLaneIsolation(lanes)
    in_group = StorageKey(bot_id=1, chat_id=-100, user_id=-100)
    async with isolation.lock(in_group):
        assert lanes.chats == 1 and lanes.running == 1
        waiting = asyncio.create_task(_locked(isolation, in_group))
        await asyncio.sleep(0)
        assert not waiting.done()  # the same chat waits
        await asyncio.wait_for(_locked(isolation, StorageKey(1, 12, 12)), TIMEOUT)
    await asyncio.wait_for(waiting, TIMEOUT)
    await isolation.close()
    assert lanes.chats == 0


async def _locked(isolation: ChatLaneIsolation, key: StorageKey) -> None:
    async with isolation.lock(key):
        pass


async def test_aiogram_keeps_no_conversation_state() -> None:
    storage = NoStateStorage()
    key = StorageKey(bot_id=1, chat_id=12, user_id=12)
    assert await storage.get_state(key) is None
    assert await storage.get_data(key) == {}
    await storage.set_state(key, None)  # clearing is fine: there is nothing
    await storage.set_data(key, {})
    with pytest.raises(RuntimeError, match="database"):
        await storage.set_state(key, "order:lines")
    with pytest.raises(RuntimeError, match="database"):
        await storage.update_data(key, {"draft": 1})
    await storage.close()


async def test_aiogram_runs_one_chats_updates_in_arrival_order() -> None:
    """As aiogram's polling does: a task per update, created in arrival order. Every update
    reaches its chat's lane before it first suspends, so a chat's order holds even though
    each handler suspends, while the two chats interleave."""
    from aiogram import Bot
    from aiogram.types import Message, Update

    from bot.aiogram.app import ChatOrderedDispatcher

    lanes = ChatLanes(max_concurrent=8)
    arrived: list[int] = []
    done: list[int] = []

    async def finished(update: Update) -> None:
        done.append(update.update_id)

    dispatcher = ChatOrderedDispatcher(
        lanes, arrived=lambda u: arrived.append(u.update_id), done=finished
    )
    seen: list[tuple[int, str]] = []
    overlapped = False

    async def handler(message: Message) -> None:
        nonlocal overlapped
        overlapped = overlapped or lanes.running > 1
        for _ in range(40 - int(message.text or 0)):  # earlier updates take longer
            await asyncio.sleep(0)
        seen.append((message.chat.id, message.text or ""))

    dispatcher.message.register(handler)
    bot = Bot("123456:test-token-not-used-for-any-call")
    updates = [
        Update.model_validate(
            {
                "update_id": n,
                "message": {
                    "message_id": n,
                    "date": 0,
                    "chat": {"id": chat, "type": "private"},
                    "from": {"id": chat, "is_bot": False, "first_name": "U"},
                    "text": str(n),
                },
            },
            context={"bot": bot},
        )
        for n, chat in enumerate([1, 2] * 20)
    ]
    tasks = [asyncio.create_task(dispatcher.feed_update(bot, update)) for update in updates]
    await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    for chat in (1, 2):
        texts = [int(text) for seen_chat, text in seen if seen_chat == chat]
        assert texts == sorted(texts) and len(texts) == 20
    assert overlapped  # the two chats ran at the same time
    assert arrived == list(range(40)) and sorted(done) == list(range(40))
    assert lanes.chats == 0 and lanes.running == 0
    await bot.session.close()
