"""/subscribe: choose what this chat receives — new orders to ship, low-stock alerts, and (for
owners) the daily / weekly / monthly summaries and the time they come at.

One message shows every switch the person may use here as a button "LABEL → this chat ✓/✗";
a press sets the switch to the state the button promised (so a double tap does not flip it
back) and redraws the message. Step ``subscribe:menu``, buttons ``set:TOPIC:1|0`` (a chat
topic), ``rep:daily|weekly|monthly:1|0`` (a summary), ``time`` then ``at:HHMM`` or a typed
``18:30`` (step ``subscribe:time``), and ``done``.

An owner's private chat gets the daily summary at the default time (``DAILY_SUMMARY_AT``)
until they change it here; groups get summaries only when switched on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import time

from domain.model import Role
from domain.ports import ReportSubscription
from domain.services.common import audit
from handlers.context import Context
from handlers.flow import Flow
from handlers.i18n import N_, Html
from handlers.replies import Button, InlineKeyboard
from handlers.text import escape

FLOW_NAME = "subscribe"
STEP_MENU = "subscribe:menu"
STEP_TIME = "subscribe:time"
MAX_TITLE_CHARS = 120
TIME_CHOICES = ("07:00", "08:00", "09:00", "12:00", "17:00", "18:00", "19:00", "20:00", "21:00")
TYPED_TIME = re.compile(r"^\s*([01]?\d|2[0-3])\s*[:：.]\s*([0-5]\d)\s*$")
OWNERS = frozenset({Role.OWNER})
OWNERS_AND_WAREHOUSE = frozenset({Role.OWNER, Role.WAREHOUSE})


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
        private_roles=OWNERS,
        group_roles=OWNERS_AND_WAREHOUSE,
        explanation=N_("When no chat is chosen, new orders go to each warehouse person privately."),
    ),
    Toggle(
        topic="low-stock",
        label=N_("Low-stock alerts"),
        private_roles=OWNERS,
        group_roles=OWNERS_AND_WAREHOUSE,
        explanation=N_(
            "When no chat is chosen, low-stock alerts go to warehouse staff and owners privately."
        ),
    ),
)

# (field of ReportSubscription, label): the summaries, owners only.
REPORTS: tuple[tuple[str, str], ...] = (
    ("daily", N_("Daily summary")),
    ("weekly", N_("Weekly summary (Mondays)")),
    ("monthly", N_("Monthly summary (1st of the month)")),
)


def toggles_for(ctx: Context) -> list[Toggle]:
    return [toggle for toggle in TOGGLES if toggle.allowed(ctx)]


def reports_allowed(ctx: Context) -> bool:
    return ctx.role is Role.OWNER


def chat_title(ctx: Context) -> str:
    """What to call this chat in lists of subscribed chats."""
    if ctx.incoming.is_private:
        return (ctx.user.name if ctx.user else ctx.incoming.user_name)[:MAX_TITLE_CHARS]
    return ctx.incoming.chat_title[:MAX_TITLE_CHARS]  # empty when the transport gave none


def summaries_of(ctx: Context) -> ReportSubscription:
    """The summaries this chat gets now: what was saved, else the default (an owner's private
    chat: daily at the default time; a group: none)."""
    chat_id = ctx.incoming.chat_id
    saved = ctx.uow.report_subscriptions.get(chat_id)
    if saved is not None:
        return saved
    default_at = ctx.settings.daily_summary_at
    if ctx.incoming.is_private:
        return ReportSubscription(chat_id, send_at=default_at, title=chat_title(ctx))
    return ReportSubscription(chat_id, daily=False, send_at=default_at, title=chat_title(ctx))


def _hhmm(at: time) -> str:
    return f"{at.hour:02d}:{at.minute:02d}"


class SubscribeFlow(Flow):
    name = FLOW_NAME
    command = "subscribe"
    roles = OWNERS_AND_WAREHOUSE
    groups_too = True
    description = N_("Choose what this chat receives")

    def start(self, ctx: Context, args: str) -> None:
        if not toggles_for(ctx) and not reports_allowed(ctx):
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
        if ctx.state.step == STEP_TIME:
            found = TYPED_TIME.match(text or "")
            if found is None:
                if ctx.incoming.is_private:
                    self._ask_time(ctx, ctx.t("Please type a time like 18:30, or use the buttons."))
                return
            self._set_time(ctx, time(int(found.group(1)), int(found.group(2))), edit=False)
            return
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
        if action == "set":
            self._set_topic(ctx, args)
        elif action == "rep":
            self._set_report(ctx, args)
        elif action == "time" and reports_allowed(ctx) and not args:
            self._ask_time(ctx)
        elif action == "at" and reports_allowed(ctx) and ctx.state.step == STEP_TIME:
            chosen = _time_of(args)
            if chosen is None:
                ctx.toast(ctx.t("This action has expired."))
                return
            self._set_time(ctx, chosen, edit=True)
        else:
            ctx.toast(ctx.t("This action has expired."))

    # --- switches -------------------------------------------------------------------------

    def _set_topic(self, ctx: Context, args: tuple[str, ...]) -> None:
        toggle = next((t for t in toggles_for(ctx) if args and t.topic == args[0]), None)
        if toggle is None or len(args) != 2 or args[1] not in ("0", "1"):
            ctx.toast(ctx.t("This action has expired."))
            return
        on = args[1] == "1"
        chat_id = ctx.incoming.chat_id
        was_on = chat_id in ctx.uow.chat_topics.chats(toggle.topic)
        if was_on != on:
            ctx.uow.chat_topics.set(chat_id, toggle.topic, on, title=chat_title(ctx))
            self._audit(
                ctx, {"topic": toggle.topic, "on": was_on}, {"topic": toggle.topic, "on": on}
            )
        if on and not ctx.incoming.is_private:
            ctx.uow.chat_states.set_active(chat_id)  # someone is here: the bot is back
        self._redraw(ctx)

    def _set_report(self, ctx: Context, args: tuple[str, ...]) -> None:
        kinds = {kind for kind, _ in REPORTS}
        if (
            not reports_allowed(ctx)
            or len(args) != 2
            or args[0] not in kinds
            or args[1] not in ("0", "1")
        ):
            ctx.toast(ctx.t("This action has expired."))
            return
        before = summaries_of(ctx)
        on = args[1] == "1"
        if (
            getattr(before, args[0]) != on
            or ctx.uow.report_subscriptions.get(before.chat_id) is None
        ):
            after = replace(before, title=chat_title(ctx), **{args[0]: on})
            self._save(ctx, before, after)
        self._redraw(ctx)

    def _ask_time(self, ctx: Context, problem: str | None = None) -> None:
        ctx.state.goto(STEP_TIME)
        current = summaries_of(ctx).send_at
        rows: list[list[Button]] = []
        row: list[Button] = []
        for choice in TIME_CHOICES:
            mark = " ✓" if choice == _hhmm(current) else ""
            row.append(ctx.button(choice + mark, "at", choice.replace(":", "")))
            if len(row) == 3:
                rows.append(row)
                row = []
        if row:
            rows.append(row)
        lines = [problem] if problem else []
        lines.append(
            ctx.t(
                "🕖 At what time should the summaries come? Now {time}. Pick one, or type a "
                "time like 18:30.",
                time=_hhmm(current),
            )
        )
        ctx.say("\n".join(lines), InlineKeyboard.of(*rows))

    def _set_time(self, ctx: Context, chosen: time, *, edit: bool) -> None:
        before = summaries_of(ctx)
        after = replace(before, send_at=chosen, title=chat_title(ctx))
        self._save(ctx, before, after)
        ctx.state.goto(STEP_MENU)
        text, keyboard = self._menu(ctx)
        note = ctx.t("Summaries will come at {time}.", time=_hhmm(chosen))
        if edit and ctx.incoming.message_id is not None:
            ctx.edit(ctx.incoming.message_id, note)
            ctx.toast(ctx.t("Saved."))
        ctx.say("\n".join([note, text]) if not edit else text, keyboard)

    def _save(self, ctx: Context, before: ReportSubscription, after: ReportSubscription) -> None:
        ctx.uow.report_subscriptions.save(after, ctx.uow.clock.now())

        def view(sub: ReportSubscription) -> dict[str, object]:
            return {
                "daily": sub.daily,
                "weekly": sub.weekly,
                "monthly": sub.monthly,
                "at": _hhmm(sub.send_at),
            }

        self._audit(ctx, view(before), view(after), action="chat.reports")
        if not ctx.incoming.is_private:
            ctx.uow.chat_states.set_active(ctx.incoming.chat_id)

    @staticmethod
    def _audit(
        ctx: Context,
        before: dict[str, object],
        after: dict[str, object],
        action: str = "chat.subscribe",
    ) -> None:
        audit(ctx.uow, ctx.actor, action, "chat", ctx.incoming.chat_id, before=before, after=after)

    def _redraw(self, ctx: Context) -> None:
        ctx.state.goto(STEP_MENU)
        text, keyboard = self._menu(ctx)
        if ctx.incoming.message_id is not None:
            ctx.edit(ctx.incoming.message_id, text, keyboard)
        ctx.toast(ctx.t("Saved."))

    # --- the menu -------------------------------------------------------------------------

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
        if reports_allowed(ctx):
            summaries = summaries_of(ctx)
            for kind, report_label in REPORTS:
                on = bool(getattr(summaries, kind))
                mark = "✓" if on else "✗"
                label = ctx.t("{label} → this chat {mark}", label=ctx.t(report_label), mark=mark)
                lines.append(label)
                rows.append([ctx.button(label, "rep", kind, "0" if on else "1")])
            if summaries.daily or summaries.weekly or summaries.monthly:
                at = _hhmm(summaries.send_at)
                lines.append(ctx.t("Summaries come at {time}.", time=at))
                rows.append([ctx.button(ctx.t("🕖 Change the time ({time})", time=at), "time")])
        rows.append([ctx.button(ctx.t("Done"), "done")])
        return "\n".join(lines), InlineKeyboard.of(*rows) if with_buttons else None


def _time_of(args: tuple[str, ...]) -> time | None:
    if len(args) != 1 or len(args[0]) != 4 or not args[0].isdigit():
        return None
    hour, minute = int(args[0][:2]), int(args[0][2:])
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


FLOW = SubscribeFlow()
