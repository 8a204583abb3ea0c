"""Named refusals of the domain; the chat layer turns each into translated text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


class DomainError(Exception):
    """Base of every business refusal. ``code`` is stable and used for translations."""

    code = "domain_error"


class InvalidInput(DomainError):
    """A value a person typed cannot be used; ``reason`` says why."""

    code = "invalid_input"

    def __init__(self, field: str, reason: str, text: str = "", **limits: object) -> None:
        self.field = field
        self.reason = reason
        self.text = text
        self.limits = limits
        super().__init__(f"{field}: {reason} ({text[:40]!r})")


class NotFound(DomainError):
    code = "not_found"

    def __init__(self, kind: str, ref: object) -> None:
        self.kind = kind
        self.ref = ref
        super().__init__(f"{kind} {ref!r} not found")


class NotAllowed(DomainError):
    code = "not_allowed"

    def __init__(self, action: str, role: str | None = None) -> None:
        self.action = action
        self.role = role
        super().__init__(f"role {role!r} may not {action}")


@dataclass(frozen=True, slots=True)
class Shortage:
    product_id: int
    sku: str
    name: str
    requested_milli: int
    available_milli: int


class InsufficientStock(DomainError):
    code = "insufficient_stock"

    def __init__(self, shortages: Sequence[Shortage]) -> None:
        self.shortages = tuple(shortages)
        names = ", ".join(f"{s.sku} ({s.available_milli}/{s.requested_milli})" for s in shortages)
        super().__init__(f"insufficient stock: {names}")


class InvalidState(DomainError):
    """The object is not in a state where this action applies."""

    code = "invalid_state"

    def __init__(self, kind: str, ref: object, state: str, action: str) -> None:
        self.kind = kind
        self.ref = ref
        self.state = state
        self.action = action
        super().__init__(f"cannot {action} {kind} {ref} in state {state}")


class AlreadyShipped(DomainError):
    code = "already_shipped"

    def __init__(self, reference: str, by_name: str, at: datetime | None) -> None:
        self.reference = reference
        self.by_name = by_name
        self.at = at
        super().__init__(f"{reference} already shipped by {by_name} at {at}")


class NothingToShip(DomainError):
    code = "nothing_to_ship"

    def __init__(self, reference: str) -> None:
        self.reference = reference
        super().__init__(f"nothing left to ship on {reference}")


class AlreadyDecided(DomainError):
    """An approval that someone else already decided."""

    code = "already_decided"

    def __init__(self, reference: str, state: str, by_name: str, at: datetime | None) -> None:
        self.reference = reference
        self.state = state
        self.by_name = by_name
        self.at = at
        super().__init__(f"{reference} already {state} by {by_name}")


class IdempotencyKeyReused(DomainError):
    """The same idempotency key arrived with different content."""

    code = "idempotency_key_reused"

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"idempotency key {key!r} was used for something else")


class InviteInvalid(DomainError):
    code = "invite_invalid"

    def __init__(self, reason: str) -> None:
        self.reason = reason  # unknown | expired | used
        super().__init__(f"invite {reason}")


class AlreadyRegistered(DomainError):
    code = "already_registered"

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        super().__init__(f"telegram user already registered as user {user_id}")


class DuplicateKey(DomainError):
    """A unique business key (SKU, warehouse code…) is already taken."""

    code = "duplicate_key"

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key!r} already exists")


class TransientConflict(Exception):
    """The database refused for concurrency reasons; the whole unit may be retried.

    Raised by storage (serialization failure, deadlock, database locked, a lost race on a
    unique key) and never shown to a user: the runner retries the unit of work.
    """


class AlreadyReminded(DomainError):
    """The customer was already reminded of their overdue invoices today."""

    code = "already_reminded"

    def __init__(self, customer: str, by_name: str, at: datetime) -> None:
        self.customer = customer
        self.by_name = by_name
        self.at = at
        super().__init__(f"{customer} was already reminded today by {by_name}")


class NothingOverdue(DomainError):
    """No invoice of the customer is past due (any more)."""

    code = "nothing_overdue"

    def __init__(self, customer: str) -> None:
        self.customer = customer
        super().__init__(f"{customer} has nothing overdue")
