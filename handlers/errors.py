"""Domain refusals in words a person understands, in their language."""

from __future__ import annotations

from domain.errors import (
    AlreadyDecided,
    AlreadyRegistered,
    AlreadyReminded,
    AlreadyShipped,
    DomainError,
    DuplicateKey,
    IdempotencyKeyReused,
    InsufficientStock,
    InvalidInput,
    InvalidState,
    InviteInvalid,
    NotAllowed,
    NotFound,
    NothingOverdue,
    NothingToShip,
)
from domain.quantity import Quantity
from handlers.i18n import Translator


def describe_input_problem(t: Translator, error: InvalidInput) -> str:
    """Why a typed value was refused (used when asking again)."""
    reasons = {
        "empty": t("Nothing was entered."),
        "not_a_number": t("That is not a number."),
        "negative": t("It cannot be negative."),
        "zero": t("It must be more than zero."),
        "too_large": t("That is too large."),
        "too_long": t("That is too long."),
        "too_many_decimals": t("That has too many decimals."),
        "not_a_phone": t("That does not look like a phone number."),
        "out_of_range": t("That is out of the allowed range."),
        "more_than_remaining": t("That is more than is left to ship."),
        "more_than_shipped": t("That is more than was shipped."),
        "bad_sku": t("A SKU may use letters, digits, dot, dash and slash."),
        "already_paid": t("That invoice is already paid."),
    }
    return reasons.get(error.reason, t("That value cannot be used."))


def describe_error(t: Translator, error: DomainError) -> str:
    """One friendly sentence (HTML-safe) for any domain refusal."""
    if isinstance(error, InvalidInput):
        return describe_input_problem(t, error)
    if isinstance(error, InsufficientStock):
        lines = [t("Not enough stock:")]
        for short in error.shortages:
            lines.append(
                t(
                    "• {name}: wanted {wanted}, available {available}",
                    name=short.name,
                    wanted=Quantity(short.requested_milli),
                    available=Quantity(short.available_milli),
                )
            )
        return "\n".join(lines)
    if isinstance(error, AlreadyShipped):
        if error.at is None:
            return t("{reference} has already been shipped.", reference=error.reference)
        return t(
            "{reference} was already shipped by {name} at {at}.",
            reference=error.reference,
            name=error.by_name,
            at=error.at,
        )
    if isinstance(error, AlreadyDecided):
        return t(
            "{reference} was already decided by {name}.",
            reference=error.reference,
            name=error.by_name,
        )
    if isinstance(error, AlreadyReminded):
        return t(
            "{customer} was already reminded today (by {name} at {at}).",
            customer=error.customer,
            name=error.by_name,
            at=error.at,
        )
    if isinstance(error, NothingOverdue):
        return t("{customer} has nothing overdue any more.", customer=error.customer)
    if isinstance(error, NothingToShip):
        return t("Nothing is left to ship on {reference}.", reference=error.reference)
    if isinstance(error, NotAllowed):
        return t("Your role does not allow this.")
    if isinstance(error, NotFound):
        return t("Not found.")
    if isinstance(error, InvalidState):
        return t("{reference} cannot be changed any more.", reference=str(error.ref))
    if isinstance(error, InviteInvalid):
        return {
            "expired": t("This invite link has expired. Ask for a new one."),
            "used": t("This invite link was already used. Ask for a new one."),
        }.get(error.reason, t("This invite link is not valid. Ask for a new one."))
    if isinstance(error, AlreadyRegistered):
        return t("You are already registered. Type /help to see what you can do.")
    if isinstance(error, IdempotencyKeyReused | DuplicateKey):
        return t("That was already done.")
    return t("That could not be done.")
