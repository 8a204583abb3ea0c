"""/invite ROLE (owner, private chat): a one-time deep link to forward to the new person.

``/invite`` alone shows role buttons; a customer invite first asks which customer (type part
of the name, pick from buttons — always a button, never a guess, because the link gives
access to that customer's orders and balance).

Buttons (conversation): ``c:V:role:<role>`` and ``c:V:cust:<customer id>``.
"""

from __future__ import annotations

from domain.errors import NotFound
from domain.model import Role
from domain.services.common import get_customer
from domain.services.users import create_invite
from handlers.context import Context
from handlers.flow import Flow
from handlers.flows.start import role_name
from handlers.i18n import N_
from handlers.pickers import search_customers, visible_customers
from handlers.replies import InlineKeyboard
from handlers.text import escape

ROLE = "invite:role"
CUSTOMER = "invite:customer"
MAX_QUERY_CHARS = 100
ROLE_VALUES = frozenset(role.value for role in Role)
ROLE_ORDER = (Role.SALES, Role.WAREHOUSE, Role.CUSTOMER, Role.OWNER)
# What may follow /invite (case-insensitive), besides the role names in the owner's language.
ROLE_WORDS: dict[str, Role] = {
    "owner": Role.OWNER,
    "sales": Role.SALES,
    "salesperson": Role.SALES,
    "warehouse": Role.WAREHOUSE,
    "customer": Role.CUSTOMER,
}


class InviteFlow(Flow):
    name = "invite"
    command = "invite"
    roles = frozenset({Role.OWNER})
    groups_too = False  # a link posted in a group could be used by anyone there
    description = N_("Invite someone (a deep link)")

    def start(self, ctx: Context, args: str) -> None:
        word, _, rest = args.strip().partition(" ")
        if not word:
            self._ask_role(ctx)
        else:
            self._take_role(ctx, word, rest)

    def on_text(self, ctx: Context, text: str) -> None:
        if ctx.state.step == ROLE:
            word, _, rest = text.strip().partition(" ")
            self._take_role(ctx, word, rest)
        else:
            self._find_customer(ctx, text)

    def _take_role(self, ctx: Context, word: str, rest: str) -> None:
        role = self._role(ctx, word)
        if role is None:
            self._ask_role(ctx, ctx.t("There is no role called “{word}”.", word=word[:40]))
        elif role is Role.CUSTOMER:
            ctx.state.begin(self.name, CUSTOMER)
            if rest.strip():
                self._find_customer(ctx, rest)
            else:
                ctx.say(ctx.t("Which customer is it for? Type part of the name."))
        else:
            self._issue(ctx, role)

    def _find_customer(self, ctx: Context, text: str) -> None:
        assert ctx.user is not None
        query = text.strip()
        if not query:
            ctx.say(ctx.t("Which customer is it for? Type part of the name."))
            return
        if len(query) > MAX_QUERY_CHARS:
            ctx.say(ctx.t("That is too long.") + " " + ctx.t("Type part of the customer's name."))
            return
        found = search_customers(visible_customers(ctx.uow, ctx.user.id, Role.OWNER), query)
        if not found.candidates:
            ctx.say(
                ctx.t(
                    "No customer matches “{text}”. Type another part of the name, or /cancel.",
                    text=query,
                )
            )
            return
        ctx.state.goto(CUSTOMER)
        ctx.say(
            ctx.t("Which customer is it for?"),
            InlineKeyboard.of(
                *([ctx.button(c.name[:60], "cust", c.key)] for c in found.candidates)
            ),
        )

    def on_button(self, ctx: Context, action: str, args: tuple[str, ...]) -> None:
        if action == "role" and ctx.state.step == ROLE and args and args[0] in ROLE_VALUES:
            role = Role(args[0])
            self._settle(ctx, ctx.t("Invite a new {role}.", role=role_name(ctx, role)))
            if role is Role.CUSTOMER:
                ctx.state.goto(CUSTOMER)
                ctx.say(ctx.t("Which customer is it for? Type part of the name."))
            else:
                self._issue(ctx, role)
        elif (
            action == "cust" and ctx.state.step == CUSTOMER and len(args) == 1 and args[0].isdigit()
        ):
            customer = get_customer(ctx.uow, int(args[0]))  # NotFound: a friendly "Not found."
            if not customer.active:
                raise NotFound("customer", customer.id)
            self._settle(ctx, ctx.t("Customer: {name}", name=customer.name))
            self._issue(ctx, Role.CUSTOMER, customer.id, customer.name)
        else:
            ctx.toast(ctx.t("This action has expired."))

    def _ask_role(self, ctx: Context, problem: str = "") -> None:
        ctx.state.begin(self.name, ROLE)
        question = ctx.t("Who do you want to invite?")
        ctx.say(
            f"{problem}\n{question}" if problem else question,
            InlineKeyboard.of(
                *([ctx.button(role_name(ctx, role), "role", role.value)] for role in ROLE_ORDER)
            ),
        )

    @staticmethod
    def _role(ctx: Context, word: str) -> Role | None:
        key = word.casefold()
        if key in ROLE_WORDS:
            return ROLE_WORDS[key]
        for role in Role:
            if role_name(ctx, role).casefold() == key:
                return role
        return None

    @staticmethod
    def _settle(ctx: Context, text: str) -> None:
        """Show the choice in place of the buttons that were pressed."""
        if ctx.incoming.message_id is not None:
            ctx.edit(ctx.incoming.message_id, text)

    def _issue(
        self, ctx: Context, role: Role, customer_id: int | None = None, customer: str = ""
    ) -> None:
        issued = create_invite(ctx.uow, actor=ctx.actor, role=role, customer_id=customer_id)
        ctx.state.clear()
        link = f"https://t.me/{ctx.settings.bot_username}?start={issued.token}"
        if customer_id is None:
            title = ctx.t("Invite link for a new {role}:", role=role_name(ctx, role))
        else:
            title = ctx.t("Invite link for a contact of {customer}:", customer=customer)
        ctx.say(
            "\n".join(
                [
                    title,
                    escape(link),
                    ctx.t(
                        "Valid until {until}, single use. Forward it to the person joining.",
                        until=issued.invite.expires_at,
                    ),
                ]
            )
        )


FLOW = InviteFlow()
