"""The python-telegram-bot front end (see bot/ptb/app.py)."""

from bot.ptb.app import PtbFrontEnd

__all__ = ["PtbFrontEnd"]
