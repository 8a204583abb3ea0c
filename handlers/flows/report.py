"""/report [today|week|month]: the summary and its charts, now (owners; in groups too).

The reply says it is on its way; the summary itself (text and three charts) is composed off
the conversation's transaction and sent through the outbox, like the scheduled ones.
"""

from __future__ import annotations

from domain.model import Role
from domain.services.notices import request_report
from handlers.context import Context
from handlers.flow import Flow
from handlers.i18n import N_

PERIODS = {
    "": "today",
    "today": "today",
    "day": "today",
    "week": "week",
    "month": "month",
    "今天": "today",
    "今日": "today",
    "本周": "week",
    "本月": "month",
}


class ReportFlow(Flow):
    name = "report"
    command = "report"
    roles = frozenset({Role.OWNER})
    groups_too = True
    description = N_("Summary and charts: today, week or month")

    def start(self, ctx: Context, args: str) -> None:
        period = PERIODS.get(args.strip().casefold())
        if period is None:
            ctx.say(
                ctx.t(
                    "Which period? /report today, /report week or /report month "
                    "(today when nothing is given)."
                )
            )
            return
        request_report(
            ctx.uow,
            actor=ctx.actor,
            chat_id=ctx.incoming.chat_id,
            period=period,
            language=ctx.t.language,
            request=f"update:{ctx.incoming.update_id}",
        )
        if period == "today":
            ctx.say(ctx.t("📊 Preparing today's summary and charts…"))
        elif period == "week":
            ctx.say(ctx.t("📊 Preparing this week's summary and charts…"))
        else:
            ctx.say(ctx.t("📊 Preparing this month's summary and charts…"))


FLOW = ReportFlow()
