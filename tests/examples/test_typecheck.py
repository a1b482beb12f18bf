"""Every example under examples/ type-checks with mypy --strict (one run per example folder, so two
examples may both have an `app.py`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(
    folder.name
    for folder in (ROOT / "examples").iterdir()
    if folder.is_dir() and any(folder.rglob("*.py"))
)


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_passes_mypy_strict(example: str) -> None:
    env = dict(os.environ)
    # The SDK from the source tree, whether or not it is installed; the server is installed.
    env["MYPYPATH"] = str(ROOT / "sdk" / "src")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", f"examples/{example}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=280,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"mypy --strict examples/{example}:\n{output}"
