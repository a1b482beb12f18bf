"""Every runnable example of the documentation runs here against a real dev stack (the IB emulator
and a dev-mode bridge as processes, from tests/conftest.py), so a broken example fails CI.

Each page's marked blocks (see doc_snippets.py) run in order in one fresh directory: shell
blocks with bash (`set -euo pipefail`), Python blocks in one namespace per page. Where a block
signs in, the SDK's `login()` opens "the browser": here a scripted user who does on the bridge's
page and the emulator's what a person would (tests/flow.py), then follows the redirect to the
SDK's loopback listener. Shell blocks that need a token before any sign-in find it in `$TOKEN`.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import threading
import webbrowser
from pathlib import Path

import httpx
import pytest
from doc_snippets import DOCS, Snippet, for_stack, pages_with_snippets, parse, snippets

from flow import browser_sign_in
from servers import Bridge, Emulator
from signed_in import sign_in

PAGES = pages_with_snippets()


class ScriptedBrowser:
    """Stands in for `webbrowser.open`: signs in as demo/demo in a thread, as the user would
    while `login()` waits on its loopback listener, and keeps any failure for the test."""

    def __init__(self, platform_url: str) -> None:
        self.platform_url = platform_url
        self.failures: list[BaseException] = []
        self.opened: list[str] = []
        self.threads: list[threading.Thread] = []

    def open(self, url: str, *args: object, **kwargs: object) -> bool:
        self.opened.append(url)
        thread = threading.Thread(target=self._sign_in, args=(url,), daemon=True)
        thread.start()
        self.threads.append(thread)
        return True

    def _sign_in(self, url: str) -> None:
        try:
            with httpx.Client(timeout=10) as browser:
                redirect_to = browser_sign_in(browser, url, self.platform_url)
            httpx.get(redirect_to, timeout=10)  # the SDK's loopback listener
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.failures.append(exc)


def run_shell(snippet: Snippet, code: str, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + code],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, (
        f"{snippet} exited {result.returncode}\n--- stdout\n{result.stdout}"
        f"\n--- stderr\n{result.stderr}"
    )
    return result.stdout


def run_python(snippet: Snippet, code: str, namespace: dict[str, object]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            exec(compile(code, str(snippet), "exec"), namespace)
        except BaseException as exc:
            raise AssertionError(f"{snippet} raised {exc!r}\n--- stdout\n{out.getvalue()}") from exc
    return out.getvalue()


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(DOCS).as_posix() for p in PAGES])
def test_page_examples_run_against_the_dev_stack(
    page: Path, bridge: Bridge, emulator: Emulator, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ib_oauth_bridge_client.helpers import browser

    scripted = ScriptedBrowser(emulator.platform_url)
    monkeypatch.setattr(webbrowser, "open", scripted.open)
    monkeypatch.setattr(browser, "no_display", lambda: False)
    monkeypatch.chdir(tmp_path)
    env = {key: value for key, value in os.environ.items() if not key.startswith("IB_BRIDGE_")}
    env["TOKEN"] = sign_in(bridge, emulator).access_token
    namespace: dict[str, object] = {"__name__": "__doc_snippet__"}
    for snippet in snippets(page):
        code = for_stack(snippet.code, bridge.port, emulator.port)
        if snippet.lang == "sh":
            output = run_shell(snippet, code, tmp_path, env)
        else:
            output = run_python(snippet, code, namespace)
        for thread in scripted.threads:
            thread.join(timeout=30)
        assert not scripted.failures, f"{snippet}: the scripted sign-in failed: {scripted.failures}"
        if snippet.expect is not None:
            assert snippet.expect in output, f"{snippet}: no {snippet.expect!r} in:\n{output}"


def test_the_quickstart_reaches_a_proxied_resource_list() -> None:
    """The issue's bar for the Quickstart: following it alone ends with a resource list read
    through the proxy. Its examples run above; this pins that they include that call."""
    blocks = snippets(DOCS / "quickstart.md")
    assert any(b.lang == "python" and "login(" in b.code for b in blocks)
    proxied = [b for b in blocks if b.lang == "sh" and "/proxy/api/3.0.0/" in b.code]
    assert proxied, "the Quickstart's curl call through the proxy is not a tested block"
    assert all(b.expect == "rows" for b in proxied), "it must check that rows came back"


def test_a_marker_without_a_runnable_block_is_an_error() -> None:
    with pytest.raises(ValueError, match="must precede a python or sh block"):
        parse("<!-- test: run -->\n```json\n{}\n```\n", "page.md")


def test_markers_find_their_blocks_and_expectations() -> None:
    text = "x\n<!-- test: run expect=\"rows\" -->\n```sh\necho rows\n```\n```python\nno\n```\n"
    (only,) = parse(text, "page.md")
    assert (only.lang, only.code, only.expect, only.line) == ("sh", "echo rows\n", "rows", 3)
