"""Choosing a customer from typed text: a sure match is taken, otherwise up to 6 buttons.

A private helper for flows (no FLOW here). The buttons are conversation buttons carrying only
the customer id; a press is re-checked with ``customer_from_button`` against what the presser
may see now, so a forged or stale id picks nobody.
"""

from __future__ import annotations

from domain.model import Customer
from handlers.context import Context
from handlers.pickers import search_customers, visible_customers
from handlers.replies import InlineKeyboard

MAX_BUTTONS = 6
PICK_ACTION = "cust"
ECHO_CHARS = 40  # how much of what was typed is repeated back
LABEL_CHARS = 48  # button labels are plain text; long names are shortened


def short(text: str, limit: int = ECHO_CHARS) -> str:
    """``text`` cut to ``limit`` characters (with an ellipsis), for echoing input back."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pickable_customers(ctx: Context) -> list[Customer]:
    """Customers this person may choose (sales: their own and unassigned; owner: all)."""
    return visible_customers(ctx.uow, ctx.user.id if ctx.user else None, ctx.role)


def ask_customer(
    ctx: Context, text: str, *, action: str = PICK_ACTION, prompt: str | None = None
) -> Customer | None:
    """The customer ``text`` surely names; otherwise ask with buttons (or say why) and None.

    The caller must change the conversation state in this update (``begin``/``goto``) so the
    buttons shown here are valid for the next press.
    """
    query = " ".join(text.split())
    if not query:
        ctx.say(prompt or ctx.t("Which customer? Type part of the name or the phone number."))
        return None
    customers = pickable_customers(ctx)
    result = search_customers(customers, query, limit=MAX_BUTTONS)
    by_id = {customer.id: customer for customer in customers}
    best = result.best
    if result.sure and best is not None and best.key in by_id:
        return by_id[best.key]
    candidates = [c for c in result.candidates if c.key in by_id][:MAX_BUTTONS]
    if not candidates:
        ctx.say(
            ctx.t(
                "No customer matches “{text}”. Type part of the name or the phone number again.",
                text=short(query),
            )
        )
        return None
    rows = [[ctx.button(short(by_id[c.key].name, LABEL_CHARS), action, c.key)] for c in candidates]
    ctx.say(ctx.t("Which customer do you mean?"), InlineKeyboard.of(*rows))
    return None


def customer_from_button(ctx: Context, args: tuple[str, ...]) -> Customer | None:
    """The customer a pick button names, if this person may still choose them; else None."""
    if len(args) != 1 or not args[0].isdigit() or len(args[0]) > 18:
        return None
    return visible_customer(ctx, int(args[0]))


def visible_customer(ctx: Context, customer_id: int | None) -> Customer | None:
    """The customer with this id if this person may choose them now (re-checked every time)."""
    if customer_id is None:
        return None
    for customer in pickable_customers(ctx):
        if customer.id == customer_id:
            return customer
    return None
