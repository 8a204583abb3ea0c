"""The calls made for every update (send, edit, answer a press) as JSON Bot API requests, and
the ``reply_markup`` JSON of our keyboards: written once for both gateways, which each supply
how a JSON request is made and checked (``_api``)."""

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


class JsonCalls:
    """send_text, edit_text and answer_callback of a BotGateway, over the subclass's ``_api``
    (a Bot API call whose answer stays JSON: no framework Message is built for it)."""

    async def _api(self, method: str, **params: object) -> JSON:
        raise NotImplementedError

    async def send_text(self, chat_id: int, html: str, keyboard: Keyboard | None) -> int:
        message = await self._api(
            "sendMessage",
            chat_id=chat_id,
            text=html,
            parse_mode="HTML",
            reply_markup=reply_markup(keyboard),
            link_preview_options=NO_PREVIEW,
        )
        return int(message["message_id"])

    async def edit_text(
        self, chat_id: int, message_id: int, html: str, keyboard: InlineKeyboard | None
    ) -> None:
        await self._api(
            "editMessageText",
            chat_id=chat_id,
            message_id=message_id,
            text=html,
            parse_mode="HTML",
            reply_markup=reply_markup(keyboard),
            link_preview_options=NO_PREVIEW,
        )

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None:
        await self._api(
            "answerCallbackQuery",
            callback_query_id=callback_id,
            text=text or None,
            show_alert=alert or None,
        )
