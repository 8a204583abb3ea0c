"""python-telegram-bot's HTTP requests made with aiohttp instead of httpx.

PTB lets a bot swap its HTTP layer (``telegram.request.BaseRequest`` is the documented
extension point). Measured against the local emulator, one ``sendMessage`` costs the bot
about 1.8 ms of CPU through PTB's default httpx request and about 0.4 ms through aiohttp,
and httpx's pool gets slower as it grows (every request checks every pooled connection
with system calls). aiohttp is already a dependency (the emulator and the webhook listener).

Behaviour kept from PTB's own ``HTTPXRequest``: the same default timeouts (5 s to connect,
read and write, 1 s to wait for a free connection, 20 s to upload a file), multipart form
data when files go along, proxies from the environment (``HTTPS_PROXY``…) honoured, and
failures raised as ``telegram.error.TimedOut`` / ``NetworkError``, with anything shaped like a
bot token taken out of the message. Other calls send their parameters as a JSON body (which
the Bot API accepts) instead of a url-encoded form.
"""

from __future__ import annotations

import json
import urllib.request

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.logging_setup import redact

DEFAULT_TIMEOUT = 5.0  # seconds to connect, and to wait for each read
DEFAULT_POOL_TIMEOUT = 1.0  # seconds to wait for a free connection
MEDIA_TIMEOUT = 20.0  # seconds an upload may take as a whole


class AiohttpRequest(BaseRequest):
    """A ``BaseRequest`` on one ``aiohttp.ClientSession`` (created in ``initialize``)."""

    __slots__ = (
        "_connect_timeout",
        "_media_timeout",
        "_pool_size",
        "_pool_timeout",
        "_read_timeout",
        "_session",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        *,
        read_timeout: float | None = DEFAULT_TIMEOUT,
        connect_timeout: float | None = DEFAULT_TIMEOUT,
        pool_timeout: float | None = DEFAULT_POOL_TIMEOUT,
        media_timeout: float | None = MEDIA_TIMEOUT,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_timeout = media_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                # Reading the proxy settings costs a few system calls per request: only when
                # one is set (httpx, PTB's default, honours them too).
                trust_env=bool(urllib.request.getproxies()),
                skip_auto_headers=("Accept-Encoding",),  # small JSON answers: not worth gzip
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data is not None else None
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = (
            self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        )
        pool = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        # aiohttp has no write timeout: an upload is bounded as a whole instead.
        total = None
        if files:
            total = self._media_timeout if isinstance(write_timeout, DefaultValue) else None
        timeout = aiohttp.ClientTimeout(
            total=total,
            connect=pool,  # waiting for a free connection (and then connecting)
            sock_connect=connect,
            sock_read=read,
        )
        body, content_type = _body(request_data, files)
        headers = {"User-Agent": self.USER_AGENT}
        if content_type is not None:
            headers["Content-Type"] = content_type
        try:
            async with session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            # The class name helps when the message is empty; aiohttp may quote the URL,
            # which holds the token.
            raise NetworkError(redact(f"aiohttp.{type(error).__name__}: {error}")) from error


def _body(
    request_data: RequestData | None, files: dict[str, object] | None
) -> tuple[aiohttp.FormData | bytes | None, str | None]:
    """The request body and its content type: JSON, or multipart form data with files.

    JSON, not a url-encoded form: quoting every character of a long (often non-ASCII) message
    cost more than the rest of the request.
    """
    if request_data is None:
        return None, None
    if not files:
        parameters = request_data.parameters
        if not parameters:
            return None, None
        return json.dumps(parameters, separators=(",", ":")).encode(), "application/json"
    form = aiohttp.FormData(request_data.json_parameters, quote_fields=False)
    for name, part in files.items():
        filename, content, *rest = part  # type: ignore[misc]
        content_type = rest[0] if rest else None
        form.add_field(name, content, filename=filename, content_type=content_type)
    return form, None
