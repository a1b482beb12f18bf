"""The built documentation site: every page of the nav is there, the generated pages say what the
code says, and the site reads offline: no script, style, font, image or frame from another host,
in the HTML or the CSS, nor fetched by a real browser reading it.

`nox -s docs` builds site/ with `mkdocs build --strict` and passes it as DOCS_SITE_DIR; without
it these tests build the site themselves into a temporary folder (and skip where MkDocs is not
installed, as in `nox -s tests`).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from ib_oauth_bridge.settings_docs import rows

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("IB_BRIDGE_TEST_CHROMIUM", "/usr/bin/chromium")
# Attributes that make a browser load something (not <a href>, which only links).
LOADING = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
}
EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
CSS_EXTERNAL = re.compile(r"(?:@import\s+(?:url\()?|url\()\s*['\"]?\s*(?:https?:)?//", re.I)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("DOCS_SITE_DIR")
    if given:
        path = Path(given).resolve()
        assert (path / "index.html").exists(), f"DOCS_SITE_DIR={given} holds no built site"
        return path
    mkdocs = shutil.which("mkdocs") or str(Path(sys.executable).with_name("mkdocs"))
    if not Path(mkdocs).exists():
        message = "MkDocs is not installed here (nox -s docs installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)  # as for Chromium: CI runs nox -s docs, a skip would hide it
        pytest.skip(message)
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def nav_pages() -> list[str]:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *_: None)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)

    def walk(node: object) -> Iterator[str]:
        if isinstance(node, str):
            yield node
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)
        elif isinstance(node, dict):
            for value in node.values():
                yield from walk(value)

    return list(walk(config["nav"]))


def built_page(site: Path, page: str) -> Path:
    stem = page.removesuffix(".md")
    return site / ("index.html" if stem == "index" else f"{stem}/index.html")


class Loads(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in LOADING.get(tag, ()):
                self.urls.extend(part.strip().split(" ")[0] for part in value.split(","))
            if value and name == "style" and CSS_EXTERNAL.search(value):
                self.urls.append(value)


def external_loads(site: Path) -> list[str]:
    found = []
    for html in site.rglob("*.html"):
        parser = Loads()
        parser.feed(html.read_text(encoding="utf-8", errors="replace"))
        found += [f"{html.relative_to(site)}: {url}" for url in parser.urls if EXTERNAL.match(url)]
    for css in site.rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        found += [f"{css.relative_to(site)}: {m.group(0)}" for m in CSS_EXTERNAL.finditer(text)]
    return found


def test_every_nav_page_is_built(site: Path) -> None:
    pages = nav_pages()
    assert "index.md" in pages
    assert "quickstart.md" in pages
    missing = [page for page in pages if not built_page(site, page).exists()]
    assert not missing, missing


def test_nothing_is_loaded_from_another_host(site: Path) -> None:
    assert not external_loads(site)
    # Material's web fonts are off (theme.font: false): no Google Fonts link on any page.
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis" not in index
    assert "fonts.gstatic" not in index


def test_the_offline_check_sees_a_cdn_reference(tmp_path: Path) -> None:
    """The check above is only worth something if it notices what it looks for."""
    (tmp_path / "index.html").write_text(
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">'
        '<script src="//cdn.example/mermaid/mermaid.min.js"></script>'
        '<a href="https://example.com/">a link is fine</a><script src="assets/local.js"></script>'
    )
    (tmp_path / "x.css").write_text("@import url('https://cdn.example/f.css'); a{color:red}")
    assert len(external_loads(tmp_path)) == 3


def test_the_generated_reference_pages_follow_the_code(site: Path) -> None:
    settings = built_page(site, "reference/settings.md").read_text(encoding="utf-8")
    for row in rows():
        assert (row.env or row.field) in settings, row.field
    cli = built_page(site, "reference/cli.md").read_text(encoding="utf-8")
    for command in ("dev", "serve", "emulator", "keys"):
        assert f"usage: ib-oauth-bridge {command}" in cli
    assert (site / "openapi.yaml").read_text(encoding="utf-8") == (
        ROOT / "openapi.yaml"
    ).read_text(encoding="utf-8")
    api = built_page(site, "reference/http-api.md").read_text(encoding="utf-8")
    assert "<iframe" in api, "the Swagger UI tag was not rendered"
    sdk = built_page(site, "reference/sdk.md").read_text(encoding="utf-8")
    assert "TokenHolder" in sdk
    assert "iter_resources" in sdk


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_browser_reading_the_site_fetches_nothing_from_elsewhere(site: Path) -> None:
    """Chromium reads Home (a Mermaid diagram) and the HTTP API page (Swagger UI in a frame)
    from a local server: every request stays on that server, and both render."""
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright import sync_api

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    requested: list[str] = []
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            page.goto(f"{origin}/")
            page.wait_for_load_state("networkidle")
            # Material draws the diagram into a closed shadow root of the `.mermaid` element,
            # with the vendored `mermaid` (the page would otherwise fetch it from a CDN).
            page.wait_for_function(
                "() => typeof mermaid === 'object' && [...document.querySelectorAll('.mermaid')]"
                ".some(el => el.getBoundingClientRect().height > 100)",
                timeout=15_000,
            )
            page.goto(f"{origin}/reference/http-api/")
            page.wait_for_load_state("networkidle")
            frame = page.frame_locator("iframe").first
            frame.locator(".swagger-ui .opblock").first.wait_for(timeout=15_000)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    elsewhere = [url for url in requested if urlsplit(url).netloc != urlsplit(origin).netloc
                 and not url.startswith(("data:", "blob:", "about:"))]
    assert requested
    assert not elsewhere, elsewhere
