"""Money as integer minor units of an ISO 4217 currency; no float ever touches it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

# ISO 4217 minor-unit exponents that differ from the usual 2.
_ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
_THREE_DECIMAL = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])
_FOUR_DECIMAL = frozenset(["CLF", "UYW"])


def currency_exponent(currency: str) -> int:
    """Number of minor-unit digits of an ISO 4217 currency code."""
    code = currency.upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValueError(f"not an ISO 4217 currency code: {currency!r}")
    if code in _ZERO_DECIMAL:
        return 0
    if code in _THREE_DECIMAL:
        return 3
    if code in _FOUR_DECIMAL:
        return 4
    return 2


def round_half_even(numerator: int, denominator: int) -> int:
    """Integer nearest to numerator/denominator, ties to even (banker's rounding)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    return round(Fraction(numerator, denominator))


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in integer minor units (cents, fen) of one currency."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Money.minor must be an int")
        currency_exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, value: Decimal, currency: str) -> Money:
        """Exact conversion; raises ValueError when value has more digits than the currency."""
        exponent = currency_exponent(currency)
        scaled = value.scaleb(exponent)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {exponent} decimals")
        return cls(int(scaled), currency)

    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-self.exponent)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def __bool__(self) -> bool:
        return self.minor != 0

    def plain(self) -> str:
        """Locale-neutral text like ``1,200.50``; chat layers format per locale."""
        value = self.to_decimal().quantize(Decimal(1).scaleb(-self.exponent), ROUND_HALF_EVEN)
        return f"{value:,}"

    def __str__(self) -> str:
        return f"{self.plain()} {self.currency}"
