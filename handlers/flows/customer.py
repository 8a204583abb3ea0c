"""/customer: name → (look-alikes: use one, or create new) → phone → address → credit limit →
payment terms → summary → Save.

Steps: ``customer:name``, ``customer:similar``, ``customer:phone``, ``customer:address``,
``customer:credit``, ``customer:terms``, ``customer:confirm``. Nothing is written before Save;
Save runs ``create_customer`` once (a second tap is an expired button). Started from /order
("➕ New customer"), the order draft waits in ``data["resume"]`` and the order continues with
the saved (or chosen) customer.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from domain.errors import InvalidInput
from domain.model import Customer, Role
from domain.money import Money
from domain.parsing import parse_decimal, parse_money
from domain.services.common import MAX_NAME_CHARS, MAX_TEXT_CHARS, clean_text
from domain.services.customers import (
    MAX_PAYMENT_TERMS_DAYS,
    CustomerDraft,
    create_customer,
    find_similar_customers,
    validate_phone,
)
from handlers.context import Context
from handlers.errors import describe_input_problem
from handlers.flow import Flow
from handlers.i18n import N_, Html
from handlers.pickers import visible_customers
from handlers.replies import Button, InlineKeyboard, RemoveKeyboard, ReplyKeyboard

FLOW_NAME = "customer"
STEP_NAME = "customer:name"
STEP_SIMILAR = "customer:similar"
STEP_PHONE = "customer:phone"
STEP_ADDRESS = "customer:address"
STEP_CREDIT = "customer:credit"
STEP_TERMS = "customer:terms"
STEP_CONFIRM = "customer:confirm"

MAX_SIMILAR_SHOWN = 5
LABEL_CHARS = 40
_DAYS_WORD = re.compile(r"\s*(?:days?|d|天)\s*$", re.I)


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _has_letters(text: str) -> bool:
    return any(char.isalnum() for char in text)


def _data(ctx: Context) -> dict[str, Any]:
    return ctx.state.data


class CustomerFlow(Flow):
    name = FLOW_NAME
    command = "customer"
    roles = frozenset({Role.OWNER, Role.SALES})
    description = N_("New customer")

    def start(self, ctx: Context, args: str) -> None:
        ctx.state.begin(FLOW_NAME, STEP_NAME)
        if args.strip():
            self._take_name(ctx, args)
        else:
            self._ask_name(ctx)

    def start_for_order(self, ctx: Context, resume: dict[str, Any], hint: str = "") -> None:
        """Create a customer in the middle of /order; the order continues afterwards."""
        ctx.state.begin(FLOW_NAME, STEP_NAME, resume=resume, hint=_short(hint, MAX_NAME_CHARS))
        self._ask_name(ctx)

    # --- routing ------------------------------------------------------------------------

    def on_text(self, ctx: Context, text: str) -> None:
        step = ctx.state.step
        if step == STEP_NAME:
            self._take_name(ctx, text)
        elif step == STEP_PHONE:
            self._take_phone(ctx, text)
        elif step == STEP_ADDRESS:
            self._take_address(ctx, text)
        elif step == STEP_CREDIT:
            self._take_credit(ctx, text)
        elif step == STEP_TERMS:
            self._take_terms(ctx, text)
        else:
            ctx.say(ctx.t("Please use the buttons above, or /cancel."))

    def on_contact(self, ctx: Context, phone: str) -> None:
        if ctx.state.step == STEP_PHONE:
            self._take_phone(ctx, phone)
        else:
            self.on_text(ctx, phone)

    def on_button(self, ctx: Context, action: str, args: tuple[str, ...]) -> None:
        step = ctx.state.step
        if action == "cancel":
            self._cancel(ctx)
        elif action == "hint" and step == STEP_NAME and _data(ctx).get("hint"):
            self._take_name(ctx, str(_data(ctx)["hint"]))
        elif action == "use" and step == STEP_SIMILAR:
            self._use(ctx, args)
        elif action == "new" and step == STEP_SIMILAR:
            if _data(ctx).get("at_save"):
                self._save(ctx)
            else:
                self._ask_phone(ctx)
        elif action == "skip" and step == STEP_ADDRESS:
            _data(ctx)["address"] = ""
            self._ask_credit(ctx)
        elif action == "skip" and step == STEP_CREDIT:
            _data(ctx)["credit"] = None
            self._ask_terms(ctx)
        elif action == "skip" and step == STEP_TERMS:
            _data(ctx)["terms"] = None
            self._show_summary(ctx)
        elif action == "save" and step == STEP_CONFIRM:
            self._save(ctx)
        else:
            ctx.toast(ctx.t("This action has expired."))

    # --- name and look-alikes ------------------------------------------------------------

    def _ask_name(self, ctx: Context, problem: str = "") -> None:
        rows: list[list[Button]] = []
        hint = str(_data(ctx).get("hint") or "")
        if hint:
            rows.append([ctx.button(ctx.t("Use “{name}”", name=Html(_short(hint))), "hint")])
        rows.append([ctx.button(ctx.t("✖ Cancel"), "cancel")])
        question = ctx.t("👤 New customer. What is the customer's name?")
        ctx.say(f"{problem}\n{question}" if problem else question, InlineKeyboard.of(*rows))
        ctx.state.goto(STEP_NAME)

    def _take_name(self, ctx: Context, text: str) -> None:
        try:
            name = clean_text(text, "name", required=True, limit=MAX_NAME_CHARS)
        except InvalidInput as error:
            self._ask_name(ctx, describe_input_problem(ctx.t, error))
            return
        if not _has_letters(name):
            self._ask_name(ctx, ctx.t("A name needs letters or digits."))
            return
        _data(ctx)["name"] = name
        if not self._ask_similar(ctx):
            self._ask_phone(ctx)

    def _ask_similar(self, ctx: Context) -> bool:
        """Show existing customers that look like this one (not asked about yet); True if any."""
        data = _data(ctx)
        found = find_similar_customers(ctx.uow, data["name"], data.get("phone") or "")
        seen = set(data.get("seen", []))
        if all(customer.id in seen for customer in found):
            return False
        data["seen"] = sorted(seen | {customer.id for customer in found})
        assert ctx.user is not None
        visible = {c.id for c in visible_customers(ctx.uow, ctx.user.id, ctx.role)}
        mine = [c for c in found if c.id in visible][:MAX_SIMILAR_SHOWN]
        others = len([c for c in found if c.id not in visible])
        text = [ctx.t("This looks like an existing customer:")]
        for customer in mine:
            text.append(self._customer_line(ctx, customer))
        if others:
            text.append(
                ctx.t.n(
                    "… and {count} similar customer of another salesperson.",
                    "… and {count} similar customers of another salesperson.",
                    others,
                )
            )
        rows = [
            [ctx.button(ctx.t("Use {name}", name=Html(_short(c.name))), "use", c.id)] for c in mine
        ]
        rows.append([ctx.button(ctx.t("➕ Create new"), "new")])
        rows.append([ctx.button(ctx.t("✖ Cancel"), "cancel")])
        ctx.say("\n".join(text), InlineKeyboard.of(*rows))
        ctx.state.goto(STEP_SIMILAR)
        return True

    def _customer_line(self, ctx: Context, customer: Customer) -> str:
        if customer.phone:
            return ctx.t("• {name} · {phone}", name=customer.name, phone=customer.phone)
        return ctx.t("• {name}", name=customer.name)

    def _use(self, ctx: Context, args: tuple[str, ...]) -> None:
        assert ctx.user is not None
        if len(args) != 1 or not args[0].isdigit():
            ctx.toast(ctx.t("This action has expired."))
            return
        customer_id = int(args[0])
        chosen = next(
            (
                c
                for c in visible_customers(ctx.uow, ctx.user.id, ctx.role)
                if c.id == customer_id and customer_id in _data(ctx).get("seen", [])
            ),
            None,
        )
        if chosen is None:
            ctx.toast(ctx.t("This action has expired."))
            return
        resume = _data(ctx).get("resume")
        if resume is not None:
            from handlers.flows.order import resume_with_customer

            resume_with_customer(ctx, resume, chosen.id)
            return
        ctx.state.clear()
        ctx.say(
            ctx.t(
                "OK: {name} is already a customer. Nothing new was saved. Type /order to take an "
                "order.",
                name=chosen.name,
            )
        )

    # --- phone, address, credit, terms ------------------------------------------------------

    def _ask_phone(self, ctx: Context, problem: str = "") -> None:
        keyboard = ReplyKeyboard(rows=((ctx.t("Skip"),),), contact=ctx.t("📱 Share contact"))
        question = ctx.t("📞 Phone number? Type it, or share a contact. “Skip” if there is none.")
        ctx.say(f"{problem}\n{question}" if problem else question, keyboard)
        ctx.state.goto(STEP_PHONE)

    def _take_phone(self, ctx: Context, text: str) -> None:
        typed = " ".join(text.split())
        if typed.casefold() in {ctx.t("Skip").casefold(), "skip", "-", "—"}:
            phone = ""
        else:
            try:
                phone = validate_phone(typed)
            except InvalidInput as error:
                self._ask_phone(ctx, describe_input_problem(ctx.t, error))
                return
            if not phone:
                self._ask_phone(ctx, ctx.t("Nothing was entered."))
                return
        _data(ctx)["phone"] = phone
        if phone:
            ctx.say(ctx.t("📞 {phone}", phone=phone), RemoveKeyboard())
        else:
            ctx.say(ctx.t("No phone number."), RemoveKeyboard())
        self._ask_address(ctx)

    def _ask_address(self, ctx: Context, problem: str = "") -> None:
        keyboard = InlineKeyboard.of(
            [ctx.button(ctx.t("Skip"), "skip")], [ctx.button(ctx.t("✖ Cancel"), "cancel")]
        )
        question = ctx.t("📍 Address?")
        ctx.say(f"{problem}\n{question}" if problem else question, keyboard)
        ctx.state.goto(STEP_ADDRESS)

    def _take_address(self, ctx: Context, text: str) -> None:
        try:
            address = clean_text(text, "address", required=True, limit=MAX_TEXT_CHARS)
        except InvalidInput as error:
            self._ask_address(ctx, describe_input_problem(ctx.t, error))
            return
        if not _has_letters(address):
            self._ask_address(ctx, ctx.t("An address needs letters or digits."))
            return
        _data(ctx)["address"] = address
        self._ask_credit(ctx)

    def _ask_credit(self, ctx: Context, problem: str = "") -> None:
        keyboard = InlineKeyboard.of(
            [ctx.button(ctx.t("No limit"), "skip")], [ctx.button(ctx.t("✖ Cancel"), "cancel")]
        )
        question = ctx.t(
            "💳 Credit limit? Type an amount like 5000. Orders above it need an owner's approval."
        )
        ctx.say(f"{problem}\n{question}" if problem else question, keyboard)
        ctx.state.goto(STEP_CREDIT)

    def _take_credit(self, ctx: Context, text: str) -> None:
        try:
            limit = parse_money(
                text, ctx.uow.policy.currency, field="credit_limit", allow_zero=True
            )
        except InvalidInput as error:
            self._ask_credit(ctx, describe_input_problem(ctx.t, error))
            return
        _data(ctx)["credit"] = limit.minor
        self._ask_terms(ctx)

    def _ask_terms(self, ctx: Context, problem: str = "") -> None:
        default = ctx.uow.policy.default_payment_terms_days
        keyboard = InlineKeyboard.of(
            [ctx.button(ctx.t("{days} days (default)", days=default), "skip")],
            [ctx.button(ctx.t("✖ Cancel"), "cancel")],
        )
        question = ctx.t(
            "🗓 Payment terms: how many days to pay (0–{maximum})?",
            maximum=MAX_PAYMENT_TERMS_DAYS,
        )
        ctx.say(f"{problem}\n{question}" if problem else question, keyboard)
        ctx.state.goto(STEP_TERMS)

    def _take_terms(self, ctx: Context, text: str) -> None:
        try:
            value = parse_decimal(_DAYS_WORD.sub("", text or ""), "payment_terms_days")
        except InvalidInput as error:
            self._ask_terms(ctx, describe_input_problem(ctx.t, error))
            return
        if value != value.to_integral_value():
            self._ask_terms(ctx, ctx.t("Please type a whole number of days."))
            return
        if value < 0:
            self._ask_terms(ctx, ctx.t("It cannot be negative."))
            return
        if value > Decimal(MAX_PAYMENT_TERMS_DAYS):
            self._ask_terms(ctx, ctx.t("That is out of the allowed range."))
            return
        _data(ctx)["terms"] = int(value)
        self._show_summary(ctx)

    # --- summary and save -----------------------------------------------------------------

    def _show_summary(self, ctx: Context) -> None:
        data = _data(ctx)
        currency = ctx.uow.policy.currency
        terms = data.get("terms")
        if terms is None:
            terms = ctx.uow.policy.default_payment_terms_days
        credit = data.get("credit")
        lines = [
            ctx.t("👤 <b>New customer</b>"),
            ctx.t("Name: {name}", name=data["name"]),
            ctx.t("Phone: {phone}", phone=data.get("phone") or "—"),
            ctx.t("Address: {address}", address=data.get("address") or "—"),
            ctx.t("Credit limit: {limit}", limit=Money(int(credit), currency))
            if credit is not None
            else ctx.t("Credit limit: none"),
            ctx.t.n("Payment terms: {count} day", "Payment terms: {count} days", int(terms)),
        ]
        keyboard = InlineKeyboard.of(
            [ctx.button(ctx.t("💾 Save"), "save"), ctx.button(ctx.t("✖ Cancel"), "cancel")]
        )
        ctx.say("\n".join(lines), keyboard)
        ctx.state.goto(STEP_CONFIRM)

    def _save(self, ctx: Context) -> None:
        data = _data(ctx)
        data["at_save"] = True
        if self._ask_similar(ctx):
            return
        credit = data.get("credit")
        draft = CustomerDraft(
            name=data["name"],
            phone=data.get("phone") or "",
            address=data.get("address") or "",
            credit_limit=None if credit is None else Money(int(credit), ctx.uow.policy.currency),
            payment_terms_days=data.get("terms"),
        )
        result = create_customer(ctx.uow, actor=ctx.actor, draft=draft, allow_similar=True)
        customer = result.customer
        assert customer is not None
        resume = data.get("resume")
        ctx.state.clear()
        ctx.say(ctx.t("✅ Saved customer {name}.", name=customer.name))
        if resume is not None:
            from handlers.flows.order import resume_with_customer

            resume_with_customer(ctx, resume, customer.id)

    def _cancel(self, ctx: Context) -> None:
        resume = _data(ctx).get("resume")
        ctx.state.clear()
        if resume is not None:
            ctx.say(ctx.t("No new customer was saved."), RemoveKeyboard())
            from handlers.flows.order import resume_with_customer

            resume_with_customer(ctx, resume, None)
            return
        ctx.say(ctx.t("Cancelled. Nothing was saved."), RemoveKeyboard())


FLOW = CustomerFlow()
