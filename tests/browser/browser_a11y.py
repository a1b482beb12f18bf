"""axe-core in the browser tests: the WCAG 2 A/AA violations a page has.

axe-core comes from tests/interop/node's lockfile (`npm ci` there, as `.ci/run` does). Its script
is evaluated through the DevTools protocol, which the page's CSP (script-src 'self') does not
govern; a <script> tag would be refused by it, as any injected script should be.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "interop" / "node" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it stands (missing axe-core: a failure under CI,
    a skip elsewhere)."""
    if not AXE.exists():
        message = f"no axe-core at {AXE} (npm ci in tests/interop/node)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
          const result = await axe.run(document, { runOnly: { type: "tag", values: tags } });
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + ": " + n.failureSummary),
          }));
        }""",
        AXE_TAGS,
    )
    return result
