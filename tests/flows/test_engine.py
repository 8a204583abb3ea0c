"""The engine's shared behaviour, for every registered flow and card action and every role.

The role matrix is built from the flows' own ``roles``/``groups_too``, so flows added later are
covered without editing this file. Test-only flows (a probe with buttons, one that raises) are
registered beside the real ones by building a ConversationEngine directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from domain.model import Role
from domain.money import Money
from domain.ports import LedgerPolicy, UnitOfWorkFactory
from domain.quantity import Quantity
from domain.services.stock import receive_stock
from domain.transaction import run_in_transaction
from handlers.context import Context, EngineSettings
from handlers.engine import ConversationEngine
from handlers.flow import ALL_ROLES, Flow
from handlers.i18n import Translator
from handlers.registry import discover
from handlers.replies import InlineKeyboard, RemoveKeyboard, Reply, SendText, Toast
from tests.chat_driver import ChatDriver, Person, Shown
from tests.fakes import FakeDatabase, FixedClock
from tests.flows.conftest import Business, seed_business

NOT_AVAILABLE = "This command is not available to you. Type /help to see what you can do."
INVITE_TEXT = "Hello! To use this bot, ask your administrator for an invite link."
EXPIRED = "This action has expired."
FINISHED = "That button belongs to a finished conversation. Type /help to start again."
APOLOGY = "Sorry, something went wrong and nothing was saved. Please try again."
DRAFT_GONE = "Your unfinished draft expired and was discarded."
ROLE_REFUSED = "Your role does not allow this."
CANCELLED = "Cancelled. Nothing was saved."

FLOWS, ACTIONS = discover()
COMMAND_FLOWS = {flow.command: flow for flow in FLOWS if flow.command}
COMMANDS = sorted(COMMAND_FLOWS)
PREFIXES = sorted(action.prefix for action in ACTIONS)
ROLE_KEYS = ("owner", "sales", "warehouse", "customer")


# --- test-only flows ----------------------------------------------------------------------------


def _widget_receipt(ctx: Context, unit_cost: Money | None = None) -> None:
    product = ctx.uow.products.by_sku("W-BLUE")
    assert product is not None
    receive_stock(
        ctx.uow,
        actor=ctx.actor,
        product_id=product.id,
        quantity=Quantity.of(5),
        unit_cost=product.cost if unit_cost is None else unit_cost,
    )


class ProbeFlow(Flow):
    """Buttons, steps, a domain refusal: the engine's plumbing without business rules."""

    name = "probe"
    command = "probe"
    roles = ALL_ROLES
    groups_too = True
    description = "Probe"

    def start(self, ctx: Context, args: str) -> None:
        ctx.state.begin(self.name, "probe:ask")
        ctx.say("Pick one", self.keyboard(ctx))

    @staticmethod
    def keyboard(ctx: Context) -> InlineKeyboard:
        return InlineKeyboard.of(
            [ctx.button("One", "pick", 1), ctx.button("Two", "pick", 2)],
            [ctx.button("Refuse", "refuse")],
        )

    def on_text(self, ctx: Context, text: str) -> None:
        if text == "again":  # new buttons without any other state change
            ctx.say("Pick again", self.keyboard(ctx))
        elif text == "refuse":  # a domain refusal from a use case
            _widget_receipt(ctx, unit_cost=Money(-100, "CNY"))
        elif text == "next":
            ctx.state.goto("probe:next", seen=1)
            ctx.say("Moved on")
        else:
            ctx.say(ctx.t("Got {text}", text=text))

    def on_button(self, ctx: Context, action: str, args: tuple[str, ...]) -> None:
        if action == "pick" and args in (("1",), ("2",)):
            ctx.state.goto("probe:picked", picked=args[0])
            ctx.say(f"Picked {args[0]}")
        elif action == "refuse" and not args:
            _widget_receipt(ctx, unit_cost=Money(-100, "CNY"))
        else:
            ctx.toast(ctx.t(EXPIRED))


