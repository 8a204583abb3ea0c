"""/users (owner, private chat): who has access, with a button to revoke each (not yourself).

One message is edited in place: the list → "Revoke access for NAME?" → the list again with
"Access revoked for NAME." on top. A revoked person is treated as unknown from then on.

Buttons (conversation): ``c:V:rv:<user id>`` (ask), ``c:V:yes:<user id>`` (revoke),
``c:V:no`` (keep), ``c:V:pg:<page>`` (◀ ▶ when there are more than PAGE_SIZE people).
"""

from __future__ import annotations

from domain.errors import NotFound
from domain.model import Role, User
from domain.services.users import revoke_user
from handlers.context import Context
from handlers.flow import Flow
from handlers.flows.start import role_name
from handlers.i18n import N_, Html
from handlers.replies import Button, CommandMenu, InlineKeyboard
from handlers.text import escape

LIST = "users:list"
CONFIRM = "users:confirm"
PAGE_SIZE = 15
ROLE_ORDER = {Role.OWNER: 0, Role.SALES: 1, Role.WAREHOUSE: 2, Role.CUSTOMER: 3}


class UsersFlow(Flow):
    name = "users"
    command = "users"
    roles = frozenset({Role.OWNER})
    groups_too = False
    description = N_("People with access")

    def start(self, ctx: Context, args: str) -> None:
        ctx.state.begin(self.name, LIST, page=0)
        text, keyboard = self._page(ctx, 0)
        ctx.say(text, keyboard)

    def on_button(self, ctx: Context, action: str, args: tuple[str, ...]) -> None:
        step = ctx.state.step
        if step == LIST and action == "pg" and _is_id(args):
            self._show(ctx, int(args[0]))
        elif step == LIST and action == "rv" and _is_id(args):
            self._ask(ctx, int(args[0]))
        elif step == CONFIRM and action == "yes" and _is_id(args):
            if int(args[0]) != ctx.state.data.get("user_id"):
                ctx.toast(ctx.t("This action has expired."))
                return
            self._revoke(ctx, int(args[0]))
        elif step == CONFIRM and action == "no":
            self._show(ctx, ctx.state.data.get("page", 0))
        else:
            ctx.toast(ctx.t("This action has expired."))

    def _ask(self, ctx: Context, user_id: int) -> None:
        person = ctx.uow.users.get(user_id)
        if person is None or not person.active:
            self._show(ctx, ctx.state.data.get("page", 0), ctx.t("That person has no access."))
            return
        if ctx.user is not None and person.id == ctx.user.id:
            ctx.toast(ctx.t("You cannot revoke your own access."), alert=True)
            return
        ctx.state.goto(CONFIRM, user_id=person.id)
        self._put(
            ctx,
            ctx.t(
                "Revoke access for {name} ({role})? They will no longer be able to use the bot.",
                name=person.name,
                role=role_name(ctx, person.role),
            ),
            InlineKeyboard.of(
                [
                    ctx.button(ctx.t("Yes, revoke"), "yes", person.id),
                    ctx.button(ctx.t("No, keep"), "no"),
                ]
            ),
        )

    def _revoke(self, ctx: Context, user_id: int) -> None:
        person = ctx.uow.users.get(user_id)
        if person is None:
            raise NotFound("user", user_id)
        page = ctx.state.data.get("page", 0)
        if not person.active:  # revoked meanwhile (another owner): say so, do not revoke twice
            note = ctx.t("{name} has no access any more.", name=person.name)
        else:
            revoke_user(ctx.uow, actor=ctx.actor, user_id=user_id)
            note = ctx.t("Access revoked for {name}.", name=person.name)
            if person.telegram_user_id is not None:
                # Their chat's own menu listed their role's commands; without one they see
                # what anyone without access sees (start, help).
                language = person.language or ctx.settings.default_language
                ctx.replies.append(CommandMenu(person.telegram_user_id, language, ()))
        self._show(ctx, page, note)

    def _show(self, ctx: Context, page: int, note: str = "") -> None:
        """Back to the list (edited in place), optionally with a note on top."""
        text, keyboard = self._page(ctx, page)
        ctx.state.goto(LIST, page=ctx.state.data["page"], user_id=None)
        self._put(ctx, f"{note}\n\n{text}" if note else text, keyboard)

    def _page(self, ctx: Context, page: int) -> tuple[str, InlineKeyboard]:
        assert ctx.user is not None
        people = sorted(
            ctx.uow.users.list(),
            key=lambda u: (ROLE_ORDER.get(u.role, 9), u.name.casefold(), u.id),
        )
        pages = max(1, -(-len(people) // PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        ctx.state.data["page"] = page
        shown = people[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        lines = [ctx.t("People with access:")]
        rows: list[list[Button]] = []
        for person in shown:
            lines.append(self._line(ctx, person))
            if person.id != ctx.user.id:
                # Button labels are plain text, not HTML: the name goes in unescaped.
                label = ctx.t("Revoke {name}", name=Html(person.name[:40]))
                rows.append([ctx.button(label, "rv", person.id)])
        if pages > 1:
            lines.append(ctx.t("Page {page} of {pages}", page=page + 1, pages=pages))
            nav = []
            if page > 0:
                nav.append(ctx.button("◀", "pg", page - 1))
            if page < pages - 1:
                nav.append(ctx.button("▶", "pg", page + 1))
            rows.append(nav)
        return "\n".join(lines), InlineKeyboard.of(*rows)

    @staticmethod
    def _line(ctx: Context, person: User) -> str:
        assert ctx.user is not None
        role = role_name(ctx, person.role)
        if person.role is Role.CUSTOMER and person.customer_id is not None:
            customer = ctx.uow.customers.get(person.customer_id)
            if customer is not None:
                role = ctx.t("customer of {customer}", customer=customer.name)
            else:
                role = escape(role)
        else:
            role = escape(role)
        line = f"• <b>{escape(person.name)}</b> — {role}"
        if person.id == ctx.user.id:
            line += " " + ctx.t("(you)")
        return line

    @staticmethod
    def _put(ctx: Context, text: str, keyboard: InlineKeyboard) -> None:
        """Edit the message whose button was pressed (the list), or send it anew."""
        if ctx.incoming.message_id is None:
            ctx.say(text, keyboard)
        else:
            ctx.edit(ctx.incoming.message_id, text, keyboard)


def _is_id(args: tuple[str, ...]) -> bool:
    return len(args) == 1 and args[0].isdigit() and len(args[0]) <= 18


FLOW = UsersFlow()
