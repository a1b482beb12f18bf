"""The runnable code blocks of the documentation pages, as the snippet tests find them.

A block runs as a test when the line before its opening fence is the HTML comment
``<!-- test: run -->`` (invisible on the site), optionally with ``expect="text"``: the block's
output must then contain that text. Only ``python`` and ``sh`` blocks are runnable. The pages are
written for the dev stack (the bridge on 127.0.0.1:8000, the emulator on :8001); `for_stack`
points a block at the test's own ports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
MARKER = re.compile(r"^<!--\s*test:\s*run(?:\s+expect=\"(?P<expect>[^\"]*)\")?\s*-->\s*$")
FENCE = re.compile(r"^```(?P<lang>[A-Za-z0-9_-]*)\s*$")
RUNNABLE = {"python": "python", "py": "python", "sh": "sh", "shell": "sh", "bash": "sh"}
DEV_BRIDGE = "127.0.0.1:8000"
DEV_EMULATOR_PORT = "8001"


@dataclass(frozen=True)
class Snippet:
    page: str  # relative to docs/
    line: int  # of the opening fence, 1-based
    lang: str  # "python" or "sh"
    code: str
    expect: str | None

    def __str__(self) -> str:
        return f"{self.page}:{self.line} ({self.lang})"


def snippets(page: Path) -> list[Snippet]:
    """The marked blocks of one page, in order."""
    return parse(page.read_text(encoding="utf-8"), page.relative_to(DOCS).as_posix())


def parse(text: str, name: str) -> list[Snippet]:
    """The marked blocks of a page's text. A marker not followed by a runnable fenced block is
    an error: a typo must not silently leave an example untested."""
    lines = text.splitlines()
    found: list[Snippet] = []
    index = 0
    while index < len(lines):
        marker = MARKER.match(lines[index].strip())
        if not marker:
            index += 1
            continue
        fence = FENCE.match(lines[index + 1]) if index + 1 < len(lines) else None
        lang = RUNNABLE.get(fence.group("lang")) if fence else None
        if lang is None:
            raise ValueError(f"{name}:{index + 1}: a test marker must precede a python or sh block")
        end = index + 2
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        found.append(Snippet(name, index + 2, lang, "\n".join(lines[index + 2 : end]) + "\n",
                             marker.group("expect")))
        index = end + 1
    return found


def pages_with_snippets() -> list[Path]:
    return sorted(page for page in DOCS.rglob("*.md") if snippets(page))


def for_stack(code: str, bridge_port: int, emulator_port: int) -> str:
    """The block with the dev stack's addresses replaced by the test stack's."""
    code = code.replace(DEV_BRIDGE, f"127.0.0.1:{bridge_port}")
    code = code.replace(f"localhost:{DEV_BRIDGE.split(':')[1]}", f"localhost:{bridge_port}")
    return re.sub(rf"(127\.0\.0\.1|localhost):{DEV_EMULATOR_PORT}\b",
                  rf"\g<1>:{emulator_port}", code)
