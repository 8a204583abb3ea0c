"""The real python-telegram-bot, polling the emulator over HTTP."""

from __future__ import annotations

import datetime as dtm
import socket
from collections.abc import AsyncIterator

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.emulator import BotApiEmulator, User
from bot.ptb.request import AiohttpRequest
from tests.emulator.conftest import TOKEN, png_bytes

# PTB warns when it builds RetryAfter (its retry_after type changes in v23); not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    name = update.message.from_user.first_name if update.message.from_user else "?"
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Confirm", callback_data="confirm:7")],
            [InlineKeyboardButton("Cancel", callback_data="cancel:7")],
        ]
    )
    args = " ".join(context.args or [])
    await update.message.reply_html(f"Hello <b>{name}</b> ({args})", reply_markup=keyboard)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("Done")
    await query.edit_message_text(f"You chose <i>{query.data}</i>", parse_mode="HTML")


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.document is not None
    file = await update.message.document.get_file()
    data = await file.download_as_bytearray()
    await update.message.reply_text(f"Got {update.message.document.file_name}: {len(data)} bytes")


@pytest.fixture(params=["httpx", "aiohttp"])
async def app(
    request: pytest.FixtureRequest, emu: BotApiEmulator
) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    """PTB with its default requests (httpx), and with the bot's own (bot/ptb/request.py)."""
    builder = (
        Application.builder().token(TOKEN).base_url(emu.base_url).base_file_url(emu.base_file_url)
    )
    if request.param == "aiohttp":
        builder = builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest(1))
    application = builder.build()
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(filters.Document.ALL, on_document))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=dtm.timedelta(seconds=2))
        yield application
        await application.updater.stop()
        await application.stop()


async def test_start_keyboard_press_answer_and_edit(
    emu: BotApiEmulator,
    app: Application,
    alice: User,  # type: ignore[type-arg]
) -> None:
    await emu.send_text(alice, "/start invite42")
    (reply,) = await emu.wait_for_bot_messages(alice)
    assert reply["text"] == "Hello Alice (invite42)"
    assert reply["entities"] == [{"type": "bold", "offset": 6, "length": 5}]
    assert emu.buttons(reply) == [[("Confirm", "confirm:7")], [("Cancel", "cancel:7")]]

    query_id = await emu.tap(alice, reply, "confirm")
    (edited,) = await emu.wait_for_bot_messages(alice)
    assert (await emu.wait_for_callback_answer(query_id))["text"] == "Done"
    assert edited["message_id"] == reply["message_id"] and "edit_date" in edited

    seen = emu.messages(alice)
    assert [m["text"] for m in seen] == ["/start invite42", "You chose confirm:7"]
    assert "reply_markup" not in seen[-1]
    assert emu.records(alice)[-1].html == "You chose <i>confirm:7</i>"
    methods = [c.method for c in emu.calls]
    assert methods[:2] == ["getMe", "deleteWebhook"]  # PTB's initialize + polling bootstrap


async def test_files_both_ways(
    emu: BotApiEmulator,
    app: Application,
    alice: User,  # type: ignore[type-arg]
) -> None:
    await emu.send_text(alice, "/start")
    await emu.wait_for_bot_messages(alice)

    # A user uploads a CSV; the handler downloads it through the file URL.
    await emu.send_document(alice, "stock.csv", b"sku,qty\nM8,5\n", "text/csv")
    (reply,) = await emu.wait_for_bot_messages(alice)
    assert reply["text"] == "Got stock.csv: 13 bytes"

    # The bot sends a chart and a report; PTB uploads them as multipart.
    chart = png_bytes(64, 48)
    photo_message = await app.bot.send_photo(
        alice.id, chart, caption="<b>Sales</b>", parse_mode="HTML"
    )
    assert photo_message.caption == "Sales"
    assert (photo_message.photo[-1].width, photo_message.photo[-1].height) == (64, 48)
    report = b"date,total\n2026-03-02,1500.00\n"
    document_message = await app.bot.send_document(
        alice.id, InputFile(report, filename="report.csv")
    )
    assert document_message.document is not None
    assert document_message.document.file_name == "report.csv"

    photo_file = await app.bot.get_file(photo_message.photo[-1].file_id)
    assert photo_file.file_path is not None and photo_file.file_path.startswith(emu.base_file_url)
    assert bytes(await photo_file.download_as_bytearray()) == chart
    document_file = await document_message.document.get_file()
    assert bytes(await document_file.download_as_bytearray()) == report
    sent = emu.calls_to("sendDocument")[-1].params
    assert sent["document"].startswith("<upload report.csv")


async def test_ptb_raises_its_own_exceptions_for_emulated_errors(
    emu: BotApiEmulator,
    app: Application,
    alice: User,  # type: ignore[type-arg]
) -> None:
    await emu.send_text(alice, "/start")
    await emu.wait_for_bot_messages(alice)
    with pytest.raises(BadRequest, match=r"(?i)can.t parse entities: unmatched end tag"):
        await app.bot.send_message(alice.id, "<b>x</a>", parse_mode="HTML")

    emu.inject_429(retry_after=3)
    with pytest.raises(RetryAfter, match="Retry in 3 seconds"):
        await app.bot.send_message(alice.id, "report")

    emu.block(alice)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await app.bot.send_message(alice.id, "reminder")

    group = emu.group(-4001, "Warehouse", members=[alice])
    supergroup = emu.migrate(group)
    with pytest.raises(ChatMigrated) as migrated:
        await app.bot.send_message(group.id, "low stock")
    assert migrated.value.new_chat_id == supergroup.id


async def test_network_failures_become_ptb_errors_without_the_token() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    request = AiohttpRequest(connect_timeout=2.0)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as failed:
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
    finally:
        await request.shutdown()
    assert TOKEN not in str(failed.value) and TOKEN.split(":")[1] not in str(failed.value)
