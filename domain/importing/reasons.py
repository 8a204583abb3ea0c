"""English reasons for domain refusals, as a report lists them (``price: not a number ('abc')``)."""

from __future__ import annotations

from domain.errors import DomainError, InvalidInput, NotAllowed
from domain.importing.values import MIN_BIRTH_YEAR

_REASONS = {
    "empty": "missing (required)",
    "not_a_number": "not a number",
    "negative": "must not be negative",
    "zero": "must be more than 0",
    "bad_sku": "not a valid SKU (letters, digits and . _ / -, up to 40 characters)",
    "bad_code": "not a valid code",
    "not_a_phone": "not a phone number",
    "wrong_currency": "wrong currency",
    "unknown_warehouse": "no warehouse with this code",
    "not_a_salesperson": "not a salesperson or owner",
    "out_of_range": "out of range",
    "duplicate": "appears twice",
    "year_missing": "needs the year: write YYYY-MM-DD",
    "not_a_date": "not a date (write YYYY-MM-DD)",
    "no_such_date": "no such date",
    "in_future": "is in the future",
    "too_early": f"is before {MIN_BIRTH_YEAR}",
    "not_whole_days": "must be a whole number of days",
}


def describe_refusal(exc: DomainError) -> str:
    """English text for a domain refusal, like ``price: not a number ('abc')``."""
    if not isinstance(exc, InvalidInput):
        if isinstance(exc, NotAllowed):
            return f"not allowed ({exc.action.replace('_', ' ')})"
        return str(exc)
    reason = _REASONS.get(exc.reason, exc.reason.replace("_", " "))
    limits = exc.limits
    if exc.reason == "too_long" and "maximum" in limits:
        reason = f"too long (at most {limits['maximum']} characters)"
    elif exc.reason == "too_large" and "maximum" in limits:
        reason = f"too large (at most {limits['maximum']})"
    elif exc.reason == "too_many_decimals":
        reason = f"too many decimals (at most {limits.get('decimals', 0)})"
    elif exc.reason == "too_many" and "maximum" in limits:
        reason = f"too many (at most {limits['maximum']})"
    elif exc.reason == "out_of_range" and "maximum" in limits:
        reason = f"out of range (0 to {limits['maximum']})"
    shown = exc.text[:40]
    if shown and exc.reason != "empty":
        reason += f" ({shown!r})"
    return f"{exc.field}: {reason}"
