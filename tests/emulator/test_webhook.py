"""Webhook mode: the emulator POSTs updates to the bot, with the secret token header."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.emulator import BotApiEmulator, User
from tests.emulator.conftest import fails, ok

SECRET = "s3cret_Token-1"


@dataclass
class Receiver:
    """A tiny webhook endpoint that records what it gets and answers as told."""

    url: str = ""
    received: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give first; then 200
    reply: dict[str, Any] | None = None  # a method call to answer the first update with

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.json()))
        if self.statuses:
            return web.Response(status=self.statuses.pop(0))
        if self.reply is not None:
            reply, self.reply = self.reply, None
            return web.json_response(reply)
        return web.Response(text="ok")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.setblocking(False)
    await web.SockSite(runner, sock).start()
    hook.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    yield hook
    await runner.cleanup()


async def test_updates_are_posted_with_the_secret_header(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User, receiver: Receiver
) -> None:
    response = await api.post("/setWebhook", json={"url": receiver.url, "secret_token": SECRET})
    assert response.json() == {"ok": True, "result": True, "description": "Webhook was set"}
    await emu.send_text(alice, "/start")
    await emu.wait_until(lambda: receiver.received)
    headers, update = receiver.received[0]
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == SECRET
    assert update["message"]["text"] == "/start"
    await emu.wait_until(lambda: not emu.pending_updates())  # a 2xx confirms the update
    info = await ok(api, "getWebhookInfo")
    assert info["url"] == receiver.url and info["pending_update_count"] == 0
    body = await fails(api, "getUpdates", 409)
    assert body["description"].startswith("Conflict: can't use getUpdates method while webhook")


async def test_no_secret_no_header(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User, receiver: Receiver
) -> None:
    await ok(api, "setWebhook", url=receiver.url)
    await emu.send_text(alice, "hi")
    await emu.wait_until(lambda: receiver.received)
    assert "X-Telegram-Bot-Api-Secret-Token" not in receiver.received[0][0]


async def test_non_2xx_is_retried_with_the_same_update(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User, receiver: Receiver
) -> None:
    receiver.statuses = [500, 502]
    await ok(api, "setWebhook", url=receiver.url, secret_token=SECRET)
    await emu.send_text(alice, "10 blue widget")
    await emu.wait_until(lambda: len(receiver.received) == 3)
    ids = {update["update_id"] for _, update in receiver.received}
    assert len(ids) == 1
    info = await ok(api, "getWebhookInfo")
    assert info["last_error_message"] == "Wrong response from the webhook: 502 Bad Gateway"


async def test_a_webhook_reply_can_carry_a_method_call(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User, receiver: Receiver
) -> None:
    receiver.reply = {"method": "sendMessage", "chat_id": alice.id, "text": "pong"}
    await ok(api, "setWebhook", url=receiver.url)
    await emu.send_text(alice, "ping")
    (reply,) = await emu.wait_for_bot_messages(alice)
    assert reply["text"] == "pong"


async def test_redelivered_update_reaches_the_webhook_again(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User, receiver: Receiver
) -> None:
    await ok(api, "setWebhook", url=receiver.url)
    await emu.send_text(alice, "pay 500")
    await emu.wait_until(lambda: receiver.received)
    first = receiver.received[0][1]
    emu.redeliver(first["update_id"])
    await emu.wait_until(lambda: len(receiver.received) == 2)
    assert receiver.received[1][1] == first


async def test_delete_webhook_can_drop_pending_updates_and_polling_resumes(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await ok(api, "setWebhook", url="http://127.0.0.1:9/unreachable")
    await emu.send_text(alice, "lost")
    response = await api.post("/deleteWebhook", json={"drop_pending_updates": True})
    assert response.json()["description"] == "Webhook was deleted"
    assert await ok(api, "getUpdates") == []
    assert (await ok(api, "getWebhookInfo"))["url"] == ""


async def test_secret_token_characters_are_checked(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    body = await fails(api, "setWebhook", 400, url=receiver.url, secret_token="no spaces!")
    assert body["description"] == "Bad Request: secret token contains unallowed characters"
