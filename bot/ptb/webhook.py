"""The webhook endpoint (aiohttp): Telegram POSTs updates here instead of being polled.

Used instead of PTB's own webhook server (which needs the tornado extra, compares the secret
with ``!=`` and logs a wrong secret at DEBUG, PTB#5120):

- a request without the right ``X-Telegram-Bot-Api-Secret-Token`` gets 403, compared in
  constant time, and the supplied value is never logged;
- the update goes into the Application's queue (so it runs through the same per-chat
  processor as polled updates), and the answer waits until it has been handled — its update
  id recorded with the business change — for up to ``answer_within`` seconds (under
  Telegram's 60). A crash before that means no 2xx, so Telegram delivers the update again,
  and the engine's update-id check keeps a retry from acting twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from typing import Any

from aiohttp import web
from telegram import Bot, Update

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ANSWER_WITHIN = 50.0  # seconds; Telegram retries a webhook call that takes over 60 s
MAX_BODY = 1024 * 1024  # an update is a few KB
SHUTDOWN_TIMEOUT = 10.0  # seconds in-flight calls get to finish when stopping


class WebhookServer:
    """Receives updates on ``path`` and queues them for the Application."""

    def __init__(
        self,
        bot: Bot,
        queue: asyncio.Queue[object],
        *,
        secret: str,
        listen: str,
        port: int,
        path: str,
        answer_within: float = ANSWER_WITHIN,
    ) -> None:
        if not secret:
            raise ValueError("a webhook needs a secret token")
        self._bot = bot
        self._queue = queue
        self._secret = secret.encode()
        self._listen = listen
        self._port = port
        self._path = "/" + path.lstrip("/")
        self._answer_within = answer_within
        self._waiting: dict[int, list[asyncio.Future[None]]] = {}
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self._path, self._receive)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        await web.TCPSite(runner, self._listen, self._port).start()
        self._runner = runner
        logger.info("webhook endpoint listening on %s:%s%s", self._listen, self._port, self._path)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for futures in self._waiting.values():
            for future in futures:
                future.cancel()
        self._waiting.clear()

    def handled(self, update_id: int) -> None:
        """The front end finished ``update_id``: answer the requests that brought it."""
        for future in self._waiting.pop(update_id, []):
            if not future.done():
                future.set_result(None)

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            logger.warning("webhook call without the right secret token refused")
            return web.Response(status=403, text="Forbidden")
        try:
            data: Any = json.loads(await request.read())
            update = Update.de_json(data, self._bot)
        except Exception:
            logger.warning("webhook call with a body that is not an update refused")
            return web.Response(status=400, text="Bad Request")
        if update is None:
            return web.Response(status=400, text="Bad Request")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(update.update_id, []).append(future)
        await self._queue.put(update)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(future), self._answer_within)
        if not future.done():
            logger.warning("update %s still running; acknowledged anyway", update.update_id)
        return web.Response(status=200)
