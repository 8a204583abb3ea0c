"""Exact quantities, stored as integer thousandths of the product's unit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

SCALE = 1000  # thousandths: up to 3 decimals (kg, m, l)
MAX_DECIMALS = 3


@dataclass(frozen=True, slots=True, order=True)
class Quantity:
    """A quantity in thousandths of a unit (``Quantity(1500)`` is 1.5)."""

    milli: int

    def __post_init__(self) -> None:
        if not isinstance(self.milli, int) or isinstance(self.milli, bool):
            raise TypeError("Quantity.milli must be an int")

    @classmethod
    def of(cls, value: int | str | Decimal) -> Quantity:
        """Exact quantity from a whole number or decimal text; raises ValueError if inexact."""
        if isinstance(value, (bool, float)):
            raise TypeError("quantities are never built from float")
        scaled = Decimal(value) * SCALE
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {MAX_DECIMALS} decimals")
        return cls(int(scaled))

    @classmethod
    def zero(cls) -> Quantity:
        return cls(0)

    def to_decimal(self) -> Decimal:
        return (Decimal(self.milli) / SCALE).normalize()

    @property
    def decimals(self) -> int:
        """How many decimals are needed to write this quantity."""
        exponent = int(self.to_decimal().as_tuple().exponent)
        return max(0, -exponent)

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity(self.milli + other.milli)

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(self.milli - other.milli)

    def __neg__(self) -> Quantity:
        return Quantity(-self.milli)

    def __bool__(self) -> bool:
        return self.milli != 0

    def __str__(self) -> str:
        return f"{self.to_decimal():f}"
