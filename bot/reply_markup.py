"""The Bot API's ``reply_markup`` JSON for our keyboards: built once, sent by both gateways."""

from __future__ import annotations

from typing import Any

from handlers.replies import ForceReply, InlineKeyboard, Keyboard, RemoveKeyboard, ReplyKeyboard

JSON = dict[str, Any]

NO_PREVIEW: JSON = {"is_disabled": True}  # link_preview_options of every text we send


def reply_markup(keyboard: Keyboard | None) -> JSON | None:
    """The Bot API's reply_markup object for one of our keyboards."""
    if keyboard is None:
        return None
    if isinstance(keyboard, InlineKeyboard):
        return {
            "inline_keyboard": [
                [{"text": button.text, "callback_data": button.data} for button in row]
                for row in keyboard.rows
            ]
        }
    if isinstance(keyboard, ReplyKeyboard):
        rows: list[list[JSON]] = [[{"text": key} for key in row] for row in keyboard.rows if row]
        if keyboard.contact:
            rows.append([{"text": keyboard.contact, "request_contact": True}])
        return {"keyboard": rows, "resize_keyboard": True, "one_time_keyboard": keyboard.one_time}
    if isinstance(keyboard, RemoveKeyboard):
        return {"remove_keyboard": True}
    if isinstance(keyboard, ForceReply):
        forced: JSON = {"force_reply": True}
        if keyboard.placeholder[:64]:
            forced["input_field_placeholder"] = keyboard.placeholder[:64]
        return forced
    raise TypeError(f"unknown keyboard {keyboard!r}")
