"""The one error type of the bridge: an OAuth or HTTP problem that ends a request.

Raised anywhere below the handlers (the login flow, the token endpoint's guards, the proxy's
target check) and rendered in one place (`handlers.errors`): as RFC 6749/6750 JSON, as the HTML
error page for a browser, or, for an authorization request whose client and redirect URI are
known to be good, as a redirect back to the client with `error`, `state` and `iss`.
"""

from __future__ import annotations

from collections.abc import Mapping


class BridgeError(Exception):
    """`error` is the RFC 6749 error code (or the bridge's own, documented in openapi.yaml);
    `description` is shown to people and clients as it is, so it never carries a secret."""

    def __init__(
        self,
        status_code: int,
        error: str,
        description: str,
        *,
        title: str = "This request can't go on",
        redirect_to: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.status_code = status_code
        self.error = error
        self.description = description
        self.title = title  # the heading when shown as a page
        self.redirect_to = redirect_to  # RFC 6749 4.1.2.1: the error goes back to the client
        self.headers = dict(headers or {})
        # A same-origin "/authorize?..." link the error page offers as "Start again", or None.
        self.restart_url: str | None = None

    def as_json(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}

    def __repr__(self) -> str:
        return f"BridgeError({self.status_code}, {self.error!r}, {self.description!r})"
