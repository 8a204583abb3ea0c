"""/start [TOKEN]: join with an invite link, or be greeted; unknown people are told to ask."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.errors import DomainError, InviteInvalid
from domain.model import Role
from domain.services.users import accept_invite
from handlers.context import Context
from handlers.errors import describe_error
from handlers.flow import ALL_ROLES, Flow
from handlers.i18n import N_

MAX_BAD_TOKENS = 5
BAD_TOKEN_WINDOW = timedelta(hours=1)


def role_name(ctx: Context, role: Role) -> str:
    """The translated name of a role."""
    return {
        Role.OWNER: ctx.t("owner"),
        Role.SALES: ctx.t("salesperson"),
        Role.WAREHOUSE: ctx.t("warehouse"),
        Role.CUSTOMER: ctx.t("customer"),
    }[role]


class StartFlow(Flow):
    name = "start"
    command = "start"
    roles = ALL_ROLES
    groups_too = True
    description = N_("Start")

    def start(self, ctx: Context, args: str) -> None:
        token = args.strip()
        if ctx.user is not None:
            if token:
                ctx.say(ctx.t("You are already registered. Type /help to see what you can do."))
            else:
                ctx.say(
                    ctx.t(
                        "Welcome back, {name}! Type /help to see what you can do.",
                        name=ctx.user.name,
                    )
                )
            return
        if not ctx.incoming.is_private:
            return  # joining happens in the private chat with the bot
        if not token:
            ctx.say(ctx.t("Hello! To use this bot, ask your administrator for an invite link."))
            return
        now = ctx.uow.clock.now()
        if self._too_many_bad_tokens(ctx, now):
            ctx.say(ctx.t("Too many invalid invite links. Please wait an hour and try again."))
            return
        try:
            user = accept_invite(
                ctx.uow,
                token=token,
                telegram_user_id=ctx.incoming.user_id,
                display_name=ctx.incoming.user_name,
                language=None,
                source=f"tg:update:{ctx.incoming.update_id}",
            )
        except InviteInvalid as error:
            self._remember_bad_token(ctx, now)
            ctx.say(describe_error(ctx.t, error))
            return
        except DomainError as error:
            ctx.say(describe_error(ctx.t, error))
            return
        ctx.user = user
        ctx.state.clear()
        ctx.refresh_menu = True
        ctx.say(
            ctx.t(
                "Welcome, {name}! You joined as {role}. Type /help to see what you can do.",
                name=user.name,
                role=role_name(ctx, user.role),
            )
        )

    @staticmethod
    def _recent_bad_tokens(ctx: Context, now: datetime) -> list[str]:
        """Times of recent failed tokens (kept in this chat's conversation row)."""
        since = now - BAD_TOKEN_WINDOW
        return [
            t for t in ctx.state.data.get("bad_tokens", []) if datetime.fromisoformat(t) > since
        ]

    def _too_many_bad_tokens(self, ctx: Context, now: datetime) -> bool:
        return len(self._recent_bad_tokens(ctx, now)) >= MAX_BAD_TOKENS

    def _remember_bad_token(self, ctx: Context, now: datetime) -> None:
        recent = [*self._recent_bad_tokens(ctx, now), now.isoformat()]
        ctx.state.data["bad_tokens"] = recent
        ctx.state.changed = True


FLOW = StartFlow()
