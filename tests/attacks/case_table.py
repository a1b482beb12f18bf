"""Print (or, with --write, put into README.md) the table of attack families and their case
counts, counted by pytest's own collection: `python tests/attacks/case_table.py --write`."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BEGIN, END = "<!-- cases:begin -->", "<!-- cases:end -->"


def counts() -> Counter[str]:
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         str(HERE.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    found: Counter[str] = Counter()
    for line in collected.splitlines():
        match = re.match(r"tests/attacks/(test_attack_\w+)\.py::", line)
        if match:
            found[match.group(1)] += 1
    return found


def table(found: Counter[str]) -> str:
    rows = ["| family (module) | cases |", "|---|---:|"]
    rows += [f"| `{name}` | {found[name]} |" for name in sorted(found)]
    rows.append(f"| **total** | **{sum(found.values())}** |")
    return "\n".join(rows)


def main() -> None:
    text = table(counts())
    if "--write" not in sys.argv:
        print(text)
        return
    readme = HERE / "README.md"
    current = readme.read_text()
    start, end = current.index(BEGIN) + len(BEGIN), current.index(END)
    readme.write_text(current[:start] + "\n" + text + "\n" + current[end:])


if __name__ == "__main__":
    main()
