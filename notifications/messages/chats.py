"""Chats the bot can no longer write to: the owners hear about it once a day per chat."""

from __future__ import annotations

from typing import Any

from handlers.context import Voice
from notifications.parts import Part, TextPart
from notifications.renderers import renderer


@renderer("bot-blocked")
def bot_blocked(voice: Voice, args: dict[str, Any]) -> list[Part]:
    user = voice.uow.users.get(int(args["user"]))
    if user is None:
        return []
    return [
        TextPart(
            voice.t(
                "⚠️ {name} has blocked the bot, so they get no messages from it (new orders, "
                "reminders…) until they open it and press Start again.",
                name=user.name,
            )
        )
    ]


@renderer("group-gone")
def group_gone(voice: Voice, args: dict[str, Any]) -> list[Part]:
    title = str(args.get("title") or "") or voice.t("group chat {id}", id=args["chat"])
    return [
        TextPart(
            voice.t(
                "⚠️ The bot can no longer write to {chat} (it was removed or lost its "
                "rights), so nothing is sent there. Add it back and use /subscribe there.",
                chat=title,
            )
        )
    ]
