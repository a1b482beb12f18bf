"""The loopback redirect listener of a native app (RFC 8252 7.3): a one-shot HTTP server on
127.0.0.1 and a free port, waiting in a thread for the browser to come back to ``/callback``."""

from __future__ import annotations

import html
import http.server
import threading
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

CALLBACK_PATH = "/callback"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}
</style></head><body><h1>{title}</h1><p>{message}</p></body></html>
"""


class _Server(http.server.ThreadingHTTPServer):
    # A thread per connection: browsers open speculative (pre)connections that send nothing,
    # which would block a one-at-a-time server until the real redirect timed out.
    daemon_threads = True
    listener: LoopbackListener


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    server_version = "ib-oauth-bridge-client"
    sys_version = ""
    timeout = 10  # an idle connection is dropped after this many seconds

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            self._answer(404, "Not found", "This address only receives the sign-in redirect.")
            return
        params: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            params.setdefault(key, value)  # RFC 6749 3.1: parameters are not repeated
        self.server.listener._deliver(params)
        if "error" in params:
            detail = params.get("error_description") or params["error"]
            self._answer(
                200,
                "Sign-in not completed",
                f"{html.escape(detail)}. You can close this window and return to the application.",
            )
        else:
            self._answer(
                200, "Signed in", "You can close this window and return to the application."
            )

    def _answer(self, status: int, title: str, message: str) -> None:
        body = _PAGE.format(title=html.escape(title), message=message).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default stderr access log (the query holds the authorization code)."""


class LoopbackListener:
    """Listen on ``http://127.0.0.1:<free port>/callback`` until one redirect arrives.

    Use as a context manager: the server thread starts on enter and stops on exit. The first
    request to ``/callback`` is the answer; any other path gets a 404.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._received = threading.Event()
        self._deliver_lock = threading.Lock()
        self._params: dict[str, str] | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def redirect_uri(self) -> str:
        """The redirect URI to register in the authorization request."""
        if self._server is None:
            raise RuntimeError("the listener is not running")
        port = self._server.server_address[1]
        return f"http://{self._host}:{port}{CALLBACK_PATH}"

    def __enter__(self) -> LoopbackListener:
        self._server = _Server((self._host, 0), _Handler)
        self._server.listener = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="oauth-loopback-listener",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _deliver(self, params: dict[str, str]) -> None:
        with self._deliver_lock:  # the first redirect wins
            if not self._received.is_set():
                self._params = params
                self._received.set()

    def wait(self, timeout: float) -> dict[str, str] | None:
        """The redirect's query parameters, or None when none arrived within `timeout` s."""
        if not self._received.wait(timeout):
            return None
        return self._params
