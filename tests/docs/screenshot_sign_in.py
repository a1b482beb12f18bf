"""Take the sign-in page screenshot on the docs' Home page: docs/assets/screenshots/sign-in.png.

    python tests/docs/screenshot_sign_in.py

Starts the IB emulator and a dev-mode bridge as real processes (tests/servers.py), opens the
sign-in page of an authorization request in Debian's Chromium through Playwright (launched as
tests/browser/conftest.py launches it; IB_BRIDGE_TEST_CHROMIUM names another binary), and saves a
PNG of the page. Run it again whenever the page changes, and commit the PNG.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from playwright import sync_api  # noqa: E402

from flow import authorize_url, pkce_pair  # noqa: E402
from servers import Bridge, bridge_env, free_port, start_emulator  # noqa: E402

ROOT = TESTS.parent
OUT = ROOT / "docs" / "assets" / "screenshots" / "sign-in.png"
CHROMIUM = os.environ.get("IB_BRIDGE_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def main() -> int:
    emulator = start_emulator()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            bridge = Bridge(port, Path(tmp), bridge_env(port, emulator, Path(tmp)))
            bridge.start()
            try:
                _, challenge = pkce_pair()
                url = authorize_url(bridge.url, challenge=challenge, state="docs-screenshot",
                                    scope="ib.read profile email")
                with sync_api.sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                    page = browser.new_page(viewport={"width": 900, "height": 760},
                                            locale="en-GB")
                    page.goto(url)
                    page.wait_for_load_state("networkidle")
                    OUT.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(OUT), full_page=True)
                    browser.close()
            finally:
                bridge.stop()
    finally:
        emulator.stop()
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
