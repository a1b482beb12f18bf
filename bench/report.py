"""The figures as aligned markdown tables: the first column names the measure, the others hold
numbers (right-aligned); `ratio` formats proxied/direct."""

from __future__ import annotations

from collections.abc import Sequence


def number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def ratio(proxied: float | None, direct: float | None) -> str:
    """proxied/direct as `1.23x`, or empty where either is missing."""
    if proxied is None or not direct:
        return ""
    return f"{proxied / direct:.2f}x"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first, *numbers = cells
        padded = [first.ljust(widths[0])]
        padded += [cell.rjust(width) for cell, width in zip(numbers, widths[1:], strict=True)]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths[:1]) + "|"
    rule += "|".join("-" * (w + 1) + ":" for w in widths[1:]) + "|"
    return "\n".join([line(header), rule, *(line(cells) for cells in rows)])
