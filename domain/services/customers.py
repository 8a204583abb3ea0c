"""Customers: create (warning about look-alikes), update, and find."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from rapidfuzz import fuzz, process

from domain.errors import InvalidInput, NotAllowed
from domain.matching import normalise
from domain.model import Actor, Customer, Role, Tier
from domain.money import Money
from domain.ports import UnitOfWork
from domain.services.common import (
    MAX_NAME_CHARS,
    audit,
    clean_text,
    get_customer,
    require_role,
    use_case,
)

SIMILAR_NAME_SCORE = 88  # token-sort ratio at which a name "looks like" an existing customer
PHONE_KEY_DIGITS = 10
MAX_PAYMENT_TERMS_DAYS = 365
STAFF = (Role.OWNER, Role.SALES)


def phone_key(phone: str) -> str:
    """Digits only, last 10: ``+86 138-0013-8000`` and ``13800138000`` compare equal."""
    digits = re.sub(r"\D", "", phone or "")
    return digits[-PHONE_KEY_DIGITS:]


def validate_phone(phone: str) -> str:
    text = clean_text(phone, "phone", limit=40)
    if text and not re.fullmatch(r"\+?[\d\s()./-]{5,40}", text):
        raise InvalidInput("phone", "not_a_phone", phone)
    if text and len(re.sub(r"\D", "", text)) < 5:
        raise InvalidInput("phone", "not_a_phone", phone)
    return text


@dataclass(frozen=True, slots=True)
class CustomerDraft:
    """What a person fills in to create a customer."""

    name: str
    phone: str = ""
    address: str = ""
    sales_rep_id: int | None = None
    credit_limit: Money | None = None
    payment_terms_days: int | None = None
    tier: Tier = Tier.C
    birthday: date | None = None
    notes: str = ""


@dataclass(frozen=True, slots=True)
class CreateCustomerResult:
    """Either the new customer, or the existing look-alikes to ask about first."""

    customer: Customer | None
    similar: tuple[Customer, ...] = ()


def find_similar_customers(uow: UnitOfWork, name: str, phone: str = "") -> list[Customer]:
    """Existing customers with the same phone or a name that looks the same, best first."""
    found: dict[int, Customer] = {}
    key = phone_key(phone)
    if len(key) >= 5:
        for customer in uow.customers.by_phone_key(key):
            found[customer.id] = customer
    wanted = normalise(name)
    if wanted:
        for customer in uow.customers.by_name_key(wanted):
            found.setdefault(customer.id, customer)
        everyone = {c.id: c for c in uow.customers.list()}
        choices = {cid: normalise(c.name) for cid, c in everyone.items()}
        for _name, _score, cid in process.extract(
            wanted, choices, scorer=fuzz.token_sort_ratio, limit=5, score_cutoff=SIMILAR_NAME_SCORE
        ):
            found.setdefault(cid, everyone[cid])
    return list(found.values())


def _validate(uow: UnitOfWork, draft: CustomerDraft) -> CustomerDraft:
    terms = draft.payment_terms_days
    if terms is None:
        terms = uow.policy.default_payment_terms_days
    if not 0 <= terms <= MAX_PAYMENT_TERMS_DAYS:
        raise InvalidInput(
            "payment_terms_days", "out_of_range", str(terms), maximum=MAX_PAYMENT_TERMS_DAYS
        )
    if draft.credit_limit is not None:
        if draft.credit_limit.currency != uow.policy.currency:
            raise InvalidInput("credit_limit", "wrong_currency", str(draft.credit_limit))
        if draft.credit_limit.minor < 0:
            raise InvalidInput("credit_limit", "negative", str(draft.credit_limit))
    if draft.sales_rep_id is not None:
        rep = uow.users.get(draft.sales_rep_id)
        if rep is None or rep.role not in STAFF:
            raise InvalidInput("sales_rep", "not_a_salesperson", str(draft.sales_rep_id))
    return CustomerDraft(
        name=clean_text(draft.name, "name", required=True, limit=MAX_NAME_CHARS),
        phone=validate_phone(draft.phone),
        address=clean_text(draft.address, "address"),
        sales_rep_id=draft.sales_rep_id,
        credit_limit=draft.credit_limit,
        payment_terms_days=terms,
        tier=Tier(draft.tier),
        birthday=draft.birthday,
        notes=clean_text(draft.notes, "notes"),
    )


@use_case
def create_customer(
    uow: UnitOfWork, *, actor: Actor, draft: CustomerDraft, allow_similar: bool = False
) -> CreateCustomerResult:
    """Create a customer, unless it looks like an existing one and ``allow_similar`` is False."""
    require_role(actor, STAFF, "create_customer")
    clean = _validate(uow, draft)
    if clean.sales_rep_id is None and actor.role is Role.SALES:
        clean = CustomerDraft(**{**_as_dict(clean), "sales_rep_id": actor.user_id})
    if not allow_similar:
        similar = find_similar_customers(uow, clean.name, clean.phone)
        if similar:
            return CreateCustomerResult(customer=None, similar=tuple(similar))
    customer_id = uow.customers.add(
        name=clean.name,
        name_key=normalise(clean.name),
        phone=clean.phone,
        phone_key=phone_key(clean.phone),
        address=clean.address,
        sales_rep_id=clean.sales_rep_id,
        credit_limit_minor=None if clean.credit_limit is None else clean.credit_limit.minor,
        payment_terms_days=clean.payment_terms_days or 0,
        tier=clean.tier,
        birthday=clean.birthday,
        notes=clean.notes,
        created_at=uow.clock.now(),
    )
    audit(uow, actor, "customer.create", "customer", customer_id, after=_as_dict(clean))
    return CreateCustomerResult(customer=get_customer(uow, customer_id))


@use_case
def update_customer(
    uow: UnitOfWork, *, actor: Actor, customer_id: int, draft: CustomerDraft
) -> Customer:
    """Replace a customer's profile (name, phone, terms…); the balance is not touched."""
    require_role(actor, STAFF, "update_customer")
    before = get_customer(uow, customer_id)
    if actor.role is Role.SALES and before.sales_rep_id not in (None, actor.user_id):
        raise NotAllowed("update_other_reps_customer", str(actor.role))
    clean = _validate(uow, draft)
    uow.customers.update(
        customer_id,
        name=clean.name,
        name_key=normalise(clean.name),
        phone=clean.phone,
        phone_key=phone_key(clean.phone),
        address=clean.address,
        sales_rep_id=clean.sales_rep_id,
        credit_limit_minor=None if clean.credit_limit is None else clean.credit_limit.minor,
        payment_terms_days=clean.payment_terms_days,
        tier=clean.tier,
        birthday=clean.birthday,
        notes=clean.notes,
    )
    audit(
        uow,
        actor,
        "customer.update",
        "customer",
        customer_id,
        before=_customer_dict(before),
        after=_as_dict(clean),
    )
    return get_customer(uow, customer_id)


