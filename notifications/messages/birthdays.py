"""Birthdays: a salesperson hears in the morning whose birthday it is among their customers."""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.services.customers import birthdays_on
from handlers.context import Voice
from notifications.parts import Part, TextPart
from notifications.renderers import renderer


@renderer("birthdays")
def birthdays(voice: Voice, args: dict[str, Any]) -> list[Part]:
    """``user``: the salesperson; ``unassigned``: owners hear of customers nobody looks after."""
    today = date.fromisoformat(str(args["day"]))
    everyone = birthdays_on(voice.uow, today)
    if args.get("unassigned"):
        mine = [c for c in everyone if c.sales_rep_id is None]
    else:
        mine = [c for c in everyone if c.sales_rep_id == int(args["user"])]
    if not mine:
        return []
    lines = [voice.t("🎂 <b>Birthdays today</b> · {day}", day=today)]
    for customer in mine:
        if customer.phone:
            lines.append(
                voice.t("• {customer} · {phone}", customer=customer.name, phone=customer.phone)
            )
        else:
            lines.append(voice.t("• {customer}", customer=customer.name))
    lines.append(voice.t("A good day to call or send your wishes."))
    return [TextPart("\n".join(lines))]
