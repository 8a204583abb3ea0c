"""Webhook delivery: POST each pending update to the bot's URL, in order, like Telegram.

The update is the JSON body; ``X-Telegram-Bot-Api-Secret-Token`` carries the secret when one
was set. A non-2xx answer or a connection error is retried with backoff; after the last retry
the update is dropped and the error shows in getWebhookInfo (Telegram keeps retrying for
hours; a test wants to see the failure quickly). A 2xx answer whose JSON body names a
``method`` is executed, as Telegram does with replies to webhook requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import aiohttp

from bot.emulator.errors import ApiError
from bot.emulator.params import Params
from bot.emulator.state import BotAccount, EmulatorState, PendingUpdate

if TYPE_CHECKING:
    from bot.emulator.methods import BotApi

log = logging.getLogger("bot.emulator")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookDelivery:
    """One sender task per bot with a webhook."""

    def __init__(
        self,
        state: EmulatorState,
        api: BotApi,
        *,
        retry_delays: Sequence[float] = (0.05, 0.2, 0.5),
        request_timeout: float = 10.0,
    ) -> None:
        self.state = state
        self.api = api
        self.retry_delays = tuple(retry_delays)
        self.request_timeout = request_timeout
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None

    def ensure(self, bot: BotAccount) -> None:
        """Start the sender for ``bot`` if it is not running."""
        task = self._tasks.get(bot.id)
        if task is None or task.done():
            self._tasks[bot.id] = asyncio.get_running_loop().create_task(
                self._run(bot), name=f"emulator-webhook-{bot.username}"
            )

    def stop(self, bot: BotAccount) -> None:
        task = self._tasks.pop(bot.id, None)
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.request_timeout)
            )
        return self._session

    async def _run(self, bot: BotAccount) -> None:
        while bot.webhook is not None and not self.state.closing:
            if not bot.pending:
                await self.state.wait_changed(None)
                continue
            pending = bot.pending[0]
            delivered = await self._deliver(bot, pending)
            if pending in bot.pending:
                bot.pending.remove(pending)
            if not delivered:
                log.info("emulator: webhook gave up on update %s", pending.update_id)
            self.state.changed()

    async def _deliver(self, bot: BotAccount, pending: PendingUpdate) -> bool:
        for attempt in range(len(self.retry_delays) + 1):
            hook = bot.webhook
            if hook is None:
                return False
            headers = {"Content-Type": "application/json"}
            if hook.secret_token:
                headers[SECRET_HEADER] = hook.secret_token
            try:
                async with self._client().post(
                    hook.url, data=json.dumps(pending.payload), headers=headers
                ) as response:
                    body = await response.read()
                    if 200 <= response.status < 300:
                        await self._run_reply(bot, response.content_type, body)
                        return True
                    error = f"Wrong response from the webhook: {response.status} {response.reason}"
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                error = "Connection refused" if isinstance(exc, OSError) else type(exc).__name__
            hook.last_error_date = self.state.unix_time()
            hook.last_error_message = error
            if attempt < len(self.retry_delays):
                await asyncio.sleep(self.retry_delays[attempt])
        return False

    async def _run_reply(self, bot: BotAccount, content_type: str, body: bytes) -> None:
        """Execute a method the webhook answered with (``{"method": "sendMessage", ...}``)."""
        if content_type != "application/json" or not body:
            return
        try:
            reply = json.loads(body)
        except ValueError:
            return
        if isinstance(reply, dict) and isinstance(reply.get("method"), str):
            values = {k: v for k, v in reply.items() if k != "method"}
            with contextlib.suppress(ApiError):
                await self.api.call(bot, reply["method"], Params(values))