def _as_dict(draft: CustomerDraft) -> dict[str, object]:
    return {
        "name": draft.name,
        "phone": draft.phone,
        "address": draft.address,
        "sales_rep_id": draft.sales_rep_id,
        "credit_limit": draft.credit_limit,
        "payment_terms_days": draft.payment_terms_days,
        "tier": draft.tier,
        "birthday": draft.birthday,
        "notes": draft.notes,
    }


def _customer_dict(customer: Customer) -> dict[str, object]:
    return {
        "name": customer.name,
        "phone": customer.phone,
        "address": customer.address,
        "sales_rep_id": customer.sales_rep_id,
        "credit_limit": customer.credit_limit,
        "payment_terms_days": customer.payment_terms_days,
        "tier": customer.tier,
    }


def birthdays_on(uow: UnitOfWork, day: date) -> list[Customer]:
    """Active customers whose birthday is ``day`` (those born on 29 February celebrate on the
    28th when the year has no 29th), by name."""
    def falls_today(birthday: date) -> bool:
        if (birthday.month, birthday.day) == (day.month, day.day):
            return True
        leap_day = (birthday.month, birthday.day) == (2, 29)
        return leap_day and (day.month, day.day) == (2, 28) and not _is_leap(day.year)

    found = [c for c in uow.customers.list() if c.birthday is not None and falls_today(c.birthday)]
    return sorted(found, key=lambda c: (c.name.casefold(), c.id))


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
