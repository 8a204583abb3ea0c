"""/help: what the person's role can do here, one line and one concrete example per command.

The list is built from the registered flows the person may start in this chat (the engine
passes them in as ``ctx.commands()``), so a flow added later shows up without touching this
file; commands without an example here are listed with their description only.
"""

from __future__ import annotations

from domain.model import Role
from handlers.context import Context
from handlers.flow import ALL_ROLES, Flow
from handlers.flows.start import role_name
from handlers.i18n import N_, Html
from handlers.pickers import visible_customers
from handlers.text import escape

# The order commands are listed in; commands not named here follow in registry order.
ORDER = (
    "order",
    "customer",
    "orders",
    "status",
    "stock",
    "ship",
    "receive",
    "payment",
    "balance",
    "report",
    "subscribe",
    "invite",
    "users",
    "language",
)
HIDDEN = frozenset({"start", "help", "cancel"})

# Examples may use {bot} (the bot's username, for commands typed in a group) and {customer}
# (the first word of a customer the person may pick, so the example works as typed).
EXAMPLES: dict[str, str] = {
    "order": N_("/order, then type: 10 blue widget, 5 m8 bolt"),
    "customer": N_("/customer, then type the name: ACME Trading"),
    "orders": N_("/orders, then ◀ ▶ to see older ones"),
    "status": N_("/status SO-000123"),
    "stock": N_("/stock bolt"),
    "ship": N_("/ship@{bot} in the warehouse group"),
    "receive": N_("/receive, then type: m8 bolt"),
    "payment": N_("/payment {customer}"),
    "balance": N_("/balance {customer}"),
    "report": N_("/report week"),
    "subscribe": N_("/subscribe"),
    "invite": N_("/invite salesperson"),
    "users": N_("/users, then Revoke next to a name"),
    "language": N_("/language, then tap 简体中文"),
}
SAMPLE_CUSTOMER = "acme"  # when the person can pick no customer yet
NAMING = frozenset(c for c, example in EXAMPLES.items() if "{customer}" in example)
# A customer only ever sees their own account, so their examples name no customer.
CUSTOMER_EXAMPLES: dict[str, str] = {
    "balance": N_("/balance"),
}


class HelpFlow(Flow):
    name = "help"
    command = "help"
    roles = ALL_ROLES
    groups_too = True
    description = N_("What I can do")

    def start(self, ctx: Context, args: str) -> None:
        assert ctx.user is not None  # the engine answers unknown people itself
        lines = [
            ctx.t(
                "You are {name}, {role}. Here is what you can do:",
                name=ctx.user.name,
                role=Html(self._role(ctx)),
            ),
            "",
        ]
        commands = self._ordered(ctx.commands())
        customer = self._sample_customer(ctx) if any(c in NAMING for c, _ in commands) else ""
        for command, description in commands:
            lines.append(f"<b>/{escape(command)}</b> — {escape(ctx.t(description))}")
            example = self._example(ctx.user.role, command)
            if example:
                filled = Html(ctx.t(example, bot=ctx.settings.bot_username, customer=customer))
                lines.append("    " + ctx.t("e.g. {example}", example=filled))
        lines.append(f"<b>/cancel</b> — {escape(ctx.t('Stop what you are doing'))}")
        if not ctx.incoming.is_private:
            lines += ["", ctx.t("Write to me in a private chat for everything else.")]
        ctx.say("\n".join(lines))

    @staticmethod
    def _role(ctx: Context) -> str:
        """The person's role (HTML), with their company for a customer's contact."""
        assert ctx.user is not None
        if ctx.user.role is Role.CUSTOMER and ctx.user.customer_id is not None:
            customer = ctx.uow.customers.get(ctx.user.customer_id)
            if customer is not None:
                return ctx.t("customer of {customer}", customer=customer.name)
        return escape(role_name(ctx, ctx.user.role))

    @staticmethod
    def _sample_customer(ctx: Context) -> str:
        """The first word of the newest customer this person may pick (else a made-up one)."""
        assert ctx.user is not None
        customers = visible_customers(ctx.uow, ctx.user.id, ctx.user.role)
        if not customers:
            return SAMPLE_CUSTOMER
        words = customers[-1].name.split()
        return words[0][:20] if words else SAMPLE_CUSTOMER

    @staticmethod
    def _ordered(commands: list[tuple[str, str]]) -> list[tuple[str, str]]:
        shown = [(c, d) for c, d in commands if c not in HIDDEN]
        rank = {command: index for index, command in enumerate(ORDER)}
        return sorted(shown, key=lambda item: rank.get(item[0], len(ORDER)))

    @staticmethod
    def _example(role: Role, command: str) -> str:
        if role is Role.CUSTOMER and command in CUSTOMER_EXAMPLES:
            return CUSTOMER_EXAMPLES[command]
        return EXAMPLES.get(command, "")


FLOW = HelpFlow()
