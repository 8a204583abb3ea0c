"""The shape of a flow (one per file in handlers/flows) and of a card action.

A flow is a small state machine: ``start`` when its command arrives, then ``on_text``,
``on_button``, ``on_contact`` for each later input while it is the user's current flow.
Steps are strings named "flow:step". Anything a step cannot use gets a reason and the same
question again; a domain refusal raised by a use case is turned into a friendly message by
the engine, and the step stays where it was.
"""

from __future__ import annotations

from typing import ClassVar

from domain.model import Role
from handlers.context import Context

ALL_ROLES = frozenset(Role)
STAFF = frozenset({Role.OWNER, Role.SALES, Role.WAREHOUSE})


class Flow:
    """Base class of conversations started by a command."""

    name: ClassVar[str]
    command: ClassVar[str | None] = None
    roles: ClassVar[frozenset[Role]] = STAFF
    groups_too: ClassVar[bool] = False  # may run in group chats (e.g. /ship in the warehouse group)
    description: ClassVar[str] = ""  # the command menu text (translated)

    def start(self, ctx: Context, args: str) -> None:
        raise NotImplementedError

    def on_text(self, ctx: Context, text: str) -> None:
        ctx.say(ctx.t("Please use the buttons above, or /cancel."))

    def on_button(self, ctx: Context, action: str, args: tuple[str, ...]) -> None:
        ctx.toast(ctx.t("This action has expired."))

    def on_contact(self, ctx: Context, phone: str) -> None:
        self.on_text(ctx, phone)


class CardAction:
    """Buttons on cards not bound to one user's conversation (ship, approve, page)."""

    prefix: ClassVar[str]
    roles: ClassVar[frozenset[Role]] = STAFF

    def press(self, ctx: Context, args: tuple[str, ...]) -> None:
        raise NotImplementedError