class BoomFlow(Flow):
    """Writes business data, then fails unexpectedly (a bug): nothing may be kept."""

    name = "boom"
    command = "boom"
    roles = ALL_ROLES
    groups_too = True
    description = "Boom"

    def start(self, ctx: Context, args: str) -> None:
        ctx.state.begin(self.name, "boom:ask")
        ctx.say("Say something", InlineKeyboard.of([ctx.button("Explode", "x")]))
        if args == "now":
            self.explode(ctx)

    def on_text(self, ctx: Context, text: str) -> None:
        self.explode(ctx)

    def on_button(self, ctx: Context, action: str, args: tuple[str, ...]) -> None:
        self.explode(ctx)

    @staticmethod
    def explode(ctx: Context) -> None:
        _widget_receipt(ctx)
        ctx.state.goto("boom:after")
        ctx.say("You will never see this")
        raise RuntimeError("a bug in a flow")


class SalesProbeFlow(Flow):
    name = "salesprobe"
    command = "salesprobe"
    roles = frozenset({Role.SALES})
    description = "Sales probe"

    def start(self, ctx: Context, args: str) -> None:
        ctx.state.begin(self.name, "salesprobe:ask")
        ctx.say("Sales only")

    def on_text(self, ctx: Context, text: str) -> None:
        ctx.say("Still sales")


def probe_engine(uow_factory: UnitOfWorkFactory, settings: EngineSettings) -> ConversationEngine:
    flows, actions = discover()
    extra: list[Flow] = [ProbeFlow(), BoomFlow(), SalesProbeFlow()]
    return ConversationEngine(uow_factory, [*flows, *extra], actions, settings)


@pytest.fixture
def probe(database: FakeDatabase, business: Business, settings: EngineSettings) -> ChatDriver:
    driver = ChatDriver(probe_engine(database.uow, settings))
    driver.group_ids.add(business.group_id)
    return driver


@dataclass
class SqlSetup:
    chat: ChatDriver
    business: Business
    uow: UnitOfWorkFactory


@pytest.fixture
def sql_probe(
    tmp_path: Path, clock: FixedClock, policy: LedgerPolicy, settings: EngineSettings
) -> Iterator[SqlSetup]:
    from storage.database import Database
    from storage.migrate import upgrade

    db = Database(f"sqlite:///{tmp_path / 'engine.db'}", clock=clock, policy=policy)
    upgrade(db.engine)
    business = seed_business(db.uow)
    driver = ChatDriver(probe_engine(db.uow, settings))
    driver.group_ids.add(business.group_id)
    yield SqlSetup(driver, business, db.uow)
    db.dispose()


# --- helpers ------------------------------------------------------------------------------------


def people(business: Business) -> dict[str, Person]:
    return {
        "owner": business.owner,
        "sales": business.sales,
        "warehouse": business.warehouse,
        "customer": business.customer_contact,
    }


def business_state(database: FakeDatabase) -> tuple[Any, ...]:
    """Everything but conversations and processed update ids (the engine's own bookkeeping)."""
    state = database.state.copy()
    return (state.tables, state.stock, state.sequences, state.chat_topics, state.last_ids)


def conversation(
    database: FakeDatabase, person: Person, chat: int | None = None
) -> tuple[Any, ...]:
    record = database.state.conversations.get(
        (person.telegram_id if chat is None else chat, person.telegram_id)
    )
    if record is None:
        return (None, None, "{}", 0)
    return (record.flow, record.step, record.data, record.version)


def said(replies: list[Reply]) -> list[str]:
    return [r.text for r in replies if isinstance(r, SendText | Toast)]


def widget_on_hand(uow_factory: UnitOfWorkFactory, business: Business) -> Quantity:
    return run_in_transaction(
        uow_factory, lambda uow: uow.stock.get(business.widget.id, business.main.id).on_hand
    )


def data_of(shown: Shown, label: str) -> str:
    assert isinstance(shown.keyboard, InlineKeyboard)
    return next(b.data for row in shown.keyboard.rows for b in row if label in b.text)


