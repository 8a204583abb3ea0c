"""What the page gets: emulator messages turned into small JSON objects for display.

Text arrives as Telegram HTML rendered from the message's entities by the emulator (every
character of the text escaped, only Telegram's tags added); the page sanitises it again before
showing it. Files are referred to by URL, never inlined.
"""

from __future__ import annotations

from typing import Any

from bot.emulator.state import JSON, EmulatorEvent, StoredMessage

FILES_PATH = "/api/files/"


def message_view(record: StoredMessage) -> JSON:
    """One message as the page shows it (the current version, edits applied)."""
    payload = record.payload
    sender = payload.get("from") or {}
    view: JSON = {
        "id": record.message_id,
        "chat_id": record.chat_id,
        "from": {
            "id": sender.get("id"),
            "name": _full_name(sender),
            "is_bot": bool(sender.get("is_bot")),
        },
        "date": payload.get("date"),
        "edited": "edit_date" in payload,
        "deleted": record.deleted,
        "html": record.html,
        "buttons": _inline_buttons(payload),
    }
    if payload.get("photo"):
        largest = max(payload["photo"], key=lambda size: size.get("width", 0))
        view["photo"] = {
            "url": FILES_PATH + largest["file_id"],
            "width": largest.get("width"),
            "height": largest.get("height"),
        }
    if payload.get("document"):
        document = payload["document"]
        view["document"] = {
            "url": FILES_PATH + document["file_id"],
            "name": document.get("file_name") or "file",
            "size": document.get("file_size", 0),
            "mime_type": document.get("mime_type", ""),
        }
    if payload.get("contact"):
        contact = payload["contact"]
        view["contact"] = {
            "name": _full_name(contact),
            "phone": contact.get("phone_number", ""),
        }
    replied = payload.get("reply_to_message")
    if replied:
        view["reply_to"] = {
            "id": replied.get("message_id"),
            "name": _full_name(replied.get("from") or {}),
            "text": (replied.get("text") or replied.get("caption") or "")[:120],
        }
    service = _service_text(payload)
    if service:
        view["service"] = service
    return view


def event_view(event: EmulatorEvent) -> JSON:
    """A live event for the page: a message sent, edited or deleted, a toast, "typing…"."""
    body: JSON = {"kind": event.kind, "chat_id": event.chat_id}
    if event.record is not None:
        body["message"] = message_view(event.record)
    if event.data:
        body["data"] = event.data
    return body


def reply_keyboard_view(markup: JSON | None) -> JSON | None:
    """The reply keyboard under the text box: rows of buttons (text, or "share my contact")."""
    if not markup or "keyboard" not in markup:
        return None
    rows = []
    for row in markup["keyboard"]:
        buttons = []
        for button in row:
            if isinstance(button, str):
                buttons.append({"text": button, "request_contact": False})
            else:
                buttons.append(
                    {
                        "text": str(button.get("text", "")),
                        "request_contact": bool(button.get("request_contact")),
                    }
                )
        rows.append(buttons)
    return {
        "rows": rows,
        "one_time": bool(markup.get("one_time_keyboard")),
        "placeholder": markup.get("input_field_placeholder") or "",
    }


def _inline_buttons(payload: JSON) -> list[list[JSON]]:
    rows = (payload.get("reply_markup") or {}).get("inline_keyboard") or []
    shown: list[list[JSON]] = []
    for row in rows:
        buttons: list[JSON] = []
        for button in row:
            item: dict[str, Any] = {"text": str(button.get("text", ""))}
            if button.get("callback_data") is not None:
                item["data"] = button["callback_data"]
            elif button.get("url"):
                item["url"] = button["url"]
            buttons.append(item)
        shown.append(buttons)
    return shown


def _full_name(person: JSON) -> str:
    first = str(person.get("first_name") or "")
    last = str(person.get("last_name") or "")
    return f"{first} {last}".strip() or str(person.get("title") or "")


def _service_text(payload: JSON) -> str:
    joined = payload.get("new_chat_members")
    if joined:
        return ", ".join(_full_name(p) for p in joined) + " joined the group"
    if payload.get("left_chat_member"):
        return _full_name(payload["left_chat_member"]) + " left the group"
    if payload.get("migrate_to_chat_id") or payload.get("migrate_from_chat_id"):
        return "The group was upgraded to a supergroup"
    return ""
