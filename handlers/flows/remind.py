""""Remind customer": the button on the overdue lists (``remind:CUSTOMER_ID``).

An owner, or the customer's salesperson, presses it; the customer's contacts get a polite,
translated reminder of what is overdue (through the outbox), at most once a day per customer
whoever presses. The press is re-checked every time: role, whose customer, anything still
overdue, anyone to write to.
"""

from __future__ import annotations

from domain.model import Role, User
from domain.ports import UnitOfWork
from domain.services.receivables import remind_customer
from handlers.callbacks import BadCallback, Callback
from handlers.context import Context
from handlers.flow import CardAction

REMIND_PREFIX = "remind"


def contacts(uow: UnitOfWork, customer_id: int) -> list[User]:
    """The customer's people the bot can write to."""
    return [
        user
        for user in uow.users.list()
        if user.role is Role.CUSTOMER
        and user.customer_id == customer_id
        and user.telegram_user_id is not None
        and not user.blocked_bot
    ]


def has_contacts(uow: UnitOfWork, customer_id: int) -> bool:
    return bool(contacts(uow, customer_id))


class RemindAction(CardAction):
    prefix = REMIND_PREFIX
    roles = frozenset({Role.OWNER, Role.SALES})

    def press(self, ctx: Context, args: tuple[str, ...]) -> None:
        if len(args) != 1:
            raise BadCallback("wrong number of parts")
        customer = ctx.uow.customers.get(Callback(REMIND_PREFIX, args).int_at(0))
        if customer is None:
            raise BadCallback("no such customer")
        people = contacts(ctx.uow, customer.id)
        if not people:
            ctx.toast(
                ctx.t(
                    "Nobody at {customer} can get messages from the bot. Invite a contact "
                    "with /invite customer.",
                    customer=customer.name,
                ),
                alert=True,
            )
            return
        remind_customer(ctx.uow, actor=ctx.actor, customer_id=customer.id)
        names = ", ".join(person.name for person in people)
        ctx.toast(ctx.t("📨 Reminder sent to {names}.", names=names))


ACTIONS = (RemindAction(),)