# --- who may do what ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("key", ROLE_KEYS)
def test_each_command_for_each_role_in_a_private_chat(
    chat: ChatDriver, business: Business, database: FakeDatabase, key: str, command: str
) -> None:
    person = people(business)[key]
    flow = COMMAND_FLOWS[command]
    chat.send(person, "/language")  # in the middle of something
    before = (business_state(database), conversation(database, person))
    replies = chat.send(person, f"/{command}")
    if business.users[key].role in flow.roles:
        assert replies, f"/{command} answered nothing"
        assert NOT_AVAILABLE not in said(replies)
        assert APOLOGY not in said(replies)
    else:
        assert said(replies) == [NOT_AVAILABLE]
        assert (business_state(database), conversation(database, person)) == before


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("key", ROLE_KEYS)
def test_each_command_for_each_role_in_a_group(
    chat: ChatDriver, business: Business, database: FakeDatabase, key: str, command: str
) -> None:
    person = people(business)[key]
    flow = COMMAND_FLOWS[command]
    group = business.group_id
    before = (business_state(database), conversation(database, person, group))
    replies = chat.send(person, f"/{command}@chaterp_bot", chat=group)
    if business.users[key].role in flow.roles and flow.groups_too:
        assert NOT_AVAILABLE not in said(replies)
        assert APOLOGY not in said(replies)
    else:
        assert said(replies) == [NOT_AVAILABLE]
        assert (business_state(database), conversation(database, person, group)) == before


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("key", ROLE_KEYS)
def test_each_card_button_for_each_role(
    chat: ChatDriver, business: Business, database: FakeDatabase, key: str, prefix: str
) -> None:
    """A role a card action is not for is refused; for the others forged ids do no harm."""
    action = next(a for a in ACTIONS if a.prefix == prefix)
    person = people(business)[key]
    before = business_state(database)
    forged = [f"{prefix}:1", f"{prefix}:all:1", f"{prefix}:x", f"{prefix}:999999:999999", prefix]
    for where in (None, business.group_id):
        for data in forged:
            replies = chat.press_data(person, data, message_id=1, chat=where)
            if business.users[key].role not in action.roles:
                assert said(replies) == [ROLE_REFUSED]
            else:
                assert APOLOGY not in said(replies)
    if business.users[key].role not in action.roles:
        assert business_state(database) == before


def test_matrix_covers_every_flow_and_role() -> None:
    """The matrices above are only as good as the discovery they are built from."""
    assert {"help", "language", "invite", "users", "start"} <= set(COMMANDS)
    assert {Role(r) if r != "customer" else Role.CUSTOMER for r in ROLE_KEYS} == set(Role)


# --- unknown people -----------------------------------------------------------------------------


@pytest.mark.parametrize("command", [*COMMANDS, "cancel", "nonsense", "probe", "boom"])
def test_strangers_get_only_the_invite_message_for_every_command(
    probe: ChatDriver, business: Business, database: FakeDatabase, command: str
) -> None:
    stranger = business.stranger
    before = business_state(database)
    replies = probe.send(stranger, f"/{command}")
    assert said(replies) == [INVITE_TEXT]
    assert probe.send(stranger, f"/{command}@chaterp_bot", chat=business.group_id) == []
    assert probe.send(stranger, "10 blue widget", chat=business.group_id) == []
    assert said(probe.send(stranger, "10 blue widget")) == [INVITE_TEXT]
    assert said(probe.share_contact(stranger, "+86 138 0000 0000")) == [INVITE_TEXT]
    assert business_state(database) == before
    assert conversation(database, stranger)[0] is None


@pytest.mark.parametrize(
    "data", [*(f"{prefix}:all:1" for prefix in PREFIXES), "c:1:pick:1", "c:0:x", "💥", "zz:1"]
)
def test_strangers_get_only_the_invite_message_for_every_button(
    probe: ChatDriver, business: Business, database: FakeDatabase, data: str
) -> None:
    before = business_state(database)
    for where in (None, business.group_id):
        replies = probe.press_data(business.stranger, data, message_id=1, chat=where)
        assert replies == [Toast(INVITE_TEXT, alert=True)]
    assert probe.chats == {}
    assert business_state(database) == before


# --- conversations: cancel, stale buttons, forged data --------------------------------------------


@pytest.mark.parametrize("step", ["start", "next", "picked"])
def test_cancel_from_any_step(
    probe: ChatDriver, business: Business, database: FakeDatabase, step: str
) -> None:
    sales = business.sales
    probe.send(sales, "/probe")
    if step == "next":
        probe.send(sales, "next")
    elif step == "picked":
        probe.press(sales, "One")
    assert conversation(database, sales)[0] == "probe"
    before = business_state(database)
    replies = probe.send(sales, "/cancel")
    assert said(replies) == [CANCELLED]
    assert isinstance(replies[0], SendText) and isinstance(replies[0].keyboard, RemoveKeyboard)
    assert conversation(database, sales)[:3] == (None, None, "{}")
    assert business_state(database) == before
    assert said(probe.send(sales, "/cancel")) == [
        "Nothing to cancel. Type /help to see what you can do."
    ]
    assert said(probe.send(sales, "hello")) == ["Type /help to see what you can do."]


