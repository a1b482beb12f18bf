"""Which redirect URIs a client may register, and how a registered one matches the redirect URI
of an authorization request. Shared by dynamic registration (RFC 7591) and client metadata
documents, so every self-described client is held to the same rules.

What a client may register (RFC 8252, OAuth 2.1 section 2.3.1, RFC 9700 section 4.1):

- `https` URIs with a host, no userinfo, no fragment;
- `http` URIs only on a loopback host (127.0.0.1, [::1], localhost), for native apps, whose
  port then does not count at authorization time (RFC 8252 section 7.3);
- private-use schemes for native apps (RFC 8252 section 7.1), preferably in reverse-domain form
  (`com.example.app:/cb`); a one-label scheme such as `cursor://...` is accepted unless it is a
  scheme a browser or the operating system handles itself (`javascript:`, `data:`, `file:`,
  `ftp:`, `mailto:`...), since those never reach an app and some run code in the page;
- nothing relative, nothing with a fragment, nothing with userinfo (`https://good@evil/`),
  whitespace or control characters.

Matching is exact string comparison, except that a registered loopback `http` URI matches the
same URI on any port.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_REDIRECT_URI_LENGTH = 2048
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")
# Schemes that are not an app's: they run code in the page, read local files, or are handled
# by the browser or the operating system itself. None of them can receive an authorization
# code for the client that registered it.
REFUSED_SCHEMES = frozenset(
    {
        "javascript",
        "vbscript",
        "data",
        "blob",
        "file",
        "filesystem",
        "about",
        "view-source",
        "jar",
        "ftp",
        "ws",
        "wss",
        "mailto",
        "tel",
        "sms",
        "urn",
        "chrome",
        "chrome-extension",
        "moz-extension",
        "resource",
        "intent",
    }
)


class RedirectURIError(ValueError):
    """A redirect URI a client may not register; the message says why, for its developer."""


def is_loopback_redirect_uri(uri: str) -> bool:
    """RFC 8252 section 7.3: http on a loopback host, any port, any path; nothing else."""
    parts = _split(uri)
    return parts is not None and _is_loopback(parts)


def check_redirect_uri(uri: str) -> None:
    """Raise RedirectURIError unless `uri` may be registered as a redirect URI."""
    if not uri:
        raise RedirectURIError("A redirect URI is empty.")
    if len(uri) > MAX_REDIRECT_URI_LENGTH:
        raise RedirectURIError(
            f"A redirect URI is longer than {MAX_REDIRECT_URI_LENGTH} characters."
        )
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in uri):
        raise RedirectURIError("A redirect URI contains whitespace or control characters.")
    if "#" in uri:
        raise RedirectURIError("A redirect URI must not contain a fragment (#).")
    parts = _split(uri)
    if parts is None:
        raise RedirectURIError("A redirect URI is not a valid URI (check its host and port).")
    scheme = parts.scheme
    if not scheme or not _SCHEME.match(scheme):
        raise RedirectURIError("A redirect URI must be absolute (start with a scheme).")
    if "@" in parts.netloc:
        raise RedirectURIError("A redirect URI must not contain userinfo (user@host).")
    if scheme == "https":
        if not parts.hostname:
            raise RedirectURIError("An https redirect URI needs a host.")
        return
    if scheme == "http":
        if not _is_loopback(parts):
            raise RedirectURIError(
                "An http redirect URI is allowed only on a loopback host (127.0.0.1, [::1] or "
                "localhost); use https."
            )
        return
    if scheme in REFUSED_SCHEMES or len(scheme) < 2:
        raise RedirectURIError(
            f"The scheme {scheme}: is not allowed for a redirect URI; use https, a loopback "
            "http URI, or a private-use scheme in reverse-domain form (com.example.app:/cb)."
        )


def redirect_uri_matches(registered: str, presented: str) -> bool:
    """Whether a redirect URI presented at /authorize matches one the client registered:
    exactly, or, for a loopback http URI, the same URI on any port (RFC 8252 section 7.3)."""
    if presented == registered:
        return True
    a, b = _split(registered), _split(presented)
    if a is None or b is None or not _is_loopback(a) or not _is_loopback(b):
        return False
    return (a.hostname, a.path, a.query) == (b.hostname, b.path, b.query)


def any_redirect_uri_matches(registered: Iterable[str], presented: str) -> bool:
    return any(redirect_uri_matches(uri, presented) for uri in registered)


def _split(uri: str) -> SplitResult | None:
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    return parts


def _is_loopback(parts: SplitResult) -> bool:
    return (
        parts.scheme == "http"
        and parts.hostname in LOOPBACK_HOSTS
        and not parts.username
        and not parts.password
        and not parts.fragment
    )
