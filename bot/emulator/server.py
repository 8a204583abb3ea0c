"""The Bot API over HTTP (aiohttp): ``/bot{token}/{method}`` and ``/file/bot{token}/{path}``.

Point a real bot at it::

    async with running_emulator() as emu:
        emu.add_bot(TOKEN, username="chaterp_bot")
        # python-telegram-bot
        Application.builder().token(TOKEN).base_url(emu.base_url).base_file_url(emu.base_file_url)
        # aiogram 3
        AiohttpSession(api=TelegramAPIServer.from_base(emu.url))

Requests may be JSON, a query string, form-urlencoded or multipart/form-data; answers are
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description": ...}`` with
the same HTTP status as ``error_code``. The token never reaches a log line: the access log is
off and the emulator logs bot usernames only.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from bot.emulator import errors
from bot.emulator.client import EmulatorClient
from bot.emulator.errors import ApiError
from bot.emulator.params import Params, Upload
from bot.emulator.state import Clock

log = logging.getLogger("bot.emulator")

#: Telegram accepts uploads up to 50 MB; leave room for the multipart envelope.
MAX_REQUEST_SIZE = 60 * 1024 * 1024


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _error_response(error: ApiError) -> web.Response:
    return web.json_response(error.to_json(), status=error.error_code, dumps=_dumps)


async def read_params(request: web.Request) -> Params:
    """Collect parameters from the query string and a JSON, form or multipart body."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.method != "POST" or not request.body_exists:
        return Params(values)
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json(loads=json.loads)
        except ValueError:
            raise errors.bad_request("can't parse JSON encoded request") from None
        if not isinstance(body, dict):
            raise errors.bad_request("can't parse JSON encoded request")
        values.update(body)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                uploads[key] = Upload(value.file.read(), value.filename, value.content_type)
            else:
                values[key] = value
    return Params(values, uploads)


class BotApiEmulator(EmulatorClient):
    """An emulated Telegram: the :class:`EmulatorClient` state served as the Bot API."""

    def __init__(
        self,
        *,
        clock: Clock = time.time,
        callback_answer_timeout: float = 15.0,
        max_poll_timeout: float = 50.0,
        webhook_retry_delays: Sequence[float] = (0.05, 0.2, 0.5),
    ) -> None:
        super().__init__(
            clock=clock,
            callback_answer_timeout=callback_answer_timeout,
            max_poll_timeout=max_poll_timeout,
            webhook_retry_delays=webhook_retry_delays,
        )
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    # HTTP -------------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_SIZE)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        return app

    async def _handle_method(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        bot = self.state.bots.get(token)
        if bot is None:
            # Telegram: 404 for a malformed token, 401 for a well-formed unknown one.
            if ":" not in token:
                return _error_response(ApiError(404, errors.NOT_FOUND))
            return _error_response(ApiError(401, errors.UNAUTHORIZED))
        try:
            params = await read_params(request)
            result = await self.api.call(bot, method, params)
        except web.HTTPRequestEntityTooLarge:
            return _error_response(ApiError(413, errors.TOO_LARGE))
        except ApiError as error:
            return _error_response(error)
        except Exception:
            log.exception("emulator: %s for %s failed", method, bot.username)
            return _error_response(ApiError(500, "Internal Server Error"))
        body: dict[str, Any] = {"ok": True, "result": result.value}
        if result.description:
            body["description"] = result.description
        return web.json_response(body, dumps=_dumps)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] not in self.state.bots:
            return _error_response(ApiError(401, errors.UNAUTHORIZED))
        stored = self.state.files_by_path.get(request.match_info["path"])
        if stored is None:
            return _error_response(ApiError(404, errors.NOT_FOUND))
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # running ----------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0: a free port); returns the root URL."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        self.state.closing = False
        runner = web.AppRunner(
            self.make_app(),
            access_log=None,  # access lines would contain the bot token
            handler_cancellation=True,  # a client that hangs up ends its long poll
            shutdown_timeout=2.0,
        )
        await runner.setup()
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
        site = web.SockSite(runner, sock)
        await site.start()
        self._runner = runner
        bound = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self._url = f"http://{shown}:{bound}"
        for bot in self.state.bots.values():  # webhooks set before a restart resume
            if bot.webhook is not None:
                self.webhooks.ensure(bot)
        log.info("Bot API emulator listening on %s", self._url)
        return self._url

    async def stop(self) -> None:
        """End long polls, stop webhook senders and close the server."""
        self.state.closing = True
        self.state.changed()
        await self.webhooks.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._url = None

    @property
    def url(self) -> str:
        """Server root, e.g. ``http://127.0.0.1:PORT`` (aiogram's TelegramAPIServer.from_base)."""
        if self._url is None:
            raise RuntimeError("the emulator is not running; use running_emulator() or start()")
        return self._url

    @property
    def base_url(self) -> str:
        """``{url}/bot`` — python-telegram-bot's ``base_url`` (it appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """``{url}/file/bot`` — python-telegram-bot's ``base_file_url``."""
        return f"{self.url}/file/bot"


@asynccontextmanager
async def running_emulator(
    emulator: BotApiEmulator | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    **kwargs: Any,
) -> AsyncIterator[BotApiEmulator]:
    """Run an emulator over HTTP for the duration of the block (a new one unless given)."""
    emu = emulator if emulator is not None else BotApiEmulator(**kwargs)
    await emu.start(host, port)
    try:
        yield emu
    finally:
        await emu.stop()