@pytest.mark.parametrize("command", COMMANDS)
def test_cancel_leaves_every_registered_flow(
    chat: ChatDriver, business: Business, database: FakeDatabase, command: str
) -> None:
    flow = COMMAND_FLOWS[command]
    key = next(k for k in ROLE_KEYS if business.users[k].role in flow.roles)
    person = people(business)[key]
    chat.send(person, f"/{command}")
    started = conversation(database, person)[0] is not None
    before = business_state(database)
    replies = chat.send(person, "/cancel")
    assert said(replies) == [
        CANCELLED if started else "Nothing to cancel. Type /help to see what you can do."
    ]
    assert conversation(database, person)[0] is None
    assert business_state(database) == before


def test_stale_button_after_the_conversation_moved_on(
    probe: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    sales = business.sales
    probe.send(sales, "/probe")
    first = probe.last(sales.telegram_id)
    probe.send(sales, "next")
    before = (business_state(database), conversation(database, sales))
    replies = probe.press(sales, "One", message=first)
    assert said(replies) == [EXPIRED]
    assert (business_state(database), conversation(database, sales)) == before
    # A new prompt of the same flow: the old one's buttons stay dead, the new ones work.
    probe.send(sales, "/probe")
    assert said(probe.press(sales, "Two", message=first)) == [EXPIRED]
    assert said(probe.press(sales, "Two")) == ["Picked 2"]
    assert said(probe.press(sales, "Two", message=first)) == [EXPIRED]


def test_stale_button_after_cancel_says_where_things_stand(
    probe: ChatDriver, business: Business
) -> None:
    sales = business.sales
    probe.send(sales, "/probe")
    prompt = probe.last(sales.telegram_id)
    probe.send(sales, "/cancel")
    replies = probe.press(sales, "One", message=prompt)
    assert said(replies) == [EXPIRED, FINISHED]


def test_buttons_shown_again_without_a_state_change_work(
    probe: ChatDriver, business: Business
) -> None:
    sales = business.sales
    probe.send(sales, "/probe")
    first = probe.last(sales.telegram_id)
    probe.send(sales, "again")
    again = probe.last(sales.telegram_id)
    assert again.text == "Pick again"
    assert said(probe.press(sales, "Two", message=again)) == ["Picked 2"]
    assert said(probe.press(sales, "One", message=first)) == [EXPIRED]


@pytest.mark.parametrize(
    "data",
    [
        "💥",
        "螺丝",
        "x" * 65,
        "c:{v}:pick:" + "1" * 60,
        "",
        ":",
        ":pick",
        "zzz:1",
        "c",
        "c:{v}",
        "c:abc:pick:1",
        "c:-1:pick:1",
        "c:{older}:pick:1",
        "c:{newer}:pick:1",
        "c:{v}:pick:3",
        "c:{v}:pick:1:1",
        "c:{v}:nope",
        "c:{v}:pick:1<b>",
        "c:{v}:pick:1\n",
        "c:{v} :pick:1",
        "c:{v}:pick:１",
    ],
)
def test_forged_callback_data_is_expired_and_changes_nothing(
    probe: ChatDriver, business: Business, database: FakeDatabase, data: str
) -> None:
    sales = business.sales
    probe.send(sales, "/probe")
    probe.send(sales, "again")
    v = conversation(database, sales)[3]
    before = (business_state(database), conversation(database, sales))
    replies = probe.press_data(sales, data.format(v=v, older=v - 1, newer=v + 1), message_id=1)
    assert said(replies) == [EXPIRED]
    assert (business_state(database), conversation(database, sales)) == before
    assert said(probe.press(sales, "One")) == ["Picked 1"]  # the real buttons still work


def test_a_conversation_button_pressed_by_someone_else_is_expired(
    probe: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    group = business.group_id
    probe.send(business.warehouse, "/probe@chaterp_bot", chat=group)
    prompt = probe.last(group)
    for other in (business.owner, business.sales):
        assert said(probe.press(other, "One", chat=group, message=prompt))[0] == EXPIRED
    assert conversation(database, business.warehouse, group)[1] == "probe:ask"
    assert said(probe.press(business.warehouse, "One", chat=group, message=prompt)) == ["Picked 1"]


def test_role_change_mid_flow_ends_it(
    probe: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    probe.send(business.sales, "/salesprobe")
    row = database.state.tables["users"][business.users["sales"].id]
    row["role"] = Role.WAREHOUSE
    assert said(probe.send(business.sales, "more")) == [NOT_AVAILABLE]
    assert conversation(database, business.sales)[0] is None


# --- redelivery, expiry, failures ---------------------------------------------------------------


def test_redelivered_updates_change_nothing_and_say_nothing(
    probe: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    sales = business.sales
    probe.send(sales, "/probe")
    snapshot = (business_state(database), conversation(database, sales))
    assert probe.redeliver(sales) == []
    probe.send(sales, "hello there")
    snapshot = (business_state(database), conversation(database, sales))
    assert probe.redeliver(sales) == []
    assert (business_state(database), conversation(database, sales)) == snapshot
    probe.press(sales, "One")
    snapshot = (business_state(database), conversation(database, sales))
    messages = len(probe.messages(sales.telegram_id))
    assert probe.redeliver(sales) == [Toast("")]  # the press is answered, silently
    assert (business_state(database), conversation(database, sales)) == snapshot
    assert len(probe.messages(sales.telegram_id)) == messages


def test_drafts_expire_after_draft_ttl_hours(
    probe: ChatDriver, business: Business, database: FakeDatabase, clock: FixedClock
) -> None:
    sales = business.sales
    probe.send(sales, "/probe")
    prompt = probe.last(sales.telegram_id)
    clock.advance(hours=23)
    assert said(probe.send(sales, "still here")) == ["Got still here"]  # no state change…
    clock.advance(hours=2)  # …so 25 h after the draft was last saved it is gone
    assert said(probe.send(sales, "hello")) == [DRAFT_GONE, "Type /help to see what you can do."]
    assert conversation(database, sales)[0] is None
    assert said(probe.press(sales, "One", message=prompt)) == [EXPIRED, FINISHED]


def test_expired_draft_with_a_button_press_and_a_new_command(
    probe: ChatDriver, business: Business, database: FakeDatabase, clock: FixedClock
) -> None:
    sales = business.sales
    probe.send(sales, "/probe")
    prompt = probe.last(sales.telegram_id)
    clock.advance(hours=25)
    assert said(probe.press(sales, "One", message=prompt)) == [DRAFT_GONE, EXPIRED, FINISHED]
    probe.send(sales, "/probe")
    clock.advance(hours=24, minutes=1)
    replies = probe.send(sales, "/probe")
    assert said(replies) == [DRAFT_GONE, "Pick one"]
    assert conversation(database, sales)[:2] == ("probe", "probe:ask")


def test_draft_ttl_is_a_setting(
    database: FakeDatabase, business: Business, clock: FixedClock
) -> None:
    chat = ChatDriver(probe_engine(database.uow, EngineSettings(draft_ttl_hours=2)))
    chat.send(business.sales, "/probe")
    clock.advance(hours=2, seconds=1)
    assert said(chat.send(business.sales, "x"))[0] == DRAFT_GONE


def test_domain_refusal_is_explained_and_the_step_stays(
    probe: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    owner = business.owner
    probe.send(owner, "/probe")
    before = (business_state(database), conversation(database, owner))
    assert said(probe.send(owner, "refuse")) == ["It cannot be negative."]
    assert (business_state(database), conversation(database, owner)) == before
    assert said(probe.press(owner, "Refuse")) == ["It cannot be negative."]
    assert probe.toasts[-1].alert
    assert (business_state(database), conversation(database, owner)) == before
    assert said(probe.press(owner, "One")) == ["Picked 1"]


def test_unexpected_error_apologises_once_and_keeps_nothing(
    probe: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    owner = business.owner
    probe.send(owner, "/boom")
    prompt = probe.last(owner.telegram_id)
    before = (business_state(database), conversation(database, owner))
    assert said(probe.send(owner, "go")) == [APOLOGY]
    assert (business_state(database), conversation(database, owner)) == before
    assert probe.redeliver(owner) == []  # the update id was recorded: no second apology
    assert said(probe.press(owner, "Explode", message=prompt)) == [APOLOGY]
    assert probe.toasts[-1].alert
    assert probe.redeliver(owner) == [Toast("")]
    assert said(probe.send(owner, "/boom now")) == [APOLOGY]
    assert (business_state(database), conversation(database, owner)) == before
    assert "You will never see this" not in probe.texts(owner.telegram_id)
    # Everything else keeps working.
    assert said(probe.send(owner, "/cancel")) == [CANCELLED]


def test_unexpected_error_on_sqlite_rolls_back_the_business_change(
    sql_probe: SqlSetup,
) -> None:
    chat, business = sql_probe.chat, sql_probe.business
    owner = business.owner
    chat.send(owner, "/boom")
    on_hand = widget_on_hand(sql_probe.uow, business)
    assert said(chat.send(owner, "go")) == [APOLOGY]
    assert chat.redeliver(owner) == []
    assert widget_on_hand(sql_probe.uow, business) == on_hand
    assert said(chat.send(owner, "again")) == [APOLOGY]  # still at the same step
    assert widget_on_hand(sql_probe.uow, business) == on_hand


# --- group chats --------------------------------------------------------------------------------


def test_group_commands_need_our_botname_or_none(
    probe: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    group, wh = business.group_id, business.warehouse
    assert said(probe.send(wh, "/probe@chaterp_bot", chat=group)) == ["Pick one"]
    assert said(probe.send(wh, "/probe", chat=group)) == ["Pick one"]
    assert said(probe.send(wh, "/probe@CHATERP_BOT", chat=group)) == ["Pick one"]
    before = (business_state(database), conversation(database, wh, group))
    for text in ("/probe@other_bot", "/cancel@other_bot", "/help@other_bot hi", "/nonsense"):
        assert probe.send(wh, text, chat=group) == []
    # While the flow waits for text, another bot's command is not taken as an answer.
    assert (business_state(database), conversation(database, wh, group)) == before
    assert said(probe.send(wh, "an answer", chat=group)) == ["Got an answer"]


def test_plain_text_in_a_group_without_a_flow_is_ignored(
    probe: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    group = business.group_id
    before = business_state(database)
    for who in people(business).values():
        assert probe.send(who, "10 blue widget, 5 m8 bolt", chat=group) == []
        assert probe.send(who, "<b>x</a>", chat=group) == []
    probe.send(business.warehouse, "/probe", chat=group)
    assert probe.send(business.owner, "text from someone else", chat=group) == []
    assert business_state(database) == before


def test_unknown_command_in_private_is_explained(probe: ChatDriver, business: Business) -> None:
    assert said(probe.send(business.sales, "/nonsense")) == [
        "I do not know that command. Type /help to see what you can do."
    ]


def test_group_and_private_conversations_are_separate(
    probe: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    wh, group = business.warehouse, business.group_id
    probe.send(wh, "/probe", chat=group)
    probe.send(wh, "/salesprobe")  # not theirs: refused, and the group flow is untouched
    assert conversation(database, wh, group)[:2] == ("probe", "probe:ask")
    assert said(probe.send(wh, "hello")) == ["Type /help to see what you can do."]
    assert said(probe.send(wh, "hello", chat=group)) == ["Got hello"]


def test_a_conversation_of_a_flow_that_no_longer_exists_is_dropped(
    probe: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    sales = business.sales
    probe.send(sales, "/probe")
    record = database.state.conversations[(sales.telegram_id, sales.telegram_id)]
    record.flow, record.step = "retired_flow", "retired_flow:ask"
    assert said(probe.send(sales, "hello")) == ["Type /help to see what you can do."]
    assert conversation(database, sales)[0] is None


def test_help_mid_conversation_keeps_it(
    probe: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    sales = business.sales
    probe.send(sales, "/probe")
    prompt = probe.last(sales.telegram_id)
    before = conversation(database, sales)
    probe.send(sales, "/help")
    assert conversation(database, sales) == before
    assert said(probe.send(sales, "typed after help")) == ["Got typed after help"]
    assert said(probe.press(sales, "One", message=prompt)) == ["Picked 1"]


def test_the_apology_is_in_the_language_the_person_chose(
    probe: ChatDriver, business: Business
) -> None:
    owner = business.owner  # Telegram app in English
    probe.send(owner, "/language 中文")
    probe.send(owner, "/boom")
    assert said(probe.send(owner, "go")) == [Translator("zh_Hans")(APOLOGY)]
