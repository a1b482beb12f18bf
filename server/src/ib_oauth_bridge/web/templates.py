"""HTML rendering for the login page, the error page and the dev playground.

Every page goes through :func:`render_page`, which adds a strict Content-Security-Policy and the
other browser security headers. The pages carry no inline script or style: configuration reaches
the JavaScript through ``data-*`` attributes on a root element.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from ..strings import TEMPLATE_TEXT

__all__ = [
    "STATIC_DIR",
    "TEMPLATES_DIR",
    "csp_source_for_redirect",
    "render_page",
    "security_headers",
    "templates",
]

_HERE = Path(__file__).resolve().parent

#: Folder holding ``style.css``, ``login.js`` and ``playground.js`` (served at ``/static/``).
STATIC_DIR: Path = _HERE / "static"
#: Folder holding the Jinja2 templates.
TEMPLATES_DIR: Path = _HERE / "templates"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)

#: The shared template renderer (autoescape on for every template).


def _fill(text: str, **parts: object) -> Markup:
    """A text of `strings` with its placeholders filled: the text is escaped, and so is every
    part except the page's own markup (`{% set %}` blocks), which goes in as it is."""
    return escape(text).format(**parts)


_env.globals["text"] = TEMPLATE_TEXT
_env.filters["fill"] = _fill

templates = Jinja2Templates(env=_env)

# One CSP source expression: a scheme ("com.example.app:") or a scheme + host (+ port) origin.
# Anything else (spaces, quotes, semicolons, commas, paths) could change the policy's meaning.
_CSP_SOURCE = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*:"  # scheme-source
    r"|[a-z][a-z0-9+.-]*://(?:\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::[0-9]{1,5})?)$",  # host-source
    re.IGNORECASE,
)


# Schemes that must never be allowed as a form target, whatever a client registered.
_UNSAFE_SCHEMES = frozenset(
    {"javascript", "data", "blob", "filesystem", "vbscript", "file", "about"}
)


def csp_source_for_redirect(redirect_uri: str) -> str | None:
    """The CSP source expression that lets a form's redirect reach ``redirect_uri``.

    The login page's Continue and Cancel forms answer with a 303 to the client's redirect URI, and
    browsers check ``form-action`` against every redirect of a form submission. ``http``/``https``
    URIs give their origin (``https://app.example.com:8443``); other schemes (native apps,
    ``com.example.app:/cb``) give a scheme source (``com.example.app:``). Returns ``None`` when
    no safe expression can be made.
    """
    try:
        parts = urlsplit(redirect_uri)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not scheme or scheme in _UNSAFE_SCHEMES:
        return None
    if scheme in {"http", "https"}:
        host = parts.hostname
        if not host:
            return None
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        source = f"{scheme}://{host}" + (f":{port}" if port is not None else "")
    else:
        source = f"{scheme}:"
    return source if _CSP_SOURCE.match(source) else None


def security_headers(form_action: str | None = None) -> dict[str, str]:
    """The security headers every HTML page carries.

    ``form_action`` is one extra CSP source allowed in ``form-action`` (for the login page: the
    client's redirect origin, see :func:`csp_source_for_redirect`). A value that is not a single
    plain source expression is ignored rather than written into the policy.
    """
    sources = ["'self'"]
    if form_action and _CSP_SOURCE.match(form_action):
        sources.append(form_action)
    csp = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "form-action " + " ".join(sources),
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )
    return {
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        # same-origin, not no-referrer: the login page's own form posts must carry a real Origin
        # (no-referrer makes browsers send "Origin: null"), and nothing leaves for other sites.
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


def render_page(
    request: Request,
    template: str,
    context: Mapping[str, object],
    status_code: int = 200,
    form_action: str | None = None,
) -> HTMLResponse:
    """Render ``template`` with ``context`` into an HTML response with the security headers."""
    return templates.TemplateResponse(
        request,
        template,
        dict(context),
        status_code=status_code,
        headers=security_headers(form_action),
    )
