"""The aiogram 3 front end (see bot/aiogram/app.py)."""

from bot.aiogram.app import AiogramFrontEnd

__all__ = ["AiogramFrontEnd"]
