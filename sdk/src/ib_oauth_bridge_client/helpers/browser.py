"""Show the authorization URL: in the system browser, or printed when there is none."""

from __future__ import annotations

import os
import sys
import webbrowser
from collections.abc import Callable


def print_url(url: str) -> None:
    """The default for headless use: print the URL to stderr for the user to open."""
    print(
        f"Open this link in a browser to sign in to IntelligenceBank:\n\n    {url}\n",
        file=sys.stderr,
        flush=True,
    )


def no_display() -> bool:
    """True where `webbrowser` would start nothing useful: Linux without X11/Wayland, or an SSH
    session without a forwarded display (unless $BROWSER names a browser explicitly)."""
    if os.environ.get("BROWSER"):
        return False
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return False
    over_ssh = bool(os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY"))
    return sys.platform.startswith("linux") or over_ssh


def show(
    url: str,
    open_browser: Callable[[str], bool] | None,
    print_url: Callable[[str], None],
) -> bool:
    """Open `url` with `open_browser` (default `webbrowser.open`); print it when that fails or no
    display is available. Returns whether a browser was opened."""
    opened = False
    if open_browser is not None:
        opened = bool(open_browser(url))
    elif not no_display():
        try:
            opened = webbrowser.open(url)
        except webbrowser.Error:
            opened = False
    if not opened:
        print_url(url)
    return opened
