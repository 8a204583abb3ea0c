"""/subscribe: choose what this chat receives (for now: new orders to ship).

Each subscription is a ``Toggle`` (a chat topic, its label, and who may switch it in a private
chat and in a group); more toggles (reports…) are added to ``TOGGLES``. One message shows every
toggle the person may switch here as a button "LABEL → this chat ✓/✗"; a press sets the topic
to the state the button promised (so a double tap does not flip it back) and redraws the
message. Step ``subscribe:menu``; buttons ``set:TOPIC:1|0`` and ``done``.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.model import Role
from domain.services.common import audit
from handlers.context import Context
from handlers.flow import Flow
from handlers.i18n import N_, Html
from handlers.replies import Button, InlineKeyboard
from handlers.text import escape

FLOW_NAME = "subscribe"
STEP_MENU = "subscribe:menu"
MAX_TITLE_CHARS = 120


@dataclass(frozen=True, slots=True)
class Toggle:
    topic: str  # the chat topic (ctx.uow.chat_topics); ASCII, it goes into callback data
    label: str  # N_()-marked; translated when shown
    private_roles: frozenset[Role]  # who may switch it for their private chat
    group_roles: frozenset[Role]  # who may switch it for a group chat
    explanation: str = ""  # N_()-marked: what "off everywhere" means, shown under the buttons

    def allowed(self, ctx: Context) -> bool:
        roles = self.private_roles if ctx.incoming.is_private else self.group_roles
        return ctx.role in roles


TOGGLES: tuple[Toggle, ...] = (
    Toggle(
        topic="shipping",
        label=N_("New orders to ship"),
        private_roles=frozenset({Role.OWNER}),
        group_roles=frozenset({Role.OWNER, Role.WAREHOUSE}),
        explanation=N_("When no chat is chosen, new orders go to each warehouse person privately."),
    ),
)


def toggles_for(ctx: Context) -> list[Toggle]:
    return [toggle for toggle in TOGGLES if toggle.allowed(ctx)]


def chat_title(ctx: Context) -> str:
    """What to call this chat in lists of subscribed chats."""
    if ctx.incoming.is_private:
        return (ctx.user.name if ctx.user else ctx.incoming.user_name)[:MAX_TITLE_CHARS]
    return ctx.incoming.chat_title[:MAX_TITLE_CHARS]  # empty when the transport gave none


class SubscribeFlow(Flow):
    name = FLOW_NAME
    command = "subscribe"
    roles = frozenset({Role.OWNER, Role.WAREHOUSE})
    groups_too = True
    description = N_("Choose what this chat receives")

    def start(self, ctx: Context, args: str) -> None:
        if not toggles_for(ctx):
            ctx.say(
                ctx.t(
                    "Only the owner chooses what a private chat receives. "
                    "Warehouse staff can use /subscribe in the warehouse group."
                )
            )
            return
        ctx.state.begin(FLOW_NAME, STEP_MENU)
        text, keyboard = self._menu(ctx)
        ctx.say(text, keyboard)

    def on_text(self, ctx: Context, text: str) -> None:
        if ctx.incoming.is_private:
            ctx.state.goto(STEP_MENU)
            menu, keyboard = self._menu(ctx)
            ctx.say("\n".join([ctx.t("Please use the buttons, or /cancel."), menu]), keyboard)
        # In a group people talk among themselves: their messages are left alone.

    def on_button(self, ctx: Context, action: str, args: tuple[str, ...]) -> None:
        if action == "done":
            text, _ = self._menu(ctx, with_buttons=False)
            ctx.state.clear()
            if ctx.incoming.message_id is not None:
                ctx.edit(ctx.incoming.message_id, text)
            return
        toggle = next((t for t in toggles_for(ctx) if args and t.topic == args[0]), None)
        if action != "set" or toggle is None or len(args) != 2 or args[1] not in ("0", "1"):
            ctx.toast(ctx.t("This action has expired."))
            return
        on = args[1] == "1"
        chat_id = ctx.incoming.chat_id
        was_on = chat_id in ctx.uow.chat_topics.chats(toggle.topic)
        if was_on != on:
            ctx.uow.chat_topics.set(chat_id, toggle.topic, on, title=chat_title(ctx))
            audit(
                ctx.uow,
                ctx.actor,
                "chat.subscribe",
                "chat",
                chat_id,
                before={"topic": toggle.topic, "on": was_on},
                after={"topic": toggle.topic, "on": on},
            )
        ctx.state.goto(STEP_MENU)
        text, keyboard = self._menu(ctx)
        if ctx.incoming.message_id is not None:
            ctx.edit(ctx.incoming.message_id, text, keyboard)
        ctx.toast(ctx.t("Saved."))

    def _menu(
        self, ctx: Context, *, with_buttons: bool = True
    ) -> tuple[str, InlineKeyboard | None]:
        chat_id = ctx.incoming.chat_id
        lines = [ctx.t("<b>What this chat receives</b>")]
        rows: list[list[Button]] = []
        for toggle in toggles_for(ctx):
            titles = ctx.uow.chat_topics.titles(toggle.topic)
            on = chat_id in titles
            mark = "✓" if on else "✗"
            label = ctx.t("{label} → this chat {mark}", label=ctx.t(toggle.label), mark=mark)
            lines.append(label)
            rows.append([ctx.button(label, "set", toggle.topic, "0" if on else "1")])
            if titles:
                names = [
                    escape(title) if title else ctx.t("group chat {id}", id=chat)
                    for chat, title in sorted(titles.items())
                ]
                lines.append(ctx.t("Now sent to: {chats}", chats=Html(", ".join(names))))
            elif toggle.explanation:
                lines.append(ctx.t(toggle.explanation))
        rows.append([ctx.button(ctx.t("Done"), "done")])
        return "\n".join(lines), InlineKeyboard.of(*rows) if with_buttons else None


FLOW = SubscribeFlow()
