"""The real aiogram 3, polling the emulator over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
)
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.emulator import BotApiEmulator, User
from tests.emulator.conftest import TOKEN, png_bytes


async def start(message: Message, command: CommandObject) -> None:
    name = message.from_user.first_name if message.from_user else "?"
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Confirm", callback_data="confirm:7")],
            [InlineKeyboardButton(text="Cancel", callback_data="cancel:7")],
        ]
    )
    await message.answer(f"Hello <b>{name}</b> ({command.args})", reply_markup=keyboard)


async def confirm(query: CallbackQuery) -> None:
    await query.answer("Done")
    assert isinstance(query.message, Message)
    await query.message.edit_text(f"You chose <i>{query.data}</i>")


async def on_document(message: Message, bot: Bot) -> None:
    assert message.document is not None
    data = await bot.download(message.document.file_id)
    assert data is not None
    await message.answer(f"Got {message.document.file_name}: {len(data.read())} bytes")


def make_router() -> Router:
    """A fresh router per test (an aiogram router joins only one dispatcher)."""
    router = Router()
    router.message.register(start, Command("start"))
    router.callback_query.register(confirm, F.data.startswith("confirm:"))
    router.message.register(on_document, F.document)
    return router


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(emu.url))
    async with Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML")) as bot:
        yield bot


@pytest.fixture
async def polling(bot: Bot) -> AsyncIterator[Dispatcher]:
    dispatcher = Dispatcher()
    dispatcher.include_router(make_router())
    task = asyncio.create_task(
        dispatcher.start_polling(
            bot, polling_timeout=2, handle_signals=False, close_bot_session=False
        )
    )
    yield dispatcher
    await dispatcher.stop_polling()
    await asyncio.wait_for(task, timeout=5)


async def test_start_keyboard_press_answer_and_edit(
    emu: BotApiEmulator, polling: Dispatcher, alice: User
) -> None:
    await emu.send_text(alice, "/start@chaterp_bot invite42")
    (reply,) = await emu.wait_for_bot_messages(alice)
    assert reply["text"] == "Hello Alice (invite42)"
    assert reply["entities"] == [{"type": "bold", "offset": 6, "length": 5}]

    query_id = await emu.tap(alice, reply, "Confirm")
    (edited,) = await emu.wait_for_bot_messages(alice)
    assert (await emu.wait_for_callback_answer(query_id))["text"] == "Done"
    assert edited["message_id"] == reply["message_id"]
    assert [m["text"] for m in emu.messages(alice)] == [
        "/start@chaterp_bot invite42",
        "You chose confirm:7",
    ]
    assert "reply_markup" not in emu.last_bot_message(alice)  # type: ignore[operator]
    polls = emu.calls_to("getUpdates")
    assert polls[0].params["allowed_updates"]  # aiogram asks only for what its handlers use


async def test_files_both_ways(
    emu: BotApiEmulator, polling: Dispatcher, bot: Bot, alice: User
) -> None:
    await emu.send_document(alice, "stock.csv", b"sku,qty\nM8,5\n", "text/csv")
    (reply,) = await emu.wait_for_bot_messages(alice)
    assert reply["text"] == "Got stock.csv: 13 bytes"

    chart = png_bytes(32, 16)
    sent = await bot.send_photo(alice.id, BufferedInputFile(chart, "chart.png"), caption="<b>x</b>")
    assert sent.photo is not None and (sent.photo[-1].width, sent.photo[-1].height) == (32, 16)
    assert sent.caption == "x"
    downloaded = await bot.download(sent.photo[-1].file_id)
    assert downloaded is not None and downloaded.read() == chart

    report = b"date,total\n2026-03-02,1500.00\n"
    doc = await bot.send_document(alice.id, BufferedInputFile(report, "report.csv"))
    assert doc.document is not None and doc.document.file_name == "report.csv"
    downloaded = await bot.download(doc.document.file_id)
    assert downloaded is not None and downloaded.read() == report


async def test_aiogram_raises_its_own_exceptions_for_emulated_errors(
    emu: BotApiEmulator, bot: Bot, alice: User
) -> None:
    await emu.send_text(alice, "hello")  # opens the private chat
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(alice.id, "a < b")
    emu.inject_429(retry_after=4)
    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(alice.id, "report")
    assert retry.value.retry_after == 4
    emu.block(alice)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(alice.id, "reminder")
    group = emu.group(-4001, "Warehouse", members=[alice])
    supergroup = emu.migrate(group)
    with pytest.raises(TelegramMigrateToChat) as migrated:
        await bot.send_message(group.id, "low stock")
    assert migrated.value.migrate_to_chat_id == supergroup.id
