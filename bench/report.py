"""The figures as an aligned markdown table, each proxied figure next to its direct baseline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    measure: str
    direct: float | None
    proxied: float | None
    digits: int = 2
    ratio: bool = True

    def cells(self) -> list[str]:
        def number(value: float | None) -> str:
            return "n/a" if value is None else f"{value:,.{self.digits}f}"

        if self.ratio and self.direct and self.proxied is not None:
            ratio = f"{self.proxied / self.direct:.2f}x"
        else:
            ratio = ""
        return [self.measure, number(self.direct), number(self.proxied), ratio]


def table(rows: Sequence[Row]) -> str:
    header = ["measure", "direct", "proxied", "proxied/direct"]
    body = [row.cells() for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first, *numbers = cells
        padded = [first.ljust(widths[0])]
        padded += [cell.rjust(width) for cell, width in zip(numbers, widths[1:], strict=True)]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths[:1]) + "|"
    rule += "|".join("-" * (w + 1) + ":" for w in widths[1:]) + "|"
    return "\n".join([line(header), rule, *(line(cells) for cells in body)])
