"""The conversation engine: one update in, replies out, in one database transaction.

The processed-update record, the business change, the audit entries and the conversation
state are committed together, so a redelivered update changes nothing and a restart (or
another instance) continues every conversation where it was. The engine is synchronous and
framework-neutral; transports call ``handle`` in a worker thread and send the replies after
it returns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from domain.errors import DomainError
from domain.model import User
from domain.ports import ConversationRecord, UnitOfWork, UnitOfWorkFactory
from domain.transaction import run_in_transaction
from handlers.callbacks import CONVERSATION_PREFIX, BadCallback, unpack
from handlers.context import Context, Conversation, EngineSettings, next_version
from handlers.errors import describe_error
from handlers.flow import CardAction, Flow
from handlers.i18n import Translator, pick_language
from handlers.incoming import COMMAND, Incoming
from handlers.pickers import ProductIndex
from handlers.replies import CommandMenu, RemoveKeyboard, Reply, SendText, Toast

logger = logging.getLogger(__name__)

START = "start"
CANCEL = "cancel"


class ConversationEngine:
    """Routes updates to flows and card actions, with role checks on every input."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        flows: Sequence[Flow],
        actions: Sequence[CardAction],
        settings: EngineSettings,
        product_index: ProductIndex | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self.settings = settings
        self.product_index = product_index or ProductIndex()
        self.flows = {flow.name: flow for flow in flows}
        self.commands = {flow.command: flow for flow in flows if flow.command}
        self.actions = {action.prefix: action for action in actions}

    # --- entry points used by transports -------------------------------------------------

    def handle(self, incoming: Incoming) -> list[Reply]:
        """Process one update; returns what to send. Never raises for bad input."""
        try:
            return run_in_transaction(
                self._uow_factory,
                lambda uow: self._handle(uow, incoming),
                isolate_use_cases=True,  # a refused step still saves the conversation
            )
        except Exception:
            logger.exception("update %s failed; nothing was saved", incoming.update_id)
            return self._apologise(incoming)

    def record_sent(self, key: str, chat_id: int, message_id: int) -> None:
        """Remember where a tracked card was sent, so every copy can be edited later."""

        def work(uow: UnitOfWork) -> None:
            uow.sent_messages.add(key, chat_id, message_id, uow.clock.now())

        run_in_transaction(self._uow_factory, work)

    def mark_blocked(self, telegram_user_id: int, blocked: bool) -> None:
        """Telegram said the user blocked the bot (403, or they left it) or came back."""
        run_in_transaction(
            self._uow_factory, lambda uow: uow.users.set_blocked(telegram_user_id, blocked)
        )

    def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: follow its new id (topics, cards, conversations)."""
        run_in_transaction(
            self._uow_factory, lambda uow: uow.chat_topics.move_chat(old_chat_id, new_chat_id)
        )

    def menu_for(self, user: User, chat_id: int, language: str) -> CommandMenu:
        """The command menu of ``user``'s role, in their language."""
        t = Translator(language, self.settings.timezone)
        commands = [("help", t("What I can do")), ("cancel", t("Stop what you are doing"))]
        for flow in self.flows.values():
            if flow.command and user.role in flow.roles and flow.command not in ("help", "cancel"):
                commands.append((flow.command, t(flow.description)))
        return CommandMenu(chat_id=chat_id, language=language, commands=tuple(commands))

    # --- inside the transaction ---------------------------------------------------------

    def _handle(self, uow: UnitOfWork, incoming: Incoming) -> list[Reply]:
        if not uow.updates.try_record(incoming.update_id, uow.clock.now()):
            logger.info("update %s was already processed; ignored", incoming.update_id)
            return [Toast("")] if incoming.is_button else []
        user = uow.users.by_telegram_id(incoming.user_id)
        if user is not None and not user.active:
            user = None
        if user is not None and user.blocked_bot and incoming.is_private:
            uow.users.set_blocked(incoming.user_id, False)  # they write to us again
        record = uow.conversations.get(incoming.chat_id, incoming.user_id)
        state = Conversation.load(record)
        language = pick_language(
            user.language if user else None, incoming.language_code, self.settings.default_language
        )
        ctx = Context(
            uow=uow,
            incoming=incoming,
            user=user,
            t=Translator(language, self.settings.timezone),
            state=state,
            settings=self.settings,
            products=self.product_index,
        )
        ctx.commands = lambda: self.commands_for(ctx)
        if record is not None and state.flow and self._expired(uow, record):
            state.clear()
            ctx.say(ctx.t("Your unfinished draft expired and was discarded."))
        self._route(ctx)
        if ctx.refresh_menu and ctx.user is not None:
            ctx.replies.append(self.menu_for(ctx.user, incoming.user_id, ctx.t.language))
        if state.changed or record is None:
            uow.conversations.save(
                ConversationRecord(
                    chat_id=incoming.chat_id,
                    user_id=incoming.user_id,
                    flow=state.flow,
                    step=state.step,
                    data=state.dumps(),
                    version=(
                        next_version(state.version, incoming.user_id)
                        if state.changed
                        else state.version
                    ),
                    updated_at=uow.clock.now(),
                )
            )
        return ctx.replies

    def commands_for(self, ctx: Context) -> list[tuple[str, str]]:
        """(command, untranslated description) of the flows ``ctx``'s actor may start here."""
        return [
            (flow.command, flow.description)
            for flow in self.flows.values()
            if flow.command and self._allowed(ctx, flow)
        ]

    def _expired(self, uow: UnitOfWork, record: ConversationRecord) -> bool:
        ttl = timedelta(hours=self.settings.draft_ttl_hours)
        return uow.clock.now() - record.updated_at > ttl

    def _route(self, ctx: Context) -> None:
        incoming = ctx.incoming
        if self._for_another_bot(incoming):
            return
        if incoming.command == START or (
            ctx.user is None and incoming.command is None and not incoming.is_button
        ):
            self._run(ctx, self.flows.get(START), lambda flow: flow.start(ctx, incoming.args))
            return
        if ctx.user is None:
            self._unknown_user(ctx)
            return
        if incoming.command == CANCEL:
            self._cancel(ctx)
        elif incoming.command is not None:
            self._command(ctx, incoming.command)
        elif incoming.is_button:
            self._button(ctx)
        elif incoming.contact_phone is not None:
            flow = self._current(ctx)
            if flow is not None:
                self._run(ctx, flow, lambda f: f.on_contact(ctx, incoming.contact_phone or ""))
        elif incoming.text is not None:
            had_flow = ctx.state.flow in self.flows
            flow = self._current(ctx)
            if flow is not None:
                self._run(ctx, flow, lambda f: f.on_text(ctx, incoming.text or ""))
            elif incoming.is_private and not had_flow:  # (else _current said why)
                ctx.say(ctx.t("Type /help to see what you can do."))

    @staticmethod
    def _for_another_bot(incoming: Incoming) -> bool:
        """A group command addressed to another bot (the transport leaves ``command`` unset)."""
        return (
            not incoming.is_private
            and incoming.command is None
            and incoming.text is not None
            and COMMAND.match(incoming.text.strip()) is not None
        )

    def _unknown_user(self, ctx: Context) -> None:
        text = ctx.t("Hello! To use this bot, ask your administrator for an invite link.")
        if ctx.incoming.is_button:
            ctx.toast(text, alert=True)
        elif ctx.incoming.is_private:
            ctx.say(text)

    def _cancel(self, ctx: Context) -> None:
        had_flow = ctx.state.flow is not None
        ctx.state.clear()
        if had_flow:
            ctx.say(
                ctx.t("Cancelled. Nothing was saved."),
                RemoveKeyboard() if ctx.incoming.is_private else None,
            )
        else:
            ctx.say(ctx.t("Nothing to cancel. Type /help to see what you can do."))

    def _command(self, ctx: Context, command: str) -> None:
        flow = self.commands.get(command)
        if flow is None:
            if ctx.incoming.is_private:
                ctx.say(ctx.t("I do not know that command. Type /help to see what you can do."))
            return
        if not self._allowed(ctx, flow):
            ctx.say(
                ctx.t("This command is not available to you. Type /help to see what you can do.")
            )
            return
        state = ctx.state
        unfinished = (state.flow, state.step, dict(state.data), state.changed)
        state.clear()
        self._run(ctx, flow, lambda f: f.start(ctx, ctx.incoming.args))
        if state.flow is None and unfinished[0] is not None:
            # The command only showed something (/help, /stock bolt, /status 12): the
            # unfinished conversation carries on, and its buttons keep working.
            state.flow, state.step, state.data, state.changed = unfinished

    def _allowed(self, ctx: Context, flow: Flow) -> bool:
        if ctx.role not in flow.roles:
            return False
        return ctx.incoming.is_private or flow.groups_too

    def _button(self, ctx: Context) -> None:
        try:
            callback = unpack(ctx.incoming.callback_data)
        except BadCallback:
            ctx.toast(ctx.t("This action has expired."))
            return
        if callback.prefix == CONVERSATION_PREFIX:
            flow = self._current(ctx)
            try:
                version = callback.int_at(0)
            except BadCallback:
                version = -1
            if flow is None or version != ctx.state.version or len(callback.parts) < 2:
                self._expired_button(ctx, flow)
                return
            action, args = callback.parts[1], callback.parts[2:]
            self._run(ctx, flow, lambda f: f.on_button(ctx, action, args))
            return
        card = self.actions.get(callback.prefix)
        if card is None:
            ctx.toast(ctx.t("This action has expired."))
            return
        if ctx.role not in card.roles:
            ctx.toast(ctx.t("Your role does not allow this."), alert=True)
            return
        try:
            card.press(ctx, callback.parts)
        except BadCallback:
            ctx.toast(ctx.t("This action has expired."))
        except DomainError as error:
            ctx.toast(describe_error(ctx.t, error), alert=True)

    def _expired_button(self, ctx: Context, flow: Flow | None) -> None:
        ctx.toast(ctx.t("This action has expired."))
        if flow is None:
            ctx.say(
                ctx.t("That button belongs to a finished conversation. Type /help to start again.")
            )

    def _current(self, ctx: Context) -> Flow | None:
        flow = self.flows.get(ctx.state.flow or "")
        if flow is None:
            if ctx.state.flow is not None:
                ctx.state.clear()  # a flow that no longer exists (removed in an update)
            return None
        if not self._allowed(ctx, flow):
            ctx.state.clear()  # the role changed since the flow started
            ctx.say(
                ctx.t("This command is not available to you. Type /help to see what you can do.")
            )
            return None
        return flow

    def _run(self, ctx: Context, flow: Flow | None, step: Callable[[Flow], None]) -> None:
        """Run one step; a domain refusal becomes a message and the step stays put."""
        if flow is None:
            return
        try:
            step(flow)
        except DomainError as error:
            message = describe_error(ctx.t, error)
            if ctx.incoming.is_button:
                ctx.toast(message, alert=True)
            else:
                ctx.say(message)

    def _apologise(self, incoming: Incoming) -> list[Reply]:
        """After an unexpected failure: record the update (so it is not retried) and say so."""

        def work(uow: UnitOfWork) -> str | None:
            uow.updates.try_record(incoming.update_id, uow.clock.now())
            user = uow.users.by_telegram_id(incoming.user_id)
            return user.language if user is not None and user.active else None

        chosen: str | None = None
        try:
            chosen = run_in_transaction(self._uow_factory, work)
        except Exception:
            logger.exception("could not record failed update %s", incoming.update_id)
        t = Translator(
            pick_language(chosen, incoming.language_code, self.settings.default_language),
            self.settings.timezone,
        )
        text = t("Sorry, something went wrong and nothing was saved. Please try again.")
        return _sorry(incoming, text)


def apology(incoming: Incoming, settings: EngineSettings) -> list[Reply]:
    """What to say when the engine could not be reached at all (whether the update was
    saved is unknown, so the text does not promise either way)."""
    t = Translator(
        pick_language(None, incoming.language_code, settings.default_language), settings.timezone
    )
    return _sorry(incoming, t("Sorry, something went wrong. Please check and try again."))


def _sorry(incoming: Incoming, text: str) -> list[Reply]:
    if incoming.is_button:
        return [Toast(text, alert=True)]
    return [SendText(text)]
