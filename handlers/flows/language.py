"""/language: pick English or 简体中文; the answer and the command menu follow at once.

Buttons (conversation): ``c:V:set:en`` and ``c:V:set:zh_Hans``. ``/language zh`` (or ``en``,
``中文``…) sets it directly.
"""

from __future__ import annotations

from handlers.context import Context
from handlers.flow import ALL_ROLES, Flow
from handlers.i18n import LANGUAGES, N_, Translator
from handlers.replies import InlineKeyboard

CHOOSE = "language:choose"
SET = "set"

# What people may type after /language (case-insensitive) for each language code.
TYPED: dict[str, str] = {
    "en": "en",
    "eng": "en",
    "english": "en",
    "英文": "en",
    "英语": "en",
    "zh": "zh_Hans",
    "zh_hans": "zh_Hans",
    "zh-hans": "zh_Hans",
    "zh-cn": "zh_Hans",
    "cn": "zh_Hans",
    "chinese": "zh_Hans",
    "中文": "zh_Hans",
    "简体中文": "zh_Hans",
}


class LanguageFlow(Flow):
    name = "language"
    command = "language"
    roles = ALL_ROLES
    groups_too = True  # the choice is the person's own; buttons are bound to their conversation
    description = N_("Choose your language")

    def start(self, ctx: Context, args: str) -> None:
        typed = TYPED.get(args.strip().casefold())
        if typed is not None:
            ctx.say(self._choose(ctx, typed))
            return
        ctx.state.begin(self.name, CHOOSE)
        prompt = ctx.t("Choose your language:")
        if args.strip():
            prompt = ctx.t("I do not know that language.") + "\n" + prompt
        ctx.say(prompt, self._keyboard(ctx))

    def on_text(self, ctx: Context, text: str) -> None:
        typed = TYPED.get(text.strip().casefold())
        if typed is not None:
            ctx.say(self._choose(ctx, typed))
            return
        ctx.say(
            ctx.t("Please choose with the buttons, or /cancel.")
            + "\n"
            + ctx.t("Choose your language:"),
            self._keyboard(ctx),
        )

    def on_button(self, ctx: Context, action: str, args: tuple[str, ...]) -> None:
        if action != SET or len(args) != 1 or args[0] not in LANGUAGES:
            ctx.toast(ctx.t("This action has expired."))
            return
        done = self._choose(ctx, args[0])
        if ctx.incoming.message_id is None:
            ctx.say(done)
        else:
            ctx.edit(ctx.incoming.message_id, done)  # the buttons go; the choice stays visible

    def _choose(self, ctx: Context, code: str) -> str:
        """Store ``code``, switch this reply to it, have the menu re-sent; the confirmation."""
        assert ctx.user is not None
        ctx.uow.users.set_language(ctx.user.id, code)
        ctx.t = Translator(code, ctx.settings.timezone)
        ctx.state.clear()
        ctx.refresh_menu = True
        return ctx.t("Language set to {language}.", language=LANGUAGES[code])

    @staticmethod
    def _keyboard(ctx: Context) -> InlineKeyboard:
        return InlineKeyboard.of(
            [ctx.button(label, SET, code) for code, label in LANGUAGES.items()],
        )


FLOW = LanguageFlow()
