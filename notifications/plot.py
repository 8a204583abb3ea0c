"""A small drawing kit for bar charts on a matplotlib Figure (Agg), laid out in pixels.

matplotlib's Axes bring locators, formatters, tick objects and a layout engine; building one
costs more than drawing our whole chart, and ``tight_layout`` draws everything twice. Our
charts are simple (bars, a line, a few labels), so they are placed here directly: collections
and lines in pixel coordinates on the figure, texts measured once with the canvas's renderer
so margins fit the labels exactly, and a palette PNG at the end.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.transforms import IdentityTransform
from PIL import Image

from domain.money import Money

WIDTH, HEIGHT, DPI = 960, 540, 120  # pixels: sharp on a phone, small to send
PNG_COLOURS = 128  # the charts have a few flat colours; the rest is anti-aliasing

TEXT = "#222222"
MUTED = "#6B6B6B"
GRID = "#E3E3E3"
AXIS = "#9A9A9A"

_PIXELS = IdentityTransform()
# Drawing order: grid under bars under lines under text.
Z_GRID, Z_BARS, Z_AXIS, Z_LINE, Z_TEXT = 1, 2, 3, 4, 5


def nice_step(span: int, *, minimum: int = 1, target: int = 5) -> int:
    """A round tick step (1, 2, 2.5 or 5 x 10^n, kept integral) giving about ``target`` ticks."""
    raw = max(minimum, -(-span // target))
    magnitude = 10 ** (len(str(raw)) - 1)
    for numerator, denominator in ((1, 1), (2, 1), (5, 2), (5, 1)):
        step, remainder = divmod(magnitude * numerator, denominator)
        if not remainder and step >= raw:
            return step
    return magnitude * 10


@dataclass(frozen=True, slots=True)
class MoneyScale:
    """Amounts (integer minor units) along an axis: round ticks, chosen in integers."""

    currency: str
    low: int  # minor units at the start of the axis (0, or a whole step below the minimum)
    high: int  # minor units at the end of the axis
    step: int

    @classmethod
    def fit(cls, currency: str, values: Sequence[int], *, headroom: float = 1.0) -> MoneyScale:
        """Ticks from 0 (or below the smallest negative) past the largest value.

        ``headroom`` leaves room after the largest value for a label (a fraction of it).
        """
        top = max([0, *values])
        bottom = min([0, *values])
        unit = 10 ** Money.zero(currency).exponent  # never finer than one yuan / dollar
        step = nice_step(max(top - bottom, 1), minimum=unit)
        low = bottom // step * step
        wanted = top + (top * (headroom - 1) if headroom > 1 else 0)
        high = max(step, -(-int(wanted) // step) * step)
        return cls(currency, low, high, step)

    def ticks(self) -> list[Money]:
        return [Money(v, self.currency) for v in range(self.low, self.high + 1, self.step)]

    def fraction(self, minor: int) -> float:
        """Where an amount falls along the axis, 0 to 1 (drawing only: a float never holds
        money anywhere else)."""
        return (minor - self.low) / (self.high - self.low)


class Plot:
    """A white figure with a plot area in pixels; ``png()`` draws and encodes it."""

    def __init__(self, families: Sequence[str]) -> None:
        self.families = list(families)
        self.figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, facecolor="white")
        self.canvas = FigureCanvasAgg(self.figure)
        self._renderer = self.canvas.get_renderer()
        self._fonts: dict[tuple[float, str], FontProperties] = {}
        self.texts: list[str] = []  # every text drawn, in order (what a reader can read)
        # The plot area, set by ``area``.
        self.left, self.right, self.bottom, self.top = 80.0, WIDTH - 24.0, 56.0, HEIGHT - 96.0

    # --- text ----------------------------------------------------------------------------

    def font(self, size: float, weight: str = "normal") -> FontProperties:
        key = (size, weight)
        if key not in self._fonts:
            self._fonts[key] = FontProperties(family=self.families, size=size, weight=weight)
        return self._fonts[key]

    def measure(self, text: str, size: float, weight: str = "normal") -> tuple[float, float]:
        """Width and height in pixels of a one-line text."""
        # Through a Text, so the metrics land in matplotlib's cache and drawing the same
        # label later does not lay it out again.
        probe = Text(0, 0, text, fontproperties=self.font(size, weight), parse_math=False)
        probe.set_figure(self.figure)
        box = probe.get_window_extent(self._renderer)
        return box.width, box.height

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = 9.5,
        colour: str = TEXT,
        ha: str = "left",
        va: str = "baseline",
        weight: str = "normal",
        rotation: float = 0,
    ) -> None:
        """Plain text at a pixel position (no mathtext: "$" is just a dollar)."""
        self.texts.append(text)
        self.figure.add_artist(
            Text(
                x,
                y,
                text,
                color=colour,
                fontproperties=self.font(size, weight),
                ha=ha,
                va=va,
                rotation=rotation,
                transform=_PIXELS,
                parse_math=False,
                zorder=Z_TEXT,
            )
        )

    def title(self, title: str, subtitle: str = "") -> None:
        self.text(20, HEIGHT - 18, title, size=14, weight="bold", va="top")
        if subtitle:
            self.text(20, HEIGHT - 50, subtitle, size=10, colour=MUTED, va="top")

    def note(self, message: str) -> None:
        """A message in the middle of an empty plot area."""
        self.text(
            (self.left + self.right) / 2,
            (self.bottom + self.top) / 2,
            message,
            size=13,
            colour=MUTED,
            ha="center",
            va="center",
        )

    # --- plot area ---------------------------------------------------------------------------

    def area(self, *, left: float, right: float, bottom: float, top: float) -> None:
        self.left, self.right, self.bottom, self.top = left, right, bottom, top

    def x_at(self, fraction: float) -> float:
        return self.left + fraction * (self.right - self.left)

    def y_at(self, fraction: float) -> float:
        return self.bottom + fraction * (self.top - self.bottom)

    def slot_x(self, index: int, count: int) -> float:
        """The middle of the ``index``-th of ``count`` equal columns."""
        return self.x_at((index + 0.5) / count)

    def slot_y(self, index: int, count: int) -> float:
        """The middle of the ``index``-th of ``count`` equal rows, counted from the top."""
        return self.y_at(1 - (index + 0.5) / count)

    # --- marks ---------------------------------------------------------------------------

    def rectangles(
        self, boxes: Sequence[tuple[float, float, float, float]], colours: str | Sequence[str]
    ) -> None:
        """Filled rectangles (x0, y0, x1, y1), snapped to whole pixels so edges are crisp."""
        if not boxes:
            return
        verts = [
            [(round(x0), round(y0)), (round(x0), round(y1)), (round(x1), round(y1)),
             (round(x1), round(y0))]
            for x0, y0, x1, y1 in boxes
        ]  # fmt: skip
        self.figure.add_artist(
            PolyCollection(
                verts,
                facecolors=colours,
                edgecolors="none",
                antialiaseds=False,
                transform=_PIXELS,
                zorder=Z_BARS,
            )
        )

    def line(
        self, xs: Sequence[float], ys: Sequence[float], colour: str, width: float = 2.4
    ) -> None:
        self.figure.add_artist(
            Line2D(
                xs,
                ys,
                color=colour,
                linewidth=width,
                solid_joinstyle="round",
                transform=_PIXELS,
                zorder=Z_LINE,
            )
        )

    def segments(
        self,
        segments: Sequence[tuple[tuple[float, float], tuple[float, float]]],
        colour: str,
        width: float = 1.0,
        zorder: int = Z_GRID,
    ) -> None:
        if segments:
            self.figure.add_artist(
                LineCollection(
                    [[(round(x0) + 0.5, round(y0) + 0.5), (round(x1) + 0.5, round(y1) + 0.5)]
                     for (x0, y0), (x1, y1) in segments],
                    colors=colour,
                    linewidths=width,
                    antialiaseds=False,
                    transform=_PIXELS,
                    zorder=zorder,
                )
            )  # fmt: skip

    def legend(self, entries: Sequence[tuple[str, str, str]]) -> None:
        """Entries ``(kind, colour, label)`` (kind "bar" or "line") right-aligned above the
        plot area."""
        x = self.right
        y = self.top + 14
        for kind, colour, label in reversed(entries):
            width, _ = self.measure(label, 9.5)
            self.text(x, y, label, ha="right", va="center", colour=TEXT)
            x -= width + 6
            if kind == "bar":
                self.rectangles([(x - 12, y - 5, x, y + 5)], colour)
            else:
                self.line([x - 16, x], [y, y], colour)
            x -= 28

    # --- axes ----------------------------------------------------------------------------

    def y_axis_width(self, labels: Sequence[str], title: str) -> float:
        """How much room tick labels and a rotated axis title need left of the plot area."""
        widest = max((self.measure(label, 9.5)[0] for label in labels), default=0)
        _, title_height = self.measure(title, 10)
        return 18 + title_height + 12 + widest + 8

    def money_y_axis(self, scale: MoneyScale, labels: Sequence[str], title: str) -> None:
        """Horizontal grid lines at the ticks, labelled on the left, and the axis title."""
        grid, zero = [], []
        for tick, label in zip(scale.ticks(), labels, strict=True):
            y = self.y_at(scale.fraction(tick.minor))
            (zero if tick.minor == 0 else grid).append(((self.left, y), (self.right, y)))
            self.text(self.left - 8, y, label, ha="right", va="center")
        self.segments(grid, GRID)
        self.segments(zero, AXIS, zorder=Z_AXIS)
        self.text(
            18, (self.bottom + self.top) / 2, title, size=10, colour=MUTED, va="center",
            ha="left", rotation=90,
        )  # fmt: skip

    def money_x_axis(self, scale: MoneyScale, labels: Sequence[str], title: str) -> None:
        """Vertical grid lines at the ticks, labelled underneath, and the axis title."""
        grid, zero = [], []
        for tick, label in zip(scale.ticks(), labels, strict=True):
            x = self.x_at(scale.fraction(tick.minor))
            (zero if tick.minor == 0 else grid).append(((x, self.bottom), (x, self.top)))
            self.text(x, self.bottom - 8, label, ha="center", va="top")
        self.segments(grid, GRID)
        self.segments(zero, AXIS, zorder=Z_AXIS)
        self.x_title(title)

    def x_title(self, title: str) -> None:
        """The title under the horizontal axis."""
        self.text(
            (self.left + self.right) / 2, 10, title, size=10, colour=MUTED, ha="center",
            va="bottom",
        )  # fmt: skip

    def baseline(self) -> None:
        """The line the columns stand on."""
        self.segments([((self.left, self.bottom), (self.right, self.bottom))], AXIS, zorder=Z_AXIS)

    # --- output --------------------------------------------------------------------------

    def png(self) -> bytes:
        """Draw, reduce to a palette and encode."""
        self.canvas.draw()
        rgba = Image.frombuffer(
            "RGBA", self.canvas.get_width_height(), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1
        )
        palette = rgba.convert("RGB").quantize(PNG_COLOURS, method=Image.Quantize.FASTOCTREE)
        out = io.BytesIO()
        palette.save(out, format="PNG", compress_level=6)
        return out.getvalue()
