"""A local Telegram Bot API emulator: the product runs and is tested with no Telegram at all.

- :class:`BotApiEmulator` serves the Bot API over HTTP (aiohttp) for real python-telegram-bot
  and aiogram bots, and is also the in-process :class:`EmulatorClient` through which tests and
  the sandbox page act as users (type, tap buttons, share contacts, upload files) and read what
  the bot sent.
- :func:`running_emulator` runs one on a free port for the duration of an ``async with``.
"""

from bot.emulator.client import EmulatorClient, EmulatorError, EmulatorTimeout
from bot.emulator.errors import ApiError
from bot.emulator.flood import FloodLimits
from bot.emulator.formatting import FormattedText, format_text
from bot.emulator.html import parse_html, render_html
from bot.emulator.markdown import parse_markdown, parse_markdown_v2
from bot.emulator.methods import SEND_METHODS
from bot.emulator.server import BotApiEmulator, running_emulator
from bot.emulator.state import (
    ApiCall,
    BotAccount,
    Chat,
    EmulatorEvent,
    StoredMessage,
    User,
)

__all__ = [
    "SEND_METHODS",
    "ApiCall",
    "ApiError",
    "BotAccount",
    "BotApiEmulator",
    "Chat",
    "EmulatorClient",
    "EmulatorError",
    "EmulatorEvent",
    "EmulatorTimeout",
    "FloodLimits",
    "FormattedText",
    "StoredMessage",
    "User",
    "format_text",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "render_html",
    "running_emulator",
]
